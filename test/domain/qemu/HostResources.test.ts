import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { HostResources, nodeNameProblem } from "../../../src/domain/qemu/HostResources.js"
import { renderArgs } from "../../../src/domain/qemu/Options.js"

describe("host resources (qemu.md §5)", () => {
  it("QEMU node name rules: a letter first, [A-Za-z0-9_.-], at most 31 characters", () => {
    assert.isUndefined(nodeNameProblem("test-vm-os-file"))
    assert.isUndefined(nodeNameProblem("a".repeat(31)))
    assert.strictEqual(nodeNameProblem("a".repeat(32)), "is 32 characters long; QEMU allows at most 31 (shorten the machine or volume name)")
    assert.strictEqual(nodeNameProblem("1vm-os"), "must start with a letter")
    assert.strictEqual(nodeNameProblem("vm os"), "may only contain letters, digits, '-', '.' and '_'")
  })

  it("node names are unique across file and raw nodes; an invalid name is refused before it is taken", () => {
    const r = new HostResources()
    assert.isTrue(Either.isRight(r.addFileNode("a-file", "/x", false)))
    const dup = r.addRawNode("a-file", "a-file", false)
    assert.isTrue(Either.isLeft(dup) && dup.left._tag === "BlockNodeConflictError")
    if (Either.isLeft(dup)) {
      assert.strictEqual(dup.left.message, `failed to attach the "a-file" raw format node to the node graph: a node with the given node name already exists`)
    }
    const bad = r.addFileNode("9x", "/y", false)
    assert.isTrue(Either.isLeft(bad) && bad.left._tag === "BlockNodeNameInvalidError")
    assert.isTrue(Either.isRight(r.addFileNode("x9", "/y", true)))
  })

  it("the one I/O thread is created on first use; options come out in qemu.md §3 order", () => {
    const r = new HostResources()
    r.addNetdev([{ name: "tap", value: "" }, { name: "id", value: "net.0" }])
    r.addChardev([{ name: "socket", value: "" }, { name: "id", value: "c" }])
    assert.strictEqual(r.iothread(), "iothread.0")
    assert.strictEqual(r.iothread(), "iothread.0")
    r.addFileNode("n", "/a,b", true)
    assert.strictEqual(
      renderArgs(r.options()),
      "-object iothread,id=iothread.0 \\\n-blockdev driver=file,node-name=n,read-only=on,filename=/a,,b \\\n-chardev socket,id=c \\\n-netdev tap,id=net.0"
    )
  })
})

import { assert, describe, it } from "@effect/vitest"
import {
  bare,
  cleanToken,
  flag,
  option,
  param,
  renderArgs,
  renderParameter,
  renderParameters,
  toArgv,
  verbatimOption
} from "../../../src/domain/qemu/Options.js"

describe("parameter rendering (qemu.md §2.1)", () => {
  it("name=value, flag, value-only", () => {
    assert.strictEqual(renderParameter(param("bus", "pcie.0")), "bus=pcie.0")
    assert.strictEqual(renderParameter(flag("host")), "host")
    assert.strictEqual(renderParameter(param("hv-relaxed", "")), "hv-relaxed")
    assert.strictEqual(renderParameter(bare("test-vm")), "test-vm")
    assert.strictEqual(renderParameter(param("", "")), "")
  })

  it("cleans names and value-only values of , \" = whitespace and non-printables", () => {
    assert.strictEqual(cleanToken("a, b=\"c\"\t\u0007d\u00a0e"), "abcde")
    assert.strictEqual(renderParameter(bare("my vm,1=x")), "myvm1x")
    assert.strictEqual(renderParameter(param("na me", "v")), "name=v")
  })

  it("keeps the raw value after `=` (spaces stay), but doubles commas for QEMU (§11.4 fixed)", () => {
    assert.strictEqual(renderParameter(param("filename", "/a b/c")), "filename=/a b/c")
    assert.strictEqual(renderParameter(param("filename", "/srv/a,b/c,d.raw")), "filename=/srv/a,,b/c,,d.raw")
  })

  it("a value that cleans to nothing renders the bare name", () => {
    assert.strictEqual(renderParameter(param("mac", "")), "mac")
    assert.strictEqual(renderParameter(param("mac", " ,")), "mac")
  })

  it("joins the non-empty parameters with commas", () => {
    assert.strictEqual(renderParameters([flag("socket"), param("", ""), param("id", "x")]), "socket,id=x")
  })
})

describe("output forms (qemu.md §2.2-2.3)", () => {
  const options = [
    option("name", [bare("vm")]),
    option("enable-kvm"),
    option("cpu", [flag("host"), param("topoext", "on")]),
    verbatimOption("append", "console=ttyS0 root=/dev/vda,x")
  ]

  it("args: one option per line joined by ` \\` + newline, no trailing backslash", () => {
    assert.strictEqual(renderArgs(options), "-name vm \\\n-enable-kvm \\\n-cpu host,topoext=on \\\n-append console=ttyS0 root=/dev/vda,x")
  })

  it("argv: the type, then the parameters as one element when non-empty", () => {
    assert.deepStrictEqual(toArgv(options), [
      "-name",
      "vm",
      "-enable-kvm",
      "-cpu",
      "host,topoext=on",
      "-append",
      "console=ttyS0 root=/dev/vda,x"
    ])
  })

  it("an option with no parameters renders alone", () => {
    assert.deepStrictEqual(option("nodefaults"), { type: "nodefaults", params: "" })
  })
})

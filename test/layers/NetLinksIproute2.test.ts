/**
 * NetLinksIproute2 in a fresh network namespace (`ip netns add machina-t-<random>`, deleted
 * afterwards), and NetLinksMemory against the same expectations.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { afterAll, beforeAll } from "vitest"
import * as NetLinksIproute2 from "../../src/layers/NetLinksIproute2.js"
import * as NetLinksMemory from "../../src/layers/NetLinksMemory.js"
import { NetLinks } from "../../src/services/NetLinks.js"
import type { NetLinksShape } from "../../src/services/NetLinks.js"

const netns = `machina-t-${randomBytes(4).toString("hex")}`
const ip = (...args: Array<string>) => execFileSync("ip", ["-n", netns, ...args], { encoding: "utf8" })
const flags = (link: string) =>
  (JSON.parse(ip("-j", "link", "show", "dev", link)) as ReadonlyArray<{ flags: ReadonlyArray<string>; master?: string }>)[0]

beforeAll(() => {
  execFileSync("ip", ["netns", "add", netns])
  ip("link", "add", "br0", "type", "bridge")
  ip("tuntap", "add", "dev", "tap0", "mode", "tap")
  ip("tuntap", "add", "dev", "tap1", "mode", "tap")
})

afterAll(() => {
  execFileSync("ip", ["netns", "del", netns])
})

/** The contract both implementations follow, on links br0 (bridge), tap0 and tap1 (taps, down). */
const contract = (links: Effect.Effect<NetLinksShape>, observe: (link: string) => Effect.Effect<{ up: boolean; master?: string | undefined }>) =>
  Effect.gen(function* () {
    const net = yield* links
    assert.isTrue(yield* net.exists("tap0"))
    assert.isFalse(yield* net.exists("nope0"))
    assert.isTrue(yield* net.isBridge("br0"))
    assert.isFalse(yield* net.isBridge("tap0"))
    assert.deepStrictEqual(yield* net.master("tap0"), Option.none())

    yield* net.attach("tap0", "br0")
    assert.deepStrictEqual(yield* net.master("tap0"), Option.some("br0"))
    assert.deepStrictEqual(yield* observe("tap0"), { up: true, master: "br0" })
    yield* net.attach("tap0", "br0") // again: no-op
    assert.deepStrictEqual(yield* observe("tap0"), { up: true, master: "br0" })

    yield* net.detach("tap0")
    assert.deepStrictEqual(yield* net.master("tap0"), Option.none())
    assert.deepStrictEqual(yield* observe("tap0"), { up: false, master: undefined })
    yield* net.detach("tap0") // again: no-op
    assert.deepStrictEqual(yield* observe("tap0"), { up: false, master: undefined })

    for (const error of [
      yield* Effect.flip(net.detach("nope0")),
      yield* Effect.flip(net.isBridge("nope0")),
      yield* Effect.flip(net.master("nope0")),
      yield* Effect.flip(net.attach("nope0", "br0")),
      // a missing link is reported before a missing bridge, or one that is not a bridge
      yield* Effect.flip(net.attach("nope0", "nope1")),
      yield* Effect.flip(net.attach("nope0", "tap1"))
    ]) {
      assert.deepStrictEqual([error._tag, error.message], ["NetLinkNotFoundError", `link "nope0" not found`])
    }
    const noBridge = yield* Effect.flip(net.attach("tap0", "nope0"))
    assert.deepStrictEqual([noBridge._tag, noBridge.message], ["NetLinkNotFoundError", `link "nope0" not found`])
    const notABridge = yield* Effect.flip(net.attach("tap0", "tap1"))
    assert.deepStrictEqual(
      [notABridge._tag, notABridge.message],
      ["NetLinkNotABridgeError", `network link "tap1" is not a bridge`]
    )
    // the checks fail before any change
    assert.deepStrictEqual(yield* observe("tap0"), { up: false, master: undefined })
    // the kernel refuses the master after setting the flag
    const itself = yield* Effect.flip(net.attach("br0", "br0"))
    assert.strictEqual(itself._tag, "NetLinkCommandError")
    assert.deepStrictEqual(yield* observe("br0"), { up: true, master: undefined })
    const invalid = yield* Effect.flip(net.exists("has space"))
    assert.strictEqual(invalid._tag, "NetLinkInvalidNameError")
    assert.strictEqual((yield* Effect.flip(net.attach("a-very-long-link-name", "br0")))._tag, "NetLinkInvalidNameError")
    assert.strictEqual((yield* Effect.flip(net.attach("tap0", "a-very-long-link-name")))._tag, "NetLinkInvalidNameError")
    assert.strictEqual((yield* Effect.flip(net.detach("a-very-long-link-name")))._tag, "NetLinkInvalidNameError")
  })

describe("NetLinksIproute2", () => {
  it.effect("finds, raises, enslaves and releases links in a network namespace", () =>
    contract(
      NetLinksIproute2.make({ netns }),
      (link) =>
        Effect.sync(() => {
          const info = flags(link)
          return { up: info?.flags.includes("UP") ?? false, master: info?.master }
        })
    ))

  // What machina-ifup and machina-ifdown cost on a real host is mostly the `ip` processes.
  it.effect("attaches with two ip commands and detaches with one", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "machina-ip-"))
      const log = join(dir, "log")
      const wrapper = join(dir, "ip")
      writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec ip "$@"\n`, { mode: 0o755 })
      const net = yield* NetLinksIproute2.make({ netns, ip: wrapper })
      const commands = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [])
      yield* net.attach("tap1", "br0")
      assert.deepStrictEqual(commands(), [`-n ${netns} -j -d link show dev br0`, `-n ${netns} link set dev tap1 master br0 up`])
      assert.deepStrictEqual(flags("tap1")?.master, "br0")
      assert.include(flags("tap1")?.flags, "UP")
      rmSync(log)
      yield* net.detach("tap1")
      assert.deepStrictEqual(commands(), [`-n ${netns} link set dev tap1 nomaster down`])
      assert.strictEqual(flags("tap1")?.master, undefined)
      assert.notInclude(flags("tap1")?.flags, "UP")
      rmSync(dir, { recursive: true })
    }))

  it.effect("reports a failing ip command with its stderr", () =>
    Effect.gen(function* () {
      const net = yield* NetLinks
      const error = yield* Effect.flip(net.exists("tap0"))
      assert.strictEqual(error._tag, "NetLinkCommandError")
      assert.include(error.message, `Cannot open network namespace "machina-t-missing"`)
      assert.include(error.message, "ip -n machina-t-missing -j -d link show dev tap0 exited")
    }).pipe(Effect.provide(NetLinksIproute2.layer({ netns: "machina-t-missing" }))))

  it.effect("reports a missing ip executable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip((yield* NetLinksIproute2.make({ ip: "/nonexistent/ip" })).exists("lo"))
      assert.strictEqual(error._tag, "NetLinkCommandError")
      assert.include(error.message, "could not run")
    }))
})

describe("NetLinksMemory", () => {
  it.effect("follows the same contract", () =>
    Effect.gen(function* () {
      const { netLinks, control } = yield* NetLinksMemory.make({
        links: [
          { name: "br0", kind: "bridge" },
          { name: "tap0", kind: "tap" },
          { name: "tap1", kind: "tap" }
        ]
      })
      yield* contract(Effect.succeed(netLinks), (link) =>
        Effect.map(control.links, (all) => {
          const found = all.find((l) => l.name === link)
          return { up: found?.up ?? false, master: found?.master }
        })
      )
      // Removing a bridge releases its ports.
      yield* netLinks.attach("tap1", "br0")
      yield* control.remove("br0")
      assert.deepStrictEqual(yield* netLinks.master("tap1"), Option.none())
    }))
})

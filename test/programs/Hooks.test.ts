/**
 * The hook fast path (HookArgv.ts, Hooks.ts): which argvs it takes, and that for each it prints
 * and exits exactly as the full CLI does, on the same simulated host (configuration, sysfs,
 * links, systemd units, processes and QMP monitors in memory; lock files and runtime
 * directories in a temp dir), including the refusals of a machine in use (Occupancy.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as HostLockFs from "../../src/layers/HostLockFs.js"
import * as MdevMemory from "../../src/layers/MdevMemory.js"
import * as NetLinksMemory from "../../src/layers/NetLinksMemory.js"
import * as ProcessesMemory from "../../src/layers/ProcessesMemory.js"
import * as QmpMemory from "../../src/layers/QmpMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { main } from "../../src/programs/Cli.js"
import { hookArgv } from "../../src/programs/HookArgv.js"
import { hookProgram } from "../../src/programs/Hooks.js"
import { ConfigStore } from "../../src/services/ConfigStore.js"
import { HostLock } from "../../src/services/HostLock.js"
import { capturingConsole } from "../support/Cli.js"

const host = {
  storage: { disks: { path: "/var/lib/machina", type: "raw" } },
  network: { lan: { device: "br0" }, gone: { device: "nobr" } },
  mdev: { gpu0: { address: "0000:c1:00.0", types: { desktop: "GRID T4-1Q" } } }
}
const machines = {
  vdi: {
    id: "00000000-0000-0000-0000-000000000001",
    attrs: { memory: { ram: 1024 }, qmp: { enabled: true } },
    connections: [{ name: "0", network: "lan" }, { name: "wan-uplink", network: "lan" }, { name: "x", network: "gone" }],
    devices: [{ name: "vgpu", class: "desktop" }]
  },
  nodev: { attrs: { memory: { ram: 512 } }, devices: [{ name: "v", class: "missing-class" }] },
  plain: { attrs: { memory: { ram: 512 } } },
  busy: { attrs: { memory: { ram: 512 }, qmp: { enabled: true } } }
}

const simulated = (runDir: string) =>
  Layer.mergeAll(
    ConfigStoreMemory.layer({ location: "/etc/machina", host, machines }),
    MdevMemory.layer({ parents: [{ address: "0000:c1:00.0", types: [{ dir: "nvidia-222", name: "GRID T4-1Q" }] }] }),
    NetLinksMemory.layer({ links: [{ name: "br0", kind: "bridge", up: true }, { name: "vdi.0" }, { name: "vdi.x" }] }),
    Layer.effect(HostLock, HostLockFs.make({ runtimeDir: runDir })),
    QmpMemory.layer,
    // busy's unit runs: prepare and teardown typed by hand (not in its cgroup) refuse it.
    SystemdMemory.layer({ units: [{ name: "machina-busy.service", activeState: "active" }, { name: "machina-vdi.service", activeState: "inactive" }] }),
    ProcessesMemory.layer({}),
    NodeContext.layer
  )

interface Outcome {
  readonly stdout: string
  readonly stderr: string
  readonly exitCode: number
}

/** Runs `status` on a fresh simulated host, capturing its console. */
const onFreshHost = (status: Effect.Effect<number, never, any>): Effect.Effect<Outcome> =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "machina-hooks-"))),
    (dir) =>
      Effect.gen(function*() {
        const previous = process.env["MACHINA_RUN_DIR"]
        process.env["MACHINA_RUN_DIR"] = dir
        const out: Array<string> = []
        const err: Array<string> = []
        const exitCode = yield* (status.pipe(Effect.withConsole(capturingConsole(out, err)), Effect.provide(simulated(dir))) as Effect.Effect<number>).pipe(
          Effect.ensuring(Effect.sync(() => {
            if (previous === undefined) delete process.env["MACHINA_RUN_DIR"]
            else process.env["MACHINA_RUN_DIR"] = previous
          }))
        )
        const text = (lines: Array<string>) => lines.join("").replaceAll(dir, "$RUN")
        return { stdout: text(out), stderr: text(err), exitCode }
      }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("hookArgv", () => {
  it("takes the commands systemd and QEMU run", () => {
    expect(hookArgv(["node", "/usr/bin/machina-ifup", "vm.0"])).toEqual({ _tag: "Connect", program: "machina-ifup", configDir: undefined, targets: ["vm.0"] })
    expect(hookArgv(["node", "/usr/bin/machina-ifdown", "vm.0"])?._tag).toBe("Disconnect")
    expect(hookArgv(["node", "machina", "prepare", "a", "b"])).toEqual({ _tag: "Prepare", configDir: undefined, swtpm: false, machines: ["a", "b"] })
    expect(hookArgv(["node", "machina", "prepare", "--swtpm", "a"])).toEqual({ _tag: "Prepare", configDir: undefined, swtpm: true, machines: ["a"] })
    expect(hookArgv(["node", "machina", "--config-dir", "/c", "teardown", "a"])).toEqual({ _tag: "Teardown", configDir: "/c", machines: ["a"] })
    expect(hookArgv(["node", "machina", "--config-dir=/c", "prepare", "a"])?.configDir).toBe("/c")
    expect(hookArgv(["node", "machina", "shutdown", "--system", "--timeout", "1m25s", "vm"])).toEqual({
      _tag: "Shutdown", configDir: undefined, wait: false, timeout: "1m25s", machines: ["vm"]
    })
    expect(hookArgv(["node", "machina", "shutdown", "--timeout=5s", "--wait", "--system", "vm"])).toMatchObject({ wait: true, timeout: "5s" })
  })

  it("leaves everything else to the full CLI", () => {
    for (
      const args of [
        [],
        ["args", "vm"],
        ["prepare"],
        ["prepare", "--help"],
        ["prepare", "vm", "--help"],
        ["prepare", "-h", "vm"],
        ["prepare", "--swtpm"],
        ["prepare", "vm", "--swtpm"],
        ["prepare", "--swtpm", "--swtpm", "vm"],
        ["teardown", "--version"],
        ["shutdown", "vm"],
        ["shutdown", "--wait", "vm"],
        ["shutdown", "--system", "--system", "vm"],
        ["shutdown", "--system", "--timeout"],
        ["shutdown", "--system", "--timeout", "--wait", "vm"],
        ["shutdown", "--system", "--grace", "1s", "vm"],
        ["shutdown", "--system", "vm", "--timeout", "1s"],
        ["--config-dir", "prepare", "vm"],
        ["--config-dir="],
        ["--log-level", "debug", "prepare", "vm"],
        ["connect", "vm"]
      ]
    ) expect(hookArgv(["node", "/usr/bin/machina", ...args]), args.join(" ")).toBeUndefined()
    expect(hookArgv(["node", "/usr/bin/machina-ifup"])).toBeUndefined()
    expect(hookArgv(["node", "/usr/bin/machina-ifup", "--help"])).toBeUndefined()
    expect(hookArgv(["node", "/usr/bin/machina-ifdown", "vm.0", "-x"])).toBeUndefined()
  })

  it("has no program for a --timeout that does not parse (the full CLI reports it)", () => {
    const hook = hookArgv(["node", "machina", "shutdown", "--system", "--timeout", "soon", "vm"])
    expect(hook?._tag).toBe("Shutdown")
    expect(hookProgram(hook!)).toBeUndefined()
  })
})

// A machine whose JSON name reads as another machine's tap: `vdi.wan-uplink` is vdi's tap for its
// connection `wan-uplink`, and the name of the machine in dotted.conf.json.
describe("machina-ifup and machina-ifdown take their argument as a tap first", () => {
  const withDotted = { ...machines, dotted: { name: "vdi.wan-uplink", attrs: { memory: { ram: 512 } }, connections: [{ name: "z", network: "lan" }] } }
  const run = (argv: ReadonlyArray<string>, status: Effect.Effect<number, never, any>) =>
    Effect.gen(function*() {
      const texts: Array<string> = []
      const store = ConfigStoreMemory.make({ location: "/etc/machina", host, machines: withDotted })
      const counted = Layer.succeed(ConfigStore, { ...store, readMachineText: (name: string) => Effect.zipRight(Effect.sync(() => texts.push(name)), store.readMachineText(name)) })
      const out: Array<string> = []
      const err: Array<string> = []
      const links = NetLinksMemory.layer({ links: [{ name: "br0", kind: "bridge", up: true }, { name: "vdi.wan-uplink" }, { name: "vdi.0" }] })
      const exitCode = yield* (status.pipe(Effect.withConsole(capturingConsole(out, err)), Effect.provide(Layer.mergeAll(counted, links, NodeContext.layer))) as Effect.Effect<number>)
      return { argv, stdout: out.join(""), stderr: err.join(""), exitCode, texts }
    })

  it.effect("the hook and the full CLI's personality attach vdi's tap, reading no machine file's text", () =>
    Effect.gen(function*() {
      for (const program of ["machina-ifup", "machina-ifdown"]) {
        const argv = ["node", `/usr/bin/${program}`, "vdi.wan-uplink"]
        const fast = yield* run(argv, hookProgram(hookArgv(argv)!)!)
        const full = yield* run(argv, main(argv))
        expect(fast).toEqual(full)
        expect(fast.stdout).toBe(`vdi.wan-uplink: ${program === "machina-ifup" ? "enabled" : "disabled"}\n`)
        expect(fast.exitCode).toBe(0)
        // Only a machine's JSON name needs every file's text: a tap does not.
        expect(fast.texts).toEqual([])
      }
    }))

  it.effect("connect by hand takes the machine of that name, as before", () =>
    Effect.gen(function*() {
      const connect = yield* run(["node", "/usr/bin/machina", "connect", "vdi.wan-uplink"], main(["node", "/usr/bin/machina", "connect", "vdi.wan-uplink"]))
      // dotted's only tap (hashed: the name is too long for a link), not vdi's.
      expect(connect.stderr).not.toContain("vdi.wan-uplink:")
      expect(connect.stderr).toMatch(/failed: link ".*" not found/)
      expect(connect.texts.length).toBeGreaterThan(0)
    }))
})

describe("the hook fast path prints and exits as the full CLI", () => {
  const cases: ReadonlyArray<ReadonlyArray<string>> = [
    ["machina-ifup", "vdi.0"],
    ["machina-ifup", "vdi.wan-uplink"],
    ["machina-ifup", "vdi"],
    ["machina-ifup", "nope"],
    ["machina-ifdown", "vdi.0"],
    ["machina-ifdown", "vdi.x", "vdi.0"],
    ["machina", "prepare", "vdi"],
    ["machina", "prepare", "vdi", "plain"],
    ["machina", "prepare", "nodev"],
    ["machina", "prepare", "missing"],
    ["machina", "prepare", "bad/name"],
    ["machina", "prepare", "busy"],
    ["machina", "prepare", "--swtpm", "plain"],
    ["machina", "teardown", "busy"],
    ["machina", "teardown", "vdi", "plain"],
    ["machina", "teardown", "missing"],
    ["machina", "shutdown", "--system", "--timeout", "1m25s", "plain"],
    ["machina", "shutdown", "--system", "--timeout", "0", "vdi"],
    ["machina", "shutdown", "--system", "missing"],
    ["machina", "shutdown", "--system", "busy"],
    ["machina", "shutdown", "--timeout=5s", "--system", "vdi", "plain"],
    ["machina", "--config-dir=/elsewhere", "shutdown", "--system", "--wait", "plain"],
    ["machina", "--config-dir", "/elsewhere", "prepare", "vdi"]
  ]
  for (const [program, ...args] of cases) {
    it.effect(`${program} ${args.join(" ")}`, () =>
      Effect.gen(function*() {
        const argv = ["node", `/usr/bin/${program}`, ...args]
        const hook = hookArgv(argv)
        expect(hook).toBeDefined()
        const fast = hookProgram(hook!)
        expect(fast).toBeDefined()
        const viaHook = yield* onFreshHost(fast!)
        const viaCli = yield* onFreshHost(main(argv))
        expect(viaHook).toEqual(viaCli)
        // Not a vacuous comparison: every case but a teardown with nothing to remove prints something.
        if (!(args[0] === "teardown" && viaHook.exitCode === 0)) expect(viaHook.stdout + viaHook.stderr).not.toBe("")
      }))
  }
})

/**
 * prepare, teardown, connect, disconnect, shutdown and the ifup personality on a simulated host:
 * configuration, sysfs, links and QMP monitors all in memory, the CLI run in-process.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as HostLockFs from "../../src/layers/HostLockFs.js"
import * as MdevMemory from "../../src/layers/MdevMemory.js"
import * as NetLinksMemory from "../../src/layers/NetLinksMemory.js"
import * as QmpMemory from "../../src/layers/QmpMemory.js"
import { HostLock } from "../../src/services/HostLock.js"
import { runCli } from "../support/Cli.js"

const host = {
  storage: { disks: { path: "/var/lib/machina", type: "raw" } },
  network: { lan: { device: "br0" } },
  mdev: {
    gpu1: { address: "0000:c1:00.0", types: { desktop: "GRID T4-1Q" } },
    gpu0: { address: "0000:81:00.0", types: { desktop: "GRID T4-1Q" } }
  }
}
const machines = {
  vdi: {
    id: "00000000-0000-0000-0000-000000000001",
    attrs: { memory: { ram: 1024 }, qmp: { enabled: true } },
    connections: [{ name: "0", network: "lan" }, { name: "wan-uplink", network: "lan" }],
    devices: [{ name: "vgpu", class: "desktop" }]
  },
  "windows-server-2022": { attrs: { memory: { ram: 1024 } }, connections: [{ name: "lan", network: "lan" }] },
  plain: { attrs: { memory: { ram: 512 } } }
}

const simulated = (runDir: string) =>
  Layer.mergeAll(
    ConfigStoreMemory.layer({ location: "/etc/machina", host, machines }),
    MdevMemory.layer({ parents: [{ address: "0000:c1:00.0", types: [{ dir: "nvidia-222", name: "GRID T4-1Q" }] }, { address: "0000:81:00.0", types: [{ dir: "nvidia-222", name: "GRID T4-1Q", available: 0 }] }] }),
    NetLinksMemory.layer({ links: [{ name: "br0", kind: "bridge", up: true }, { name: "vdi.0" }, { name: "vdi.wan-uplink" }, { name: "NgfS08P3G9mwlNA" }] }),
    Layer.effect(HostLock, HostLockFs.make({ runtimeDir: runDir })),
    QmpMemory.layer
  )

const withHost = <A, E>(f: (runDir: string) => Effect.Effect<A, E, any>): Effect.Effect<A, E> =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "machina-run-"))),
    (dir) =>
      Effect.gen(function*() {
        const previous = process.env["MACHINA_RUN_DIR"]
        process.env["MACHINA_RUN_DIR"] = dir
        return yield* (f(dir) as Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof simulated>>>).pipe(Effect.provide(simulated(dir)), Effect.ensuring(Effect.sync(() => {
          if (previous === undefined) delete process.env["MACHINA_RUN_DIR"]
          else process.env["MACHINA_RUN_DIR"] = previous
        })))
      }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("prepare and teardown", () => {
  it.effect("creates the mediated device on the first parent with room, idempotently, and removes it", () =>
    withHost((runDir) =>
      Effect.gen(function*() {
        const first = yield* runCli(["prepare", "vdi"])
        expect(first.stderr).toBe("")
        expect(first.stdout).toMatch(/^vdi: device vgpu: created mediated device [0-9a-f-]{36} \(.* on 0000:c1:00\.0\)\n$/)
        expect(statSync(join(runDir, "vdi")).mode & 0o777).toBe(0o700)
        const mdev = yield* MdevMemory.MdevMemoryControl
        expect((yield* mdev.devices).map((d) => d.address)).toEqual(["0000:c1:00.0"])
        expect((yield* runCli(["prepare", "vdi"])).stdout).toMatch(/already present/)
        const down = yield* runCli(["teardown", "vdi"])
        expect(down.exitCode).toBe(0)
        expect(down.stdout).toMatch(/removed mediated device/)
        expect(yield* mdev.devices).toEqual([])
      })))

  it.effect("fails clearly when no parent offers the class", () =>
    withHost(() =>
      Effect.gen(function*() {
        const mdev = yield* MdevMemory.MdevMemoryControl
        void mdev
        const r = yield* runCli(["prepare", "vdi", "nope"])
        expect(r.exitCode).toBe(1)
        expect(r.stderr).toMatch(/nope\.conf\.json: file not found/)
      })))
})

describe("connect and disconnect", () => {
  it.effect("attaches every tap of a machine to its bridge and detaches one", () =>
    withHost(() =>
      Effect.gen(function*() {
        const up = yield* runCli(["connect", "vdi"])
        expect(up.stdout).toBe("vdi.0: enabled\nvdi.wan-uplink: enabled\n")
        const links = yield* NetLinksMemory.NetLinksMemoryControl
        expect((yield* links.links).filter((l) => l.master === "br0").map((l) => l.name)).toEqual(["vdi.0", "vdi.wan-uplink"])
        const down = yield* runCli(["disconnect", "vdi.wan-uplink"])
        expect(down.stdout).toBe("vdi.wan-uplink: disabled\n")
        const after = yield* links.links
        expect(after.find((l) => l.name === "vdi.wan-uplink")).toMatchObject({ up: false })
        expect(after.find((l) => l.name === "vdi.wan-uplink")?.master).toBeUndefined()
      })))

  it.effect("resolves hashed tap names given to the ifup personality", () =>
    withHost(() =>
      Effect.gen(function*() {
        const out: Array<string> = []
        const { main } = yield* Effect.promise(() => import("../../src/programs/Cli.js"))
        const { capturingConsole } = yield* Effect.promise(() => import("../support/Cli.js"))
        const err: Array<string> = []
        const code = yield* main(["node", "/usr/bin/machina-ifup", "NgfS08P3G9mwlNA"]).pipe(Effect.withConsole(capturingConsole(out, err)))
        expect(err.join("")).toBe("")
        expect(code).toBe(0)
        expect(out.join("")).toBe("NgfS08P3G9mwlNA: enabled\n")
      })))

  it.effect("reports a missing tap and exits non-zero", () =>
    withHost(() =>
      Effect.gen(function*() {
        const r = yield* runCli(["connect", "windows-server-2022.lan", "nothing-here"])
        expect(r.exitCode).toBe(1)
        expect(r.stderr).toMatch(/"nothing-here": no machine, machine\.connection or tap interface/)
      })))
})

describe("shutdown", () => {
  it.effect("powers a guest off through its command socket and waits", () =>
    withHost((runDir) =>
      Effect.gen(function*() {
        const sim = yield* QmpMemory.QmpSimulator
        yield* sim.addMachine({ sockets: [join(runDir, "vdi/command.0.qmp.socket"), join(runDir, "vdi/command.1.qmp.socket")] })
        const r = yield* runCli(["shutdown", "--wait", "vdi"])
        expect(r.stderr).toBe("")
        expect(r.stdout).toMatch(/^vdi: Issued shutdown command\.\nvdi: POWERDOWN\n.*vdi: QMP socket closed\. Shutdown complete\.\n$/s)
      })))

  it.effect("reports a machine without QMP and exits non-zero", () =>
    withHost(() =>
      Effect.gen(function*() {
        const r = yield* runCli(["shutdown", "plain"])
        expect(r.exitCode).toBe(1)
        expect(r.stdout + r.stderr).toMatch(/plain: Failed to issue shutdown command: no QMP socket available\./)
      })))
})

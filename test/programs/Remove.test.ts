/** `remove` against a simulated host: refusal, --stop, units and runtime directory gone, idempotence. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as ProgressMemory from "../../src/layers/ProgressMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import * as UnitStoreMemory from "../../src/layers/UnitStoreMemory.js"
import { ConfigStore } from "../../src/services/ConfigStore.js"
import { UnitStore } from "../../src/services/UnitStore.js"
import { runCli } from "../support/Cli.js"

const hostDoc = { storage: { disks: { path: "/srv", type: "raw" } }, network: {} }
const machine = { attrs: { memory: { ram: 512 } }, volumes: [{ name: "os", storage: "disks" }] }

describe("remove", () => {
  it.effect("refuses a running machine, stops it with --stop, deletes its units, keeps its file, and is idempotent", () =>
    Effect.gen(function*() {
      const run = mkdtempSync(join(tmpdir(), "machina-run-"))
      const previous = process.env["MACHINA_RUN_DIR"]
      process.env["MACHINA_RUN_DIR"] = run
      try {
        mkdirSync(join(run, "vm"))
        writeFileSync(join(run, "vm", "qmp.socket"), "")
        const config = ConfigStoreMemory.make({ location: "/etc/machina", host: hostDoc, machines: { vm: machine, other: machine } })
        const store = UnitStoreMemory.makeStore()
        const base = Layer.mergeAll(Layer.succeed(ConfigStore, config), Layer.succeed(UnitStore, store))
        const systemd = SystemdMemory.layer({
          units: [{ name: "machina-vm.service", activeState: "active", enabled: true }, { name: "machina-swtpm-vm.service", activeState: "active" }]
        })
        const layer = Layer.provideMerge(Layer.mergeAll(base, systemd, ProgressMemory.layer), Layer.empty)
        yield* Effect.gen(function*() {
          expect((yield* runCli(["generate", "vm", "other"])).exitCode).toBe(0)
          const files = store.files()
          expect([...files.keys()].sort()).toEqual(["machina-other.service", "machina-vm.service"])
          yield* store.writeAll([{ name: "machina-swtpm-vm.service", content: "[Service]\nExecStart=/usr/bin/swtpm\n" }])

          const refused = yield* runCli(["remove", "vm"])
          expect(refused.exitCode).toBe(1)
          expect(refused.stderr).toBe("machina: error: not removing anything: machine(s) vm are running; stop them first or pass --stop\n")
          expect(store.files().has("machina-vm.service")).toBe(true)

          const control = yield* SystemdMemory.SystemdMemoryControl
          const reloads = yield* control.reloads
          const removed = yield* runCli(["remove", "--stop", "vm"])
          expect(removed.stderr).toBe("")
          expect(removed.exitCode).toBe(0)
          expect(removed.stdout).toContain("vm: stopped machina-vm.service\n")
          expect(removed.stdout).toContain("vm: stopped machina-swtpm-vm.service\n")
          // Each stop job is shown as progress on a terminal (recorded here), bounded by --timeout's default.
          const waits = yield* (yield* ProgressMemory.ProgressMemoryControl).waits
          expect(waits.map((w) => [w.wait.what, w.timeoutMillis])).toEqual([
            ["removing vm: waiting for machina-vm.service to stop", 120_000],
            ["removing vm: waiting for machina-swtpm-vm.service to stop", 120_000]
          ])
          expect(removed.stdout).toContain("vm: deleted /etc/systemd/system/machina-vm.service\n")
          expect(removed.stdout).toContain("vm: deleted /etc/systemd/system/machina-swtpm-vm.service\n")
          expect(removed.stdout).toContain(`vm: removed runtime directory ${run}/vm\n`)
          expect(removed.stdout).toContain("systemd: units reloaded\n")
          expect(yield* control.reloads).toBe(reloads + 1)
          expect(yield* control.isEnabled("machina-vm.service")).toBe(false)
          expect([...store.files().keys()]).toEqual(["machina-other.service"])
          expect(existsSync(join(run, "vm"))).toBe(false)
          expect(yield* config.listMachines).toEqual(["other", "vm"])

          const again = yield* runCli(["remove", "vm"])
          expect(again.exitCode).toBe(0)
          expect(again.stdout).toBe("nothing left to remove\n")
          expect(yield* control.reloads).toBe(reloads + 1)

          const purged = yield* runCli(["remove", "--purge-config", "vm"])
          expect(purged.stdout).toBe("vm: deleted /etc/machina/machine.conf.d/vm.conf.json\n")
          expect(yield* config.listMachines).toEqual(["other"])
        }).pipe(Effect.provide(layer))
      } finally {
        if (previous === undefined) delete process.env["MACHINA_RUN_DIR"]
        else process.env["MACHINA_RUN_DIR"] = previous
        rmSync(run, { recursive: true, force: true })
      }
    }))
})

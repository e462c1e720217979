/** `generate` writing units: validation first, statuses, reload, and the directory on disk. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import * as UnitStoreMemory from "../../src/layers/UnitStoreMemory.js"
import { UnitStore } from "../../src/services/UnitStore.js"
import { runCli } from "../support/Cli.js"

const host = { storage: { disks: { path: "/srv", type: "raw" } }, network: { lan: { device: "br0" } } }
const machines = {
  alpha: { attrs: { memory: { ram: 512 } }, volumes: [{ name: "os", storage: "disks" }] },
  beta: { attrs: { memory: { ram: 512 } } },
  broken: { attrs: { memory: { ram: 512 } }, connections: [{ name: "0", network: "nope" }] }
}
const config = ConfigStoreMemory.layer({ location: "/etc/machina", host, machines })

describe("generate", () => {
  it.effect("writes units, reports created/unchanged/changed, and reloads systemd only on change", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore({ directory: "/etc/systemd/system" })
      const layer = Layer.mergeAll(config, SystemdMemory.layer(), Layer.succeed(UnitStore, store))
      yield* Effect.gen(function*() {
        const first = yield* runCli(["generate", "alpha", "beta"])
        expect(first.stdout).toBe(
          "/etc/systemd/system/machina-alpha.service: created\n/etc/systemd/system/machina-beta.service: created\nsystemd: units reloaded\n"
        )
        const control = yield* SystemdMemory.SystemdMemoryControl
        expect(yield* control.reloads).toBe(1)
        const second = yield* runCli(["generate", "alpha"])
        expect(second.stdout).toBe("/etc/systemd/system/machina-alpha.service: unchanged\n")
        expect(yield* control.reloads).toBe(1)
        const preview = yield* runCli(["generate", "--preview", "alpha"])
        expect(preview.stdout).toBe(store.files().get("machina-alpha.service"))
      }).pipe(Effect.provide(layer))
    }))

  it.effect("writes nothing when any machine is invalid, and names every problem", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore()
      const r = yield* runCli(["generate", "alpha", "broken", "beta"], Layer.mergeAll(config, SystemdMemory.layer(), Layer.succeed(UnitStore, store)))
      expect(r.exitCode).toBe(1)
      expect(r.stderr).toMatch(/^\/etc\/machina\/machine\.conf\.d\/broken\.conf\.json: \$\.connections\[0\]\.network: /)
      expect(store.files().size).toBe(0)
    }))

  it.effect("says so when systemd cannot be reached, and --no-reload skips it", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "machina-units-"))
      try {
        const offline = Layer.mergeAll(config, SystemdMemory.layer({ available: false }))
        const r = yield* runCli(["generate", "--unit-dir", dir, "alpha"], offline)
        expect(r.exitCode).toBe(0)
        expect(r.stderr).toMatch(/units written but systemd was not reloaded .*systemctl daemon-reload/)
        expect(readdirSync(dir)).toEqual(["machina-alpha.service"])
        expect(readFileSync(join(dir, "machina-alpha.service"), "utf8")).toMatch(/^\[Unit\]\nDescription=machina KVM alpha\n/)
        const quiet = yield* runCli(["generate", "--no-reload", "--unit-dir", dir, "beta"], offline)
        // beta has no id: the only thing said is that warning, not a reload problem
        expect(quiet.stderr).toMatch(/^\/etc\/machina\/machine\.conf\.d\/beta\.conf\.json: \$\.id: machine beta has no id: .*machina gen-id\n$/)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))

  it.effect("args prints a header per machine only for several machines", () =>
    Effect.gen(function*() {
      const one = yield* runCli(["args", "beta"], config)
      expect(one.stdout.startsWith("-name beta \\\n")).toBe(true)
      const two = yield* runCli(["args", "alpha", "beta"], config)
      expect(two.stdout).toMatch(/^----alpha----\n-name alpha \\\n[\s\S]*\n\n----beta----\n-name beta \\\n/)
    }))
})

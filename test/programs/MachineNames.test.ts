/**
 * A machine whose JSON `name` differs from its file name (config.md §2): every command takes
 * either name and resolves to the same machine, named everywhere by its JSON name.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { runCli } from "../support/Cli.js"

const machine = (extra: object) => ({ id: "6a1d2c3e-0b4f-4a5e-9c7d-8e9f0a1b2c3d", attrs: { memory: { ram: 256 } }, ...extra })

const config = ConfigStoreMemory.layer({
  location: "/etc/machina",
  host: { network: { lan: { device: "br0" } } },
  machines: {
    "old-name": machine({ name: "web", connections: [{ name: "0", network: "lan" }] }),
    db: machine({ id: "6a1d2c3e-0b4f-4a5e-9c7d-8e9f0a1b2c3e" }),
    twin1: machine({ name: "twin", id: "6a1d2c3e-0b4f-4a5e-9c7d-8e9f0a1b2c40" }),
    twin2: machine({ name: "twin", id: "6a1d2c3e-0b4f-4a5e-9c7d-8e9f0a1b2c41" })
  }
})
const simulated = Layer.merge(config, SystemdMemory.layer({ units: [{ name: "machina-web.service", activeState: "active" }] }))

describe("machines named by their JSON name", () => {
  it.effect("args, status and cat give the same machine for the file name and the JSON name", () =>
    Effect.gen(function*() {
      const byFile = yield* runCli(["args", "old-name"], simulated)
      const byName = yield* runCli(["args", "web"], simulated)
      expect(byFile.exitCode).toBe(0)
      expect(byFile.stdout).toMatch(/^-uuid 6a1d2c3e-0b4f-4a5e-9c7d-8e9f0a1b2c3d \\\n-name web \\\n/)
      expect(byFile.stdout).toMatch(/ifname=web\.0,/)
      expect(byName.stdout).toBe(byFile.stdout)
      for (const arg of ["old-name", "web"]) {
        const status = yield* runCli(["status", arg], simulated)
        expect(status.exitCode).toBe(0)
        expect(status.stdout).toMatch(new RegExp(`^${arg}: machina-web\\.service  loaded  active`))
      }
      const cat = yield* runCli(["cat", "web"], simulated)
      expect(cat.stdout).toMatch(/^ {2}Name: web\n {2}File Name: old-name /)
    }))

  it.effect("list shows the effective name and its unit's state", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["list"], simulated)
      expect(r.stdout.split("\n").filter((l) => l.startsWith("web "))).toHaveLength(1)
      expect(r.stdout).toMatch(/^web\s+loaded\s+active\/running/m)
    }))

  it.effect("a name two files claim is refused by name; check reports the collision", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["args", "twin"], simulated)
      expect(r.exitCode).toBe(1)
      expect(r.stderr).toMatch(/machine name "twin" is given by several files \(\/etc\/machina\/machine\.conf\.d\/twin1\.conf\.json, \/etc\/machina\/machine\.conf\.d\/twin2\.conf\.json\)/)
      expect((yield* runCli(["args", "twin2"], simulated)).exitCode).toBe(0)
      const check = yield* runCli(["check"], simulated)
      expect(check.exitCode).toBe(1)
      expect(check.stderr).toContain("/etc/machina/machine.conf.d/twin2.conf.json: $.name: machine name twin is also the name of the machine in /etc/machina/machine.conf.d/twin1.conf.json; both would use unit machina-twin.service")
      expect(check.stdout).toContain(`/etc/machina/machine.conf.d/old-name.conf.json: $.name: note: machine web is named by its "name" key`)
    }))

  it.effect("a machine argument that is no valid name is a usage error (exit 2)", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["check", "bad/name"], simulated)
      expect(r.exitCode).toBe(2)
      expect(r.stderr).toMatch(/^machina: error: machine name "bad\/name" is not allowed/)
    }))

  it.effect("an unknown name is still a missing file", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["args", "nope"], simulated)
      expect(r.exitCode).toBe(1)
      expect(r.stderr).toBe("/etc/machina/machine.conf.d/nope.conf.json: $: file not found\n")
    }))
})

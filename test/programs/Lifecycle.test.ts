/** list/status/enable/disable/start/stop against a simulated host (ConfigStoreMemory + SystemdMemory). */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { renderList } from "../../src/programs/List.js"

import { runCli } from "../support/Cli.js"

const host = ConfigStoreMemory.layer({
  location: "/etc/machina",
  host: { storage: {}, network: {} },
  machines: { web: { description: "Web server" }, db: {}, broken: "{ nope" }
})
const simulated = (units: ReadonlyArray<SystemdMemory.UnitDefinition>) =>
  Layer.merge(host, SystemdMemory.layer({ units }))

describe("list", () => {
  it.effect("shows every machine with its unit state and the real load error", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["list"], simulated([{ name: "machina-web.service", activeState: "active" }]))
      expect(r.exitCode).toBe(0)
      const lines = r.stdout.trimEnd().split("\n")
      expect(lines[0]).toMatch(/^broken  not-found  inactive\/dead\s*: \/etc\/machina\/machine\.conf\.d\/broken\.conf\.json: \$: invalid JSON/)
      expect(lines[1]).toMatch(/^db      not-found  inactive\/dead\s*$/)
      expect(lines[2]).toMatch(/^web     loaded     active\/running\s+\d*s?\s+\(Web server\)$/)
    }))

  it.effect("still lists machines when systemd cannot be reached, and says so", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["list"], Layer.merge(host, SystemdMemory.layer({ available: false })))
      expect(r.exitCode).toBe(0)
      expect(r.stderr).toMatch(/^machina: warning: unit states unknown: /)
      expect(r.stdout).toBe("broken: /etc/machina/machine.conf.d/broken.conf.json: $: invalid JSON (line 1, column 3): unexpected \"n\"\ndb    \nweb     (Web server)\n")
    }))

  it("renders durations like the original (cli.md §3.4)", () => {
    const now = 1_000_000_000_000_000
    const status = (activeState: string, subState: string, since: number) => ({
      name: "u", loadState: "loaded", activeState, subState, mainPid: 0, result: "", description: "",
      activeEnterTimestamp: since, activeExitTimestamp: 0, inactiveEnterTimestamp: since, inactiveExitTimestamp: 0
    })
    const text = renderList([
      { name: "dev-box", unit: "", status: status("inactive", "dead", now - (51 * 3600 + 4 * 60 + 5) * 1e6), description: "Dev box", error: undefined },
      { name: "test-vm", unit: "", status: status("active", "running", now - (3 * 3600 + 25 * 60 + 7.4) * 1e6), description: "Test VM (2023-04-27)", error: undefined },
      { name: "web01", unit: "", status: { ...status("inactive", "dead", 0), loadState: "not-found" }, description: "", error: undefined }
    ], now, false)
    expect(text).toBe(
      "dev-box  loaded     inactive/dead     51h4m5s  (Dev box)\n" +
        "test-vm  loaded     active/running    3h25m7s  (Test VM (2023-04-27))\n" +
        "web01    not-found  inactive/dead            "
    )
  })
})

describe("unit lifecycle", () => {
  it.effect("enable, start, status, stop, disable", () =>
    Effect.gen(function*() {
      const layer = Layer.provideMerge(simulated([{ name: "machina-web.service" }]), Layer.empty)
      yield* Effect.gen(function*() {
        const run = (...args: Array<string>) => runCli(args)
        const control = yield* SystemdMemory.SystemdMemoryControl
        const reloads = yield* control.reloads
        const enabled = yield* run("enable", "web")
        expect(enabled.stdout).toMatch(/^Created symlink .*machina-web\.service/)
        // Like systemctl enable: the manager is reloaded so it sees the new WantedBy link.
        expect(yield* control.reloads).toBe(reloads + 1)
        expect((yield* run("start", "web")).stdout).toBe("web: started\n")
        const status = yield* run("status", "web")
        expect(status.exitCode).toBe(0)
        expect(status.stdout).toMatch(/^web: machina-web\.service  loaded  active\/running/)
        yield* control.script("machina-web.service", "stop", "failed")
        const stop = yield* run("stop", "web")
        expect(stop.exitCode).toBe(1)
        expect(stop.stderr).toBe("web: failed to stop: job failed\n")
        expect((yield* run("disable", "web")).stdout).toMatch(/^Removed .*machina-web\.service/)
        expect(yield* control.reloads).toBe(reloads + 2)
        expect((yield* run("status", "nope")).stderr).toMatch(/nope\.conf\.json: file not found/)
      }).pipe(Effect.provide(layer))
    }))

  it.effect("status exits 3 for an inactive unit whatever the output format", () =>
    Effect.gen(function*() {
      const text = yield* runCli(["status", "web"])
      expect(text.exitCode).toBe(3)
      expect(text.stdout).toMatch(/^web: machina-web\.service  loaded  inactive\/dead/)
      const json = yield* runCli(["status", "--format", "json", "web"])
      expect(json.exitCode).toBe(3)
      expect(JSON.parse(json.stdout)).toMatchObject([{ name: "web", unit: "machina-web.service", role: "qemu", "active-state": "inactive" }])
    }).pipe(Effect.provide(simulated([{ name: "machina-web.service" }]))))
})

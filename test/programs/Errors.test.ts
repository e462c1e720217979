/**
 * Errors a new user meets, each with the path or name at fault and the next step: machines that
 * are not running, unknown machines, a missing configuration or unit directory, units not
 * generated, forced shutdowns, empty hosts. Simulated hosts (in-memory layers) or the example
 * configuration on disk.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as NetLinksMemory from "../../src/layers/NetLinksMemory.js"
import * as QmpMemory from "../../src/layers/QmpMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { explain } from "../../src/programs/Lifecycle.js"
import { withRootHint } from "../../src/programs/Network.js"
import { SystemdTimeoutError, SystemdUnitNotFoundError } from "../../src/services/Systemd.js"
import { runCli } from "../support/Cli.js"

const store = ConfigStoreMemory.layer({
  location: "/etc/machina",
  host: { storage: {}, network: {} },
  machines: { "test-vm": { attrs: { memory: { ram: 512 }, qmp: { enabled: true } } } }
})
const host = (units: ReadonlyArray<SystemdMemory.UnitDefinition>) =>
  Layer.mergeAll(store, SystemdMemory.layer({ units }), QmpMemory.layer)
const stopped = host([{ name: "machina-test-vm.service", activeState: "inactive" }])

describe("a machine that is not running", () => {
  for (const argv of [["query", "cpu", "test-vm"], ["query", "pci", "--format", "json", "test-vm"], ["observe", "test-vm"], ["shutdown", "test-vm"]]) {
    it.effect(`${argv.join(" ")}: says so on stderr, prints nothing, exits 1`, () =>
      Effect.gen(function*() {
        const r = yield* runCli(argv, stopped)
        expect(r.stdout).toBe("")
        expect(r.stderr).toMatch(/^test-vm is not running \(machina-test-vm\.service is inactive\)\n/)
        expect(r.exitCode).toBe(1)
      }))
  }

  it.effect("without systemd's word, names the missing socket", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["query", "cpu", "test-vm"], Layer.mergeAll(store, SystemdMemory.layer({ available: false }), QmpMemory.layer))
      expect(r.stderr).toMatch(/^test-vm is not running \(no QMP socket at \/run\/machina\/test-vm\/command\.0\.qmp\.socket\)\n/)
      expect(r.exitCode).toBe(1)
    }))

  it.effect("with no unit at all, says how to make one", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["query", "cpu", "test-vm"], host([]))
      expect(r.stderr).toMatch(/^test-vm is not running \(machina-test-vm\.service does not exist; run: machina generate test-vm\)\n/)
    }))
})

describe("shutdown", () => {
  it.effect("exits 4 when the guest had to be stopped with quit, 0 when it powered off", () =>
    Effect.gen(function*() {
      const sim = yield* QmpMemory.QmpSimulator
      const sockets = ["/run/machina/test-vm/command.0.qmp.socket", "/run/machina/test-vm/command.1.qmp.socket"]
      yield* sim.addMachine({ sockets, guest: { onPowerdown: "ignore" } })
      const layer = Layer.mergeAll(store, SystemdMemory.layer({ units: [{ name: "machina-test-vm.service", activeState: "active" }] }), Layer.succeedContext(yield* Effect.context<QmpMemory.QmpSimulator>()))
      const fiber = yield* Effect.fork(runCli(["shutdown", "--timeout", "3s", "test-vm"], layer))
      yield* TestClock.adjust("4 seconds")
      const forced = yield* Fiber.join(fiber)
      expect(forced.exitCode).toBe(4)
      expect(forced.stdout).toContain("test-vm: Timeout expired. Sending QUIT message.\n")
      expect(forced.stderr).toBe("machina: test-vm did not power off in time and was stopped with quit\n")

      yield* sim.addMachine({ sockets, guest: { onPowerdown: "poweroff" } })
      const graceful = yield* Effect.fork(runCli(["shutdown", "--timeout", "3s", "test-vm"], layer))
      yield* TestClock.adjust("1 second")
      const r = yield* Fiber.join(graceful)
      expect(r.exitCode).toBe(0)
      expect(r.stdout).toContain("test-vm: QMP socket closed. Shutdown complete.\n")
    }).pipe(Effect.provide(QmpMemory.layer)))
})

describe("configuration errors name paths and next steps", () => {
  it.effect("an unknown machine: the known ones", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["--config-dir", "examples/seed", "cat", "nope"])
      expect(r.stderr).toBe("machina: error: examples/seed/machine.conf.d/nope.conf.json: file not found (known machines: test-vm)\n")
      expect(r.exitCode).toBe(1)
    }))

  it.effect("a configuration directory that does not exist: the path and --config-dir", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["--config-dir", "/nonexistent/machina", "list"], SystemdMemory.layer({}))
      expect(r.stderr).toBe(
        "machina: error: /nonexistent/machina/machine.conf.d: file not found (configuration directory /nonexistent/machina does not exist; check --config-dir or MACHINA_CONFIG_DIR)\n"
      )
      expect(r.exitCode).toBe(1)
    }))

  it.effect("generate into a unit directory that does not exist", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["--config-dir", "examples/seed", "generate", "--unit-dir", "/nonexistent/units", "test-vm"])
      expect(r.stderr).toBe("machina: error: unit directory /nonexistent/units does not exist (create it, or choose another with --unit-dir or MACHINA_UNIT_DIR)\n")
      expect(r.exitCode).toBe(1)
    }))

  it.effect("start of a machine without a unit: machina generate", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["start", "test-vm"], host([]))
      expect(r.stderr).toMatch(/^test-vm: failed to start: unit machina-test-vm\.service not found: .*; create the unit with: machina generate test-vm\n/)
      expect(r.exitCode).toBe(1)
    }))

  it("a stop that timed out goes on in systemd", () => {
    const e = new SystemdTimeoutError({ operation: "stop", unit: "machina-test-vm.service", timeoutMillis: 120000 })
    expect(explain(e, "test-vm", "stop")).toBe(
      "systemd stop machina-test-vm.service did not finish within 120000 ms; the stop job goes on in systemd (see: machina status test-vm)"
    )
    expect(explain(new SystemdUnitNotFoundError({ unit: "u", detail: "x" }), "vm", "start")).toMatch(/machina generate vm$/)
  })
})

describe("cat and list", () => {
  it.effect("cat without arguments shows every machine", () =>
    Effect.gen(function*() {
      const all = yield* runCli(["--config-dir", "examples/seed", "cat"])
      const one = yield* runCli(["--config-dir", "examples/seed", "cat", "test-vm"])
      expect(all.exitCode).toBe(0)
      expect(all.stdout).toBe(one.stdout)
      expect(all.stdout).not.toBe("")
    }))

  it.effect("list on an empty host says so", () =>
    Effect.gen(function*() {
      const empty = Layer.merge(
        ConfigStoreMemory.layer({ location: "/etc/machina", host: { storage: {}, network: {} }, machines: {} }),
        SystemdMemory.layer({})
      )
      const r = yield* runCli(["list"], empty)
      expect(r.exitCode).toBe(0)
      expect(r.stdout).toBe("No machines: /etc/machina/machine.conf.d has no *.conf.json files (see: machina help new)\n")
      expect((yield* runCli(["list", "--format", "json"], empty)).stdout).toBe("[]\n")
      // cat as well: an empty array, nothing on stderr, success.
      expect(yield* runCli(["cat", "--format", "json"], empty)).toEqual({ stdout: "[]\n", stderr: "", exitCode: 0 })
    }))
})

describe("connect", () => {
  it.effect("a missing bridge: the network's name and its device", () =>
    Effect.gen(function*() {
      const layer = Layer.mergeAll(
        ConfigStoreMemory.layer({
          location: "/etc/machina",
          host: { storage: {}, network: { lan: { device: "br9" } } },
          machines: { web: { attrs: { memory: { ram: 512 } }, connections: [{ name: "0", network: "lan" }] } }
        }),
        NetLinksMemory.layer({ links: [{ name: "web.0" }] })
      )
      const r = yield* runCli(["connect", "web"], layer)
      expect(r.exitCode).toBe(1)
      expect(r.stderr).toMatch(
        /^web\.0: failed: bridge "br9" of network "lan" does not exist \(create it, or fix network\.lan\.device in \/etc\/machina\/machina\.conf\.json\)\n/
      )
    }))

  it("a refusal for lack of privileges says it needs root", () => {
    expect(withRootHint("ip link set dev web.0 up exited 2: RTNETLINK answers: Operation not permitted")).toBe(
      "ip link set dev web.0 up exited 2: RTNETLINK answers: Operation not permitted (needs root (CAP_NET_ADMIN): run with sudo)"
    )
    expect(withRootHint("link \"x\" not found")).toBe("link \"x\" not found")
  })
})

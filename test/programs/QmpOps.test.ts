import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as QmpMemory from "../../src/layers/QmpMemory.js"
import { QmpSimulator, type SimulatedMachineOptions } from "../../src/layers/QmpMemory.js"
import * as QmpOps from "../../src/programs/QmpOps.js"
import { captureConsole } from "../support/Cli.js"
import { Qmp } from "../../src/services/Qmp.js"

// --- Console capture -------------------------------------------------------

const capture = captureConsole

// --- Simulated host --------------------------------------------------------

const sockets = (machine: string) => [
  `/run/machina/${machine}/command.0.qmp.socket`,
  `/run/machina/${machine}/command.1.qmp.socket`
]

const target = (machine: string): QmpOps.QmpTarget => ({ machine, sockets: sockets(machine) })

const addMachine = (machine: string, options: Omit<SimulatedMachineOptions, "sockets"> = {}) =>
  Effect.flatMap(QmpSimulator, (sim) => sim.addMachine({ sockets: sockets(machine), ...options }))

const simulated = <A, E>(effect: Effect.Effect<A, E, Qmp | QmpSimulator>) =>
  effect.pipe(Effect.provide(QmpMemory.layer))

/** Lets every fiber run until all wait on the clock or on I/O. */
const settle = TestClock.adjust(0)

const options = (o: Partial<QmpOps.ShutdownOptions>): QmpOps.ShutdownOptions => ({
  ...QmpOps.defaultShutdownOptions,
  ...o
})

const SHUTDOWN_GUEST = `SHUTDOWN: {"guest": true, "reason": "guest-shutdown"}`
const SHUTDOWN_QUIT = `SHUTDOWN: {"guest": false, "reason": "host-qmp-quit"}`

describe("shutdown", () => {
  it.effect("issues the command once without waiting", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      const vm = yield* addMachine("test-vm", { guest: { onPowerdown: "poweroff", delay: "1 second" } })
      yield* QmpOps.shutdown([target("test-vm")], options({})).pipe(Effect.withConsole(c.console))
      assert.deepStrictEqual(c.out, ["test-vm: Issued shutdown command."])
      const commands = (yield* vm.commands).map((x) => x.command)
      assert.deepStrictEqual(commands, ["qmp_capabilities", "system_powerdown"])
      assert.deepStrictEqual((yield* vm.commands)[0]?.arguments, `{"enable":["oob"]}`)
    })))

  it.effect("waits for a graceful power-off and prints events as received", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      yield* addMachine("test-vm", { guest: { onPowerdown: "poweroff", delay: "2 seconds" } })
      const fiber = yield* Effect.fork(
        QmpOps.shutdown([target("test-vm")], options({ wait: true })).pipe(Effect.withConsole(c.console))
      )
      yield* settle
      assert.deepStrictEqual(c.out, ["test-vm: Issued shutdown command.", "test-vm: POWERDOWN"])
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(c.out, [
        "test-vm: Issued shutdown command.",
        "test-vm: POWERDOWN",
        `test-vm: ${SHUTDOWN_GUEST}`,
        "test-vm: QMP socket closed. Shutdown complete."
      ])
    })))

  it.effect("repeats the powerdown every `repeat` until the machine stops", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      const vm = yield* addMachine("test-vm", { guest: { onPowerdown: "ignore" } })
      const fiber = yield* Effect.fork(
        QmpOps.shutdown([target("test-vm")], options({ wait: true, repeat: Duration.seconds(5) })).pipe(
          Effect.withConsole(c.console)
        )
      )
      yield* settle
      yield* TestClock.adjust("4999 millis")
      const powerdowns = () =>
        Effect.map(vm.commands, (cs) => cs.filter((x) => x.command === "system_powerdown").map((x) => x.at))
      assert.deepStrictEqual(yield* powerdowns(), [0])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* powerdowns(), [0, 5000])
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* powerdowns(), [0, 5000, 10000, 15000])
      yield* vm.powerOff
      yield* Fiber.join(fiber)
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* powerdowns(), [0, 5000, 10000, 15000])
      assert.deepStrictEqual(c.out, [
        "test-vm: Issued shutdown command.",
        "test-vm: POWERDOWN",
        "test-vm: POWERDOWN",
        "test-vm: POWERDOWN",
        "test-vm: POWERDOWN",
        `test-vm: ${SHUTDOWN_GUEST}`,
        "test-vm: QMP socket closed. Shutdown complete."
      ])
    })))

  it.effect("a zero repeat sends the powerdown once", () =>
    simulated(Effect.gen(function*() {
      const vm = yield* addMachine("test-vm", { guest: { onPowerdown: "ignore" } })
      const fiber = yield* Effect.fork(
        QmpOps.shutdown([target("test-vm")], options({ wait: true, repeat: Duration.zero })).pipe(
          Effect.withConsole(capture().console)
        )
      )
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* vm.commands).filter((x) => x.command === "system_powerdown").length, 1)
      yield* vm.kill
      yield* Fiber.join(fiber)
    })))

  it.effect("sends quit at the timeout, and the machine exits", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      const vm = yield* addMachine("test-vm", { guest: { onPowerdown: "ignore" } })
      const fiber = yield* Effect.fork(
        QmpOps.shutdown(
          [target("test-vm")],
          options({ timeout: Option.some(Duration.seconds(12)), repeat: Duration.seconds(5) })
        ).pipe(Effect.withConsole(c.console))
      )
      yield* TestClock.adjust("11999 millis")
      assert.isTrue(yield* vm.running)
      yield* TestClock.adjust("1 millis")
      // Stopped, but only by quit: a distinct failure, so scripts can tell it from a power-off.
      const forced = yield* Effect.flip(Fiber.join(fiber))
      assert.isTrue(forced.forcedOnly)
      assert.strictEqual(forced.message, "test-vm did not power off in time and was stopped with quit")
      assert.deepStrictEqual(yield* vm.exitedAt, 12000)
      const sent = (yield* vm.commands).map((x) => `${x.at}:${x.command}`)
      assert.deepStrictEqual(sent, [
        "0:qmp_capabilities",
        "0:system_powerdown",
        "5000:system_powerdown",
        "10000:system_powerdown",
        "12000:quit"
      ])
      assert.deepStrictEqual(c.out, [
        "test-vm: Issued shutdown command.",
        "test-vm: POWERDOWN",
        "test-vm: POWERDOWN",
        "test-vm: POWERDOWN",
        "test-vm: Timeout expired. Sending QUIT message.",
        `test-vm: ${SHUTDOWN_QUIT}`,
        "test-vm: QMP socket closed. Shutdown complete."
      ])
    })))

  it.effect("fails after the grace period when QEMU does not exit after quit", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      const vm = yield* addMachine("stuck", { guest: { onPowerdown: "ignore" }, onQuit: "hang" })
      const fiber = yield* Effect.fork(
        QmpOps.shutdown(
          [target("stuck")],
          options({ timeout: Option.some(Duration.seconds(3)), grace: Duration.seconds(10) })
        ).pipe(Effect.withConsole(c.console))
      )
      yield* TestClock.adjust("3 seconds")
      assert.include(c.out, "stuck: Timeout expired. Sending QUIT message.")
      yield* TestClock.adjust("9999 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      assert(Exit.isFailure(exit))
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error._tag, "ShutdownFailedError")
      assert.deepStrictEqual(error.failures.map((f) => f.machine), ["stuck"])
      assert.strictEqual(error.message, "shutdown failed for stuck")
      assert.isFalse(error.forcedOnly)
      assert.strictEqual(c.err.at(-1), "stuck: QEMU did not exit within 10s after QUIT.")
      assert.isTrue(yield* vm.running)
    })))

  it.effect("handles machines concurrently and fails listing those that could not be reached", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      const a = yield* addMachine("a", { guest: { onPowerdown: "poweroff", delay: "3 seconds" } })
      const b = yield* addMachine("b", { guest: { onPowerdown: "poweroff", delay: "1 second" } })
      const fiber = yield* Effect.fork(
        QmpOps.shutdown(
          [target("a"), { machine: "noqmp", sockets: undefined }, target("b"), target("gone")],
          options({ wait: true })
        ).pipe(Effect.withConsole(c.console))
      )
      yield* TestClock.adjust("3 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.deepStrictEqual(error.failures.map((f) => f.machine), ["noqmp", "gone"])
      assert.deepStrictEqual(yield* a.exitedAt, 3000)
      assert.deepStrictEqual(yield* b.exitedAt, 1000)
      assert.include(c.err, "noqmp: Failed to issue shutdown command: no QMP socket available.")
      assert.include(c.err, "gone is not running (no QMP socket at /run/machina/gone/command.0.qmp.socket)")
      // b finished first although it was listed after a.
      assert.isBelow(
        c.out.indexOf("b: QMP socket closed. Shutdown complete."),
        c.out.indexOf("a: QMP socket closed. Shutdown complete.")
      )
    })))

  it.effect("moves to the second socket when the first is busy (greeting timeout)", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      yield* addMachine("test-vm")
      const qmp = yield* Qmp
      // Another client holds command.0: QEMU serves one client per socket.
      yield* Effect.forkScoped(Effect.scoped(Effect.zipRight(qmp.connect([sockets("test-vm")[0]!]), Effect.never)))
      yield* settle
      const fiber = yield* Effect.fork(QmpOps.shutdown([target("test-vm")], options({})).pipe(Effect.withConsole(c.console)))
      yield* TestClock.adjust("999 millis")
      assert.deepStrictEqual(c.out, [])
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(c.out, ["test-vm: Issued shutdown command."])
    }).pipe(Effect.scoped)))

  it.effect("reports a refused powerdown (capabilities not negotiated on the monitor)", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      yield* addMachine("test-vm", {
        refuseCapabilities: { errorClass: "GenericError", desc: "Capability 'oob' not available" }
      })
      const error = yield* Effect.flip(QmpOps.shutdown([target("test-vm")], options({})).pipe(Effect.withConsole(c.console)))
      assert.strictEqual(error._tag, "ShutdownFailedError")
      assert.match(c.err[0]!, /^test-vm: Failed to issue shutdown command: could not establish QMP session: capabilities negotiation failed on .*: GenericError error: Capability 'oob' not available$/)
    })))
})

describe("observe", () => {
  it.effect("prints the banner, events and the close, as text", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      const vm = yield* addMachine("test-vm")
      const fiber = yield* Effect.fork(QmpOps.observe([target("test-vm")], { format: "text" }).pipe(Effect.withConsole(c.console)))
      yield* settle
      yield* vm.emit("STOP")
      yield* vm.emit("BLOCK_IO_ERROR", `{"device": "", "nospace": false, "node-name": "disk0", "reason": "x", "operation": "write", "action": "stop"}`)
      yield* vm.powerOff
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(c.out, [
        "Connected to test-vm (qemu 7.2.0 / Debian 1:7.2+dfsg-7, capabilities: [oob])",
        "test-vm: STOP",
        `test-vm: BLOCK_IO_ERROR: {"device": "", "nospace": false, "node-name": "disk0", "reason": "x", "operation": "write", "action": "stop"}`,
        `test-vm: ${SHUTDOWN_GUEST}`,
        "test-vm: QMP socket closed."
      ])
    })))

  it.effect("prints JSON lines on stdout and status on stderr; fails for unreachable machines", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      const vm = yield* addMachine("test-vm")
      const fiber = yield* Effect.fork(
        QmpOps.observe([target("test-vm"), target("missing"), { machine: "off", sockets: [] }], { format: "json" }).pipe(
          Effect.withConsole(c.console)
        )
      )
      yield* TestClock.adjust("1500 millis")
      yield* vm.powerOff
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "ObserveFailedError")
      assert.deepStrictEqual(error.failures.map((f) => f.machine), ["missing", "off"])
      assert.deepStrictEqual(c.out.map((l) => JSON.parse(l) as unknown), [
        {
          name: "test-vm",
          event: "SHUTDOWN",
          data: { guest: true, reason: "guest-shutdown" },
          timestamp: "1970-01-01T00:00:01.500000Z"
        }
      ])
      assert.include(c.err, "Cannot observe off: no QMP socket available")
      assert.include(c.err, "test-vm: QMP socket closed.")
    })))

  it.effect("stops on interruption, printing the close", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      yield* addMachine("test-vm")
      const fiber = yield* Effect.fork(QmpOps.observe([target("test-vm")], { format: "text" }).pipe(Effect.withConsole(c.console)))
      yield* settle
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(c.out.at(-1), "test-vm: QMP socket closed.")
    })))
})

describe("query", () => {
  const PCI = `[{"bus": 0, "devices": [{"slot": 1, "id": {"10": 1, "device": 4918}, "regions": []}]}]`

  it.effect("prints each machine's answer re-indented with tabs, in target order", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      yield* addMachine("a", { returns: { "query-pci": PCI } })
      yield* addMachine("b")
      yield* QmpOps.query([target("a"), target("b")], "pci", { format: "text" }).pipe(Effect.withConsole(c.console))
      assert.strictEqual(
        c.out[0],
        `----a----
[
	{
		"bus": 0,
		"devices": [
			{
				"slot": 1,
				"id": {
					"10": 1,
					"device": 4918
				},
				"regions": []
			}
		]
	}
]`
      )
      assert.match(c.out[1]!, /^----b----\n\[\n\t\{\n\t\t"bus": 0,/)
    })))

  it.effect("runs query-cpus-fast for cpu and prints one JSON document", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      const vm = yield* addMachine("a")
      yield* addMachine("b", { returns: { "query-cpus-fast": `[{"cpu-index": 0}, {"cpu-index": 1}]` } })
      yield* QmpOps.query([target("a"), target("b")], "cpu", { format: "json" }).pipe(Effect.withConsole(c.console))
      assert.strictEqual(c.out.length, 1)
      const doc = JSON.parse(c.out[0]!) as Record<string, ReadonlyArray<Record<string, unknown>>>
      assert.deepStrictEqual(Object.keys(doc), ["a", "b"])
      assert.strictEqual(doc["a"]?.[0]?.["target"], "x86_64")
      assert.deepStrictEqual(doc["b"], [{ "cpu-index": 0 }, { "cpu-index": 1 }])
      assert.deepStrictEqual((yield* vm.commands).map((x) => x.command), ["qmp_capabilities", "query-cpus-fast"])
    })))

  it.effect("fails listing the machines that could not be queried", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      yield* addMachine("a")
      yield* addMachine("broken", { returns: {}, unanswered: [] })
      const sim = yield* QmpSimulator
      yield* sim.addStaleSocket("/run/machina/stale/command.0.qmp.socket")
      const error = yield* Effect.flip(
        QmpOps.query(
          [target("a"), { machine: "off", sockets: undefined }, { machine: "stale", sockets: ["/run/machina/stale/command.0.qmp.socket"] }],
          "pci",
          { format: "text" }
        ).pipe(Effect.withConsole(c.console))
      )
      assert.deepStrictEqual(error.failures.map((f) => f.machine), ["off", "stale"])
      // Failures go to stderr; only answers are output.
      assert.strictEqual(c.out.length, 1)
      assert.match(c.out[0]!, /^----a----\n/)
      assert.deepStrictEqual(c.err, [
        "Cannot query off: no QMP socket available",
        "stale is not running (nothing listens on /run/machina/stale/command.0.qmp.socket)"
      ])
    })))

  it.effect("bounds a command that is never answered", () =>
    simulated(Effect.gen(function*() {
      const c = capture()
      yield* addMachine("a", { unanswered: ["query-pci"] })
      const fiber = yield* Effect.fork(
        QmpOps.query([target("a")], "pci", { format: "text", connect: { commandTimeout: "5 seconds" } }).pipe(
          Effect.withConsole(c.console)
        )
      )
      yield* TestClock.adjust("5 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "QueryFailedError")
      assert.deepStrictEqual(c.err, ["Failed to query a: no reply to query-pci within 5s"])
      assert.deepStrictEqual(c.out, [])
    })))
})

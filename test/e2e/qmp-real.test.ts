/**
 * QMP against real QEMU 7.2 under TCG: the tiny ACPI guest for graceful
 * shutdowns, QEMU without a guest (`-S`) for the rest.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import * as QmpUnixSocket from "../../src/layers/QmpUnixSocket.js"
import * as QmpOps from "../../src/programs/QmpOps.js"
import { Qmp } from "../../src/services/Qmp.js"
import { type QemuProcess, type QemuSpawnOptions, startQemu } from "../support/QemuProcess.js"
import { captureConsole } from "../support/Cli.js"
import { parseValid } from "../support/JsonSchema.js"
import { ensureTinyGuest, GUEST_READY, type TinyGuest } from "../support/TinyGuest.js"

let guest: TinyGuest

beforeAll(async () => {
  guest = await ensureTinyGuest()
}, 300_000)

const capture = captureConsole

const qemu = (options: QemuSpawnOptions): Effect.Effect<QemuProcess, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.promise(() => startQemu(options)), (q) => Effect.promise(() => q.cleanup()))

const bootedGuest = Effect.gen(function*() {
  const q = yield* qemu({ guest })
  yield* Effect.promise(() => q.waitForMarker(GUEST_READY, 45_000))
  return q
})

const commandSockets = (q: QemuProcess) => [q.sockets.command0, q.sockets.command1]

const waitOptions = (timeout: Duration.Duration, grace = Duration.seconds(10)): QmpOps.ShutdownOptions => ({
  ...QmpOps.defaultShutdownOptions,
  wait: true,
  timeout: Option.some(timeout),
  grace
})

const real = <A, E>(effect: Effect.Effect<A, E, Qmp | Scope.Scope>) => effect.pipe(Effect.provide(QmpUnixSocket.layer))

const SHUTDOWN_GUEST = `SHUTDOWN: {"guest": true, "reason": "guest-shutdown"}`

describe("QMP with real QEMU (TCG)", () => {
  it.scopedLive("shutdown powers the tiny guest off through ACPI and returns promptly", () =>
    real(Effect.gen(function*() {
      const q = yield* bootedGuest
      const c = capture()
      yield* QmpOps.shutdown([{ machine: "test-vm", sockets: commandSockets(q) }], waitOptions(Duration.seconds(30)))
        .pipe(Effect.withConsole(c.console))
      const returned = performance.now()
      const exit = yield* Effect.promise(() => q.exited)
      assert.strictEqual(exit.code, 0)
      assert.deepStrictEqual(c.out, [
        "test-vm: Issued shutdown command.",
        "test-vm: POWERDOWN",
        `test-vm: ${SHUTDOWN_GUEST}`,
        "test-vm: QMP socket closed. Shutdown complete."
      ])
      assert.isBelow(Math.abs(returned - exit.at), 500)
    })))

  it.scopedLive("a guest ignoring ACPI gets quit at the timeout and shutdown returns within timeout + grace", () =>
    real(Effect.gen(function*() {
      const q = yield* qemu({})
      const c = capture()
      const started = performance.now()
      const forced = yield* Effect.flip(QmpOps.shutdown(
        [{ machine: "deaf", sockets: [q.sockets.systemd0] }],
        waitOptions(Duration.seconds(1), Duration.seconds(5))
      ).pipe(Effect.withConsole(c.console)))
      // Stopped, but by quit: a distinct failure (exit status 4 from the CLI).
      assert.isTrue(forced.forcedOnly)
      const elapsed = performance.now() - started
      assert.isAtLeast(elapsed, 1000)
      assert.isBelow(elapsed, 6000)
      assert.strictEqual(c.out[0], "deaf: Issued shutdown command.")
      assert.includeMembers(c.out, [
        "deaf: Timeout expired. Sending QUIT message.",
        `deaf: SHUTDOWN: {"guest": false, "reason": "host-qmp-quit"}`,
        "deaf: QMP socket closed. Shutdown complete."
      ])
      assert.strictEqual(c.out.at(-1), "deaf: QMP socket closed. Shutdown complete.")
      assert.strictEqual((yield* Effect.promise(() => q.exited)).code, 0)
    })))

  it.scopedLive("observe --format json: one schema-valid object per event, with QEMU's time in ISO 8601", () =>
    real(Effect.gen(function*() {
      const q = yield* qemu({})
      const watch = capture()
      const observer = yield* Effect.fork(
        QmpOps.observe([{ machine: "deaf", sockets: commandSockets(q) }], { format: "json" }).pipe(Effect.withConsole(watch.console))
      )
      // The banner goes to stderr in JSON mode: stdout carries only events.
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => watch.err.length > 0 }), Effect.timeout("10 seconds"))
      assert.match(watch.err[0]!, /^Connected to deaf /)
      const before = Date.now()
      yield* Effect.flip(QmpOps.shutdown([{ machine: "deaf", sockets: [q.sockets.systemd0] }], waitOptions(Duration.seconds(1), Duration.seconds(5)))
        .pipe(Effect.withConsole(capture().console)))
      yield* Fiber.join(observer).pipe(Effect.timeout("10 seconds"))
      const events = watch.out.map((line) => parseValid<{ name: string; event: string; data?: unknown; timestamp?: string }>("observe", line))
      assert.deepStrictEqual(events.map((e) => [e.name, e.event]), [["deaf", "POWERDOWN"], ["deaf", "SHUTDOWN"]])
      assert.deepStrictEqual(events[1]!.data, { guest: false, reason: "host-qmp-quit" })
      assert.notProperty(events[0]!, "data") // POWERDOWN has none: omitted, not null
      for (const e of events) assert.isAtLeast(Date.parse(e.timestamp!), before - 5000)
    })))

  it.scopedLive("observe sees POWERDOWN and SHUTDOWN while shutdown falls back to the second socket", () =>
    real(Effect.gen(function*() {
      const q = yield* bootedGuest
      const watch = capture()
      const observer = yield* Effect.fork(
        QmpOps.observe([{ machine: "test-vm", sockets: commandSockets(q) }], { format: "text" }).pipe(
          Effect.withConsole(watch.console)
        )
      )
      // Wait for the banner: observe now holds command.0.
      yield* Effect.sleep("20 millis").pipe(
        Effect.repeat({ until: () => watch.out.length > 0 }),
        Effect.timeout("10 seconds")
      )
      assert.match(watch.out[0]!, /^Connected to test-vm \(qemu 7\.2\.\d+ \/ .+, capabilities: \[oob\]\)$/)
      const stop = capture()
      const started = performance.now()
      yield* QmpOps.shutdown([{ machine: "test-vm", sockets: commandSockets(q) }], waitOptions(Duration.seconds(30)))
        .pipe(Effect.withConsole(stop.console))
      // command.0 is busy: no greeting within 1 s, then command.1.
      assert.isAtLeast(performance.now() - started, 1000)
      yield* Fiber.join(observer).pipe(Effect.timeout("10 seconds"))
      assert.deepStrictEqual(watch.out.slice(1), [
        "test-vm: POWERDOWN",
        `test-vm: ${SHUTDOWN_GUEST}`,
        "test-vm: QMP socket closed."
      ])
      assert.include(stop.out, "test-vm: QMP socket closed. Shutdown complete.")
    })))

  it.scopedLive("query pci and query cpu return QEMU's data", () =>
    real(Effect.gen(function*() {
      const q = yield* qemu({})
      const targets = [{ machine: "vm", sockets: commandSockets(q) }]
      const text = capture()
      yield* QmpOps.query(targets, "pci", { format: "text" }).pipe(Effect.withConsole(text.console))
      assert.strictEqual(text.out.length, 1)
      assert.match(text.out[0]!, /^----vm----\n\[\n\t\{\n\t\t"bus": 0,\n\t\t"devices": \[\n\t\t\t\{\n/)
      const json = capture()
      yield* QmpOps.query(targets, "cpu", { format: "json" }).pipe(Effect.withConsole(json.console))
      const doc = parseValid<{ vm: Array<Record<string, unknown>> }>("query", json.out[0]!)
      assert.strictEqual(doc.vm.length, 1)
      assert.strictEqual(doc.vm[0]?.["cpu-index"], 0)
      assert.strictEqual(doc.vm[0]?.["target"], "x86_64")
    })))

  it.scopedLive("a QEMU killed in the middle of a command yields a typed error, not a hang", () =>
    real(Effect.gen(function*() {
      const q = yield* qemu({})
      const qmp = yield* Qmp
      const session = yield* qmp.connect(commandSockets(q))
      q.signal("SIGSTOP")
      const pending = yield* Effect.fork(session.execute("query-status"))
      yield* Effect.sleep("200 millis")
      assert.isNull(pending.unsafePoll())
      const killed = performance.now()
      q.signal("SIGKILL")
      const error = yield* Effect.flip(Fiber.join(pending)).pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(error._tag, "QmpConnectionClosedError")
      assert.isBelow(performance.now() - killed, 2000)
    })))

  it.scopedLive("a missing socket yields a clear error", () =>
    real(Effect.gen(function*() {
      const q = yield* qemu({})
      const missing = path.join(q.dir, "nothing.qmp.socket")
      const qmp = yield* Qmp
      const error = yield* Effect.flip(qmp.connect([missing]))
      assert.strictEqual(error._tag, "QmpSocketNotFoundError")
      const c = capture()
      const failed = yield* Effect.flip(
        QmpOps.shutdown([{ machine: "gone", sockets: [missing] }], QmpOps.defaultShutdownOptions).pipe(
          Effect.withConsole(c.console)
        )
      )
      assert.strictEqual(failed.message, "shutdown failed for gone")
      assert.deepStrictEqual(c.err, [`gone is not running (no QMP socket at ${missing})`])
    })))

  it.scopedLive("shuts three machines down concurrently", () =>
    real(Effect.gen(function*() {
      const machines = yield* Effect.all([bootedGuest, bootedGuest, bootedGuest], { concurrency: "unbounded" })
      const c = capture()
      const started = performance.now()
      yield* QmpOps.shutdown(
        machines.map((q, i) => ({ machine: `vm${i}`, sockets: commandSockets(q) })),
        waitOptions(Duration.seconds(30))
      ).pipe(Effect.withConsole(c.console))
      const elapsed = performance.now() - started
      for (const [i, q] of machines.entries()) {
        assert.strictEqual((yield* Effect.promise(() => q.exited)).code, 0)
        assert.include(c.out, `vm${i}: ${SHUTDOWN_GUEST}`)
        assert.include(c.out, `vm${i}: QMP socket closed. Shutdown complete.`)
      }
      assert.isBelow(elapsed, 10_000)
    })))
})

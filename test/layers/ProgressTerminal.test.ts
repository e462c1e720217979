/**
 * The progress line (ProgressTerminal) under the TestClock: what it draws while `shutdown` waits
 * for a guest that ignores ACPI (QmpMemory), how the time left counts down, that output printed
 * meanwhile goes above the line, and that a disabled one (no terminal) writes nothing at all. The
 * recording layer (ProgressMemory) keeps the waits of a whole CLI run.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as ProgressMemory from "../../src/layers/ProgressMemory.js"
import * as ProgressTerminal from "../../src/layers/ProgressTerminal.js"
import * as QmpMemory from "../../src/layers/QmpMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import * as QmpOps from "../../src/programs/QmpOps.js"
import { formatLeft } from "../../src/services/Progress.js"
import { captureConsole, runCli } from "../support/Cli.js"

const sockets = ["/run/machina/vdi/command.0.qmp.socket"]

/** The lines the terminal shows after each write: the text after the last erase. */
const frames = (writes: ReadonlyArray<string>) => writes.map((w) => w.slice(w.lastIndexOf("\x1b[2K") + 4))

describe("ProgressTerminal", () => {
  it("formats the time left as Go does, rounded up to the second", () => {
    assert.strictEqual(formatLeft(72_000), "1m12s")
    assert.strictEqual(formatLeft(71_001), "1m12s")
    assert.strictEqual(formatLeft(5_000), "5s")
    assert.strictEqual(formatLeft(-3), "0s")
    assert.strictEqual(formatLeft(3_600_000 + 61_000), "1h1m1s")
  })

  it.effect("shutdown of a guest that ignores ACPI: counts down to quit, then the grace after quit, then erases", () =>
    Effect.gen(function*() {
      const writes: Array<string> = []
      const progress = ProgressTerminal.make({ enabled: true, write: (t) => writes.push(t), columns: () => 200 })
      const sim = yield* QmpMemory.QmpSimulator
      yield* sim.addMachine({ sockets, guest: { onPowerdown: "ignore" }, onQuit: "hang" })
      const c = captureConsole()
      const fiber = yield* Effect.fork(QmpOps.shutdown([{ machine: "vdi", sockets }], {
        ...QmpOps.defaultShutdownOptions,
        timeout: Option.some(Duration.seconds(72)),
        grace: Duration.seconds(10),
        during: progress.during
      }).pipe(Effect.withConsole(c.console)))
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(frames(writes).at(-1), "shutting down vdi: waiting for the guest to power off (quit in 1m12s)")
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual(frames(writes).at(-1), "shutting down vdi: waiting for the guest to power off (quit in 42s)")
      yield* TestClock.adjust("42 seconds")
      assert.deepStrictEqual(frames(writes).at(-1), "shutting down vdi: waiting for QEMU to exit after quit (10s left)")
      // "Timeout expired" was printed with the line erased before it, and the line drawn again.
      assert.include(c.out, "vdi: Timeout expired. Sending QUIT message.")
      yield* TestClock.adjust("4 seconds")
      assert.deepStrictEqual(frames(writes).at(-1), "shutting down vdi: waiting for QEMU to exit after quit (6s left)")
      yield* TestClock.adjust("6 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "ShutdownFailedError")
      // Nothing is left on the line.
      assert.strictEqual(writes.at(-1), "\r\x1b[2K")
    }).pipe(Effect.provide(QmpMemory.layer)))

  it.effect("concurrent waits share the line, cut to the terminal's width", () =>
    Effect.gen(function*() {
      const writes: Array<string> = []
      const progress = ProgressTerminal.make({ enabled: true, write: (t) => writes.push(t), columns: () => 80 })
      const a = yield* Effect.fork(progress.during({ what: "stopping a: waiting", timeout: "1 minute" }, Effect.sleep("20 seconds")))
      const b = yield* Effect.fork(progress.during({ what: "stopping b: waiting" }, Effect.sleep("30 seconds")))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(frames(writes).at(-1), "stopping a: waiting (55s left); stopping b: waiting (5s so far)")
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(frames(writes).at(-1), "stopping b: waiting (25s so far)")
      yield* Fiber.join(a)
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(b)
      assert.strictEqual(writes.at(-1), "\r\x1b[2K")
      const narrow = ProgressTerminal.make({ enabled: true, write: (t) => writes.push(t), columns: () => 20 })
      yield* narrow.during({ what: "restarting a-long-machine-name: waiting for the restart job" }, Effect.void)
      assert.strictEqual(frames(writes).at(-2), "restarting a-long-…")
    }))

  it.effect("disabled (stderr is not a terminal): writes nothing, output unchanged", () =>
    Effect.gen(function*() {
      const writes: Array<string> = []
      const progress = ProgressTerminal.make({ enabled: false, write: (t) => writes.push(t) })
      const c = captureConsole()
      const fiber = yield* Effect.fork(progress.during({ what: "waiting", timeout: "1 minute" }, Effect.zipRight(Effect.sleep("3 seconds"), Console.log("x"))).pipe(Effect.withConsole(c.console)))
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(writes, [])
      assert.deepStrictEqual(c.out, ["x"])
    }))
})

describe("ProgressMemory in a CLI run", () => {
  it.live("stop records what it waits for, with the job timeout, for as long as the job takes", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["stop", "--timeout", "90s", "vdi"])
      assert.deepStrictEqual(r, { stdout: "vdi: stopped\n", stderr: "", exitCode: 0 })
      const waits = yield* (yield* ProgressMemory.ProgressMemoryControl).waits
      assert.deepStrictEqual(waits.map((w) => [w.wait.what, w.timeoutMillis]), [
        ["stopping vdi: waiting for the guest to power off", 90_000]
      ])
      assert.isAtLeast(waits[0]!.endMillis! - waits[0]!.startMillis, 290)
    }).pipe(Effect.provide(Layer.mergeAll(
      ConfigStoreMemory.layer({ location: "/etc/machina", host: { storage: {}, network: {} }, machines: { vdi: { attrs: { memory: { ram: 512 } } } } }),
      SystemdMemory.layer({ units: [{ name: "machina-vdi.service", activeState: "active", jobDuration: "300 millis" }] }),
      ProgressMemory.layer
    ))))
})

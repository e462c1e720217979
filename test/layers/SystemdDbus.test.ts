/**
 * SystemdDbus against a real systemd (PID 1 of a sandbox, test/support/Sandbox.ts), over its
 * system bus reached from the host at /proc/<pid>/root/run/dbus/system_bus_socket.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { afterAll, beforeAll } from "vitest"
import * as SystemdDbus from "../../src/layers/SystemdDbus.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import * as TestClock from "effect/TestClock"
import { requireJobDone, Systemd } from "../../src/services/Systemd.js"
import { startSandbox } from "../support/Sandbox.js"
import type { Sandbox } from "../support/Sandbox.js"

let sandbox: Sandbox
let runtime: ManagedRuntime.ManagedRuntime<Systemd, never>

const run = <A, E>(effect: Effect.Effect<A, E, Systemd>): Promise<A> => runtime.runPromise(effect)
const runExit = <A, E>(effect: Effect.Effect<A, E, Systemd>): Promise<Exit.Exit<A, E>> =>
  runtime.runPromiseExit(effect)

const failureTag = <A, E>(exit: Exit.Exit<A, E>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  return (failure as { _tag?: string } | undefined)?._tag
}

const unitFile = (lines: ReadonlyArray<string>) => `${lines.join("\n")}\n`

const show = async (unit: string, property: string) =>
  (await sandbox.execOk(["systemctl", "show", "-P", property, unit])).trim()

beforeAll(async () => {
  sandbox = await startSandbox()
  await sandbox.writeFile(
    "/etc/systemd/system/machina-t1.service",
    unitFile([
      "[Unit]",
      "Description=Machina test one",
      "[Service]",
      "ExecStart=/bin/sleep 1000",
      "[Install]",
      "WantedBy=multi-user.target"
    ])
  )
  await sandbox.writeFile(
    "/etc/systemd/system/machina-fails.service",
    unitFile(["[Unit]", "Description=Fails", "[Service]", "Type=oneshot", "ExecStart=/bin/false"])
  )
  await sandbox.writeFile(
    "/etc/systemd/system/machina-flaky.service",
    unitFile([
      "[Unit]",
      "Description=Crashes and restarts",
      "StartLimitIntervalSec=0",
      "[Service]",
      "ExecStart=/bin/sh -c 'sleep 0.3; exit 3'",
      "Restart=on-failure",
      "RestartSec=100ms"
    ])
  )
  await sandbox.writeFile(
    "/etc/systemd/system/machina-slow.service",
    unitFile(["[Service]", "Type=oneshot", "ExecStart=/bin/sleep 3"])
  )
  for (const n of [1, 2, 3]) {
    await sandbox.writeFile(
      `/etc/systemd/system/machina-many${n}.service`,
      unitFile(["[Service]", "ExecStart=/bin/sleep 1000"])
    )
  }
  runtime = ManagedRuntime.make(SystemdDbus.layer({ address: sandbox.busAddress }))
})

afterAll(async () => {
  await runtime?.dispose()
  await sandbox?.stop()
})

describe("SystemdDbus", () => {
  it("reloads, enables, starts, reports, stops and disables a unit", async () => {
    const t0 = Date.now() * 1000
    await run(Effect.flatMap(Systemd, (s) => s.reload()))

    const enabled = await run(Effect.flatMap(Systemd, (s) => s.enable(["machina-t1.service"])))
    assert.isTrue(enabled.carriesInstallInfo)
    assert.deepStrictEqual(enabled.changes, [
      {
        type: "symlink",
        file: "/etc/systemd/system/multi-user.target.wants/machina-t1.service",
        destination: "/etc/systemd/system/machina-t1.service"
      }
    ])
    assert.strictEqual(await show("machina-t1.service", "UnitFileState"), "enabled")

    const [before] = await run(Effect.flatMap(Systemd, (s) => s.units(["machina-t1.service"])))
    assert.deepStrictEqual(
      [before?.loadState, before?.activeState, before?.subState, before?.description, before?.mainPid],
      ["loaded", "inactive", "dead", "Machina test one", 0]
    )

    assert.strictEqual(await run(Effect.flatMap(Systemd, (s) => s.start("machina-t1.service"))), "done")
    const [running] = await run(Effect.flatMap(Systemd, (s) => s.units(["machina-t1.service"])))
    assert.strictEqual(running?.activeState, "active")
    assert.strictEqual(running?.subState, "running")
    assert.isAbove(running?.mainPid ?? 0, 0)
    assert.strictEqual(String(running?.mainPid), await show("machina-t1.service", "MainPID"))
    assert.isAtLeast(running?.activeEnterTimestamp ?? 0, t0 - 5_000_000)
    assert.isAtMost(running?.activeEnterTimestamp ?? 0, Date.now() * 1000 + 5_000_000)
    assert.isAtLeast(running?.inactiveExitTimestamp ?? 0, t0 - 5_000_000)
    assert.strictEqual(running?.activeExitTimestamp, 0)
    assert.strictEqual(running?.result, "success")

    // Restart: a new main process.
    assert.strictEqual(await run(Effect.flatMap(Systemd, (s) => s.restart("machina-t1.service"))), "done")
    const [restarted] = await run(Effect.flatMap(Systemd, (s) => s.units(["machina-t1.service"])))
    assert.strictEqual(restarted?.activeState, "active")
    assert.notStrictEqual(restarted?.mainPid, running?.mainPid)

    assert.strictEqual(await run(Effect.flatMap(Systemd, (s) => s.stop("machina-t1.service"))), "done")
    const [stopped] = await run(Effect.flatMap(Systemd, (s) => s.units(["machina-t1.service"])))
    assert.deepStrictEqual([stopped?.activeState, stopped?.subState, stopped?.mainPid], ["inactive", "dead", 0])
    // (systemd unloads an inactive unit nothing refers to: its timestamps may read 0 again.)

    const disabled = await run(Effect.flatMap(Systemd, (s) => s.disable(["machina-t1.service"])))
    assert.deepStrictEqual(disabled, [
      { type: "unlink", file: "/etc/systemd/system/multi-user.target.wants/machina-t1.service", destination: "" }
    ])
    assert.strictEqual(await show("machina-t1.service", "UnitFileState"), "disabled")
  })

  it("lists units in the order asked, unknown ones as not-found", async () => {
    const statuses = await run(
      Effect.flatMap(Systemd, (s) => s.units(["machina-nope.service", "dbus.service", "basic.target"]))
    )
    assert.deepStrictEqual(
      statuses.map((u) => [u.name, u.loadState, u.activeState]),
      [
        ["machina-nope.service", "not-found", "inactive"],
        ["dbus.service", "loaded", "active"],
        ["basic.target", "loaded", "active"]
      ]
    )
    assert.isAbove(statuses[1]?.mainPid ?? 0, 0)
    assert.strictEqual(statuses[2]?.mainPid, 0)
    assert.strictEqual(statuses[2]?.result, "")
    assert.deepStrictEqual(await run(Effect.flatMap(Systemd, (s) => s.units([]))), [])
  })

  it("reports a unit that fails to start as job result failed", async () => {
    const result = await run(Effect.flatMap(Systemd, (s) => s.start("machina-fails.service")))
    assert.strictEqual(result, "failed")
    const [unit] = await run(Effect.flatMap(Systemd, (s) => s.units(["machina-fails.service"])))
    assert.deepStrictEqual([unit?.activeState, unit?.subState, unit?.result], ["failed", "failed", "exit-code"])
    // A failed unit stays loaded, with its timestamps.
    assert.isAbove(unit?.inactiveExitTimestamp ?? 0, 0)
    assert.isAtLeast(unit?.inactiveEnterTimestamp ?? 0, unit?.inactiveExitTimestamp ?? Infinity)
    assert.strictEqual(unit?.activeEnterTimestamp, 0)
    const exit = await runExit(requireJobDone("machina-fails.service", "start")(result))
    assert.strictEqual(failureTag(exit), "SystemdJobFailedError")
  })

  it("fails with a typed error for an unknown unit", async () => {
    const exit = await runExit(Effect.flatMap(Systemd, (s) => s.start("machina-nope.service")))
    assert.strictEqual(failureTag(exit), "SystemdUnitNotFoundError")
    const enable = await runExit(Effect.flatMap(Systemd, (s) => s.enable(["machina-nope.service"])))
    assert.strictEqual(failureTag(enable), "SystemdUnitNotFoundError")
    const invalid = await run(Effect.flatMap(Systemd, (s) => s.units(["no suffix", "dbus.service"])))
    assert.deepStrictEqual(
      invalid.map((u) => [u.name, u.loadState]),
      [
        ["no suffix", "error"],
        ["dbus.service", "loaded"]
      ]
    )
  })

  it("fails with a typed error for a masked unit", async () => {
    await sandbox.execOk(["systemctl", "mask", "machina-masked.service"])
    const exit = await runExit(Effect.flatMap(Systemd, (s) => s.start("machina-masked.service")))
    assert.strictEqual(failureTag(exit), "SystemdCallError")
    assert.include(String(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.message : ""), "UnitMasked")
  })

  it("bounds the wait for a job", async () => {
    const started = Date.now()
    const exit = await runExit(
      Effect.flatMap(Systemd, (s) => s.start("machina-slow.service", { timeout: Duration.millis(300) }))
    )
    assert.strictEqual(failureTag(exit), "SystemdTimeoutError")
    assert.isBelow(Date.now() - started, 2_500)
  })

  it("tracks concurrent jobs", async () => {
    const names = ["machina-many1.service", "machina-many2.service", "machina-many3.service"]
    const results = await run(
      Effect.flatMap(Systemd, (s) => Effect.forEach(names, (n) => s.start(n), { concurrency: "unbounded" }))
    )
    assert.deepStrictEqual(results, ["done", "done", "done"])
    const stopped = await run(
      Effect.flatMap(Systemd, (s) => Effect.forEach(names, (n) => s.stop(n), { concurrency: "unbounded" }))
    )
    assert.deepStrictEqual(stopped, ["done", "done", "done"])
  })

  it("sees a crashing unit restarted by systemd (Restart=on-failure)", async () => {
    assert.strictEqual(await run(Effect.flatMap(Systemd, (s) => s.start("machina-flaky.service"))), "done")
    const deadline = Date.now() + 10_000
    while (Number(await show("machina-flaky.service", "NRestarts")) < 1) {
      assert.isBelow(Date.now(), deadline, "no restart within 10 s")
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const [unit] = await run(Effect.flatMap(Systemd, (s) => s.units(["machina-flaky.service"])))
    assert.include(["active", "activating"], unit?.activeState)
    assert.strictEqual(await run(Effect.flatMap(Systemd, (s) => s.stop("machina-flaky.service"))), "done")
  })

  it("fails fast with SystemdBusUnavailableError when the bus does not exist", async () => {
    const started = Date.now()
    const exit = await Effect.runPromiseExit(
      Effect.flatMap(Systemd, (s) => s.units(["dbus.service"])).pipe(
        Effect.provide(SystemdDbus.layer({ address: "unix:path=/nonexistent/machina/bus_socket" }))
      )
    )
    assert.strictEqual(failureTag(exit), "SystemdBusUnavailableError")
    assert.isBelow(Date.now() - started, 2_000)
    const timedOut = await Effect.runPromiseExit(
      Effect.flatMap(Systemd, (s) => s.units(["dbus.service"])).pipe(
        Effect.provide(SystemdDbus.layer({ address: "not-an-address" }))
      )
    )
    assert.strictEqual(failureTag(timedOut), "SystemdBusUnavailableError")
  })

  // Last: it restarts the sandbox's bus.
  it("notices a lost bus and reconnects on the next call", async () => {
    assert.strictEqual((await run(Effect.flatMap(Systemd, (s) => s.units(["dbus.service"]))))[0]?.activeState, "active")
    await sandbox.execOk(["systemctl", "stop", "dbus.socket", "dbus.service"])
    const started = Date.now()
    const exit = await runExit(Effect.flatMap(Systemd, (s) => s.units(["dbus.service"])))
    assert.strictEqual(failureTag(exit), "SystemdBusUnavailableError")
    assert.isBelow(Date.now() - started, 6_000)
    await sandbox.execOk(["systemctl", "start", "dbus.socket", "dbus.service"])
    const deadline = Date.now() + 10_000
    for (;;) {
      const again = await runExit(Effect.flatMap(Systemd, (s) => s.units(["dbus.service"])))
      if (Exit.isSuccess(again)) {
        assert.strictEqual(again.value[0]?.activeState, "active")
        break
      }
      assert.isBelow(Date.now(), deadline, "no reconnection within 10 s")
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })
})

describe("SystemdMemory", () => {
  const simulated = SystemdMemory.layer({
    units: [
      { name: "machina-web.service", description: "Web" },
      { name: "machina-db.service", activeState: "active" },
      { name: "machina-masked.service", masked: true }
    ]
  })

  it.effect("simulates jobs, states and timestamps like systemd", () =>
    Effect.gen(function* () {
      const systemd = yield* Systemd
      const control = yield* SystemdMemory.SystemdMemoryControl
      yield* TestClock.adjust("1000 seconds")
      const [web, db, nope, bad] = yield* systemd.units(["machina-web.service", "machina-db.service", "machina-nope.service", "no suffix"])
      assert.deepStrictEqual([web?.loadState, web?.activeState, web?.subState, web?.description], ["loaded", "inactive", "dead", "Web"])
      assert.deepStrictEqual([db?.activeState, db?.subState], ["active", "running"])
      assert.isAbove(db?.mainPid ?? 0, 0)
      assert.deepStrictEqual([nope?.loadState, bad?.loadState], ["not-found", "error"])

      assert.strictEqual(yield* systemd.start("machina-web.service"), "done")
      const [started] = yield* systemd.units(["machina-web.service"])
      assert.deepStrictEqual([started?.activeState, started?.subState, started?.activeEnterTimestamp], ["active", "running", 1_000_000_000])
      assert.isAbove(started?.mainPid ?? 0, 0)

      yield* control.script("machina-web.service", "restart", "failed")
      assert.strictEqual(yield* systemd.restart("machina-web.service"), "failed")
      const [failed] = yield* systemd.units(["machina-web.service"])
      assert.deepStrictEqual([failed?.activeState, failed?.subState, failed?.result, failed?.mainPid], ["failed", "failed", "exit-code", 0])

      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* systemd.start("machina-web.service"), "done")
      assert.strictEqual(yield* systemd.stop("machina-web.service"), "done")
      const [stopped] = yield* systemd.units(["machina-web.service"])
      assert.deepStrictEqual([stopped?.activeState, stopped?.subState, stopped?.inactiveEnterTimestamp], ["inactive", "dead", 1_005_000_000])

      const enabled = yield* systemd.enable(["machina-web.service"])
      assert.deepStrictEqual(enabled, {
        carriesInstallInfo: true,
        changes: [{
          type: "symlink",
          file: "/etc/systemd/system/multi-user.target.wants/machina-web.service",
          destination: "/etc/systemd/system/machina-web.service"
        }]
      })
      assert.isTrue(yield* control.isEnabled("machina-web.service"))
      assert.strictEqual((yield* systemd.disable(["machina-web.service"])).length, 1)
      assert.deepStrictEqual(yield* systemd.disable(["machina-web.service"]), [])
      yield* systemd.reload()
      assert.strictEqual(yield* control.reloads, 1)

      assert.strictEqual((yield* Effect.flip(systemd.start("machina-nope.service")))._tag, "SystemdUnitNotFoundError")
      assert.strictEqual((yield* Effect.flip(systemd.enable(["machina-nope.service"])))._tag, "SystemdUnitNotFoundError")
      assert.strictEqual((yield* Effect.flip(systemd.start("machina-masked.service")))._tag, "SystemdCallError")
      yield* control.setAvailable(false)
      assert.strictEqual((yield* Effect.flip(systemd.units(["machina-web.service"])))._tag, "SystemdBusUnavailableError")
      assert.deepStrictEqual(
        (yield* control.journal).map((e) => `${e.operation} ${e.unit} ${e.result}`),
        [
          "start machina-web.service done",
          "restart machina-web.service failed",
          "start machina-web.service done",
          "stop machina-web.service done",
          "enable machina-web.service done",
          "disable machina-web.service done",
          "reload  done"
        ]
      )
    }).pipe(Effect.provide(simulated)))
})

/**
 * QMP figures against real QEMU (TCG):
 * - `qmp_connect_median_ms`: connect + greeting + capabilities negotiation;
 * - `qmp_roundtrip_median_ms` / `qmp_roundtrip_p95_ms`: one `query-status`;
 * - `qmp_shutdown_after_exit_median_ms`: from QEMU's exit as Node sees it
 *   (the child's `exit` event) to `shutdown --wait` returning (target
 *   < 100 ms); negative when `shutdown` returned (on the socket's EOF) before
 *   Node reaped the child;
 * - `qmp_shutdown_after_event_median_ms`: from QEMU's `SHUTDOWN` event
 *   (its own timestamp, wall clock) to `shutdown` returning: an upper bound
 *   of the same latency, since QEMU exits after emitting it;
 * - `qmp_shutdown_total_median_ms`: the whole `shutdown --wait` of the tiny
 *   ACPI guest (powerdown, guest power-off, exit).
 *
 * Standalone: `node --import tsx bench/qmp.ts` (env `BENCH_QMP_CALLS`,
 * `BENCH_QMP_RUNS` change the sample sizes).
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import * as QmpUnixSocket from "../src/layers/QmpUnixSocket.js"
import * as QmpOps from "../src/programs/QmpOps.js"
import { Qmp } from "../src/services/Qmp.js"
import { type QemuProcess, startQemu } from "../test/support/QemuProcess.js"
import { ensureTinyGuest, GUEST_READY } from "../test/support/TinyGuest.js"

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

const round = (x: number) => Math.round(x * 1000) / 1000

const silent: Console.Console = (() => {
  const noop = () => Effect.void
  return {
    [Console.TypeId]: Console.TypeId,
    assert: noop,
    clear: Effect.void,
    count: noop,
    countReset: noop,
    debug: noop,
    dir: noop,
    dirxml: noop,
    error: noop,
    group: noop,
    groupEnd: Effect.void,
    info: noop,
    log: noop,
    table: noop,
    time: noop,
    timeEnd: noop,
    timeLog: noop,
    trace: noop,
    warn: noop,
    unsafe: globalThis.console
  }
})()

const withQemu = async <A>(q: Promise<QemuProcess>, f: (q: QemuProcess) => Promise<A>): Promise<A> => {
  const qemu = await q
  try {
    return await f(qemu)
  } finally {
    await qemu.cleanup()
  }
}

const envInt = (name: string, fallback: number) => {
  const n = Number(process.env[name])
  return Number.isInteger(n) && n > 0 ? n : fallback
}

export async function benchQmp(): Promise<Record<string, number>> {
  const calls = envInt("BENCH_QMP_CALLS", 300)
  const runs = envInt("BENCH_QMP_RUNS", 3)

  const roundTrips = await withQemu(startQemu({}), (q) =>
    Effect.runPromise(
      Effect.gen(function*() {
        const qmp = yield* Qmp
        const connects: Array<number> = []
        for (let i = 0; i < 20; i++) {
          const t0 = performance.now()
          yield* Effect.scoped(qmp.connect([q.sockets.command0]))
          connects.push(performance.now() - t0)
        }
        const session = yield* qmp.connect([q.sockets.command0])
        for (let i = 0; i < 20; i++) yield* session.execute("query-status")
        const times: Array<number> = []
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now()
          yield* session.execute("query-status")
          times.push(performance.now() - t0)
        }
        return { connects, times }
      }).pipe(Effect.scoped, Effect.provide(QmpUnixSocket.layer))
    ))

  const guest = await ensureTinyGuest()
  const afterExit: Array<number> = []
  const afterEvent: Array<number> = []
  const total: Array<number> = []
  for (let i = 0; i < runs; i++) {
    await withQemu(startQemu({ guest }), async (q) => {
      await q.waitForMarker(GUEST_READY, 60_000)
      const { returned, shutdownAt, t0 } = await Effect.runPromise(
        Effect.gen(function*() {
          // A second client on command.1 records QEMU's own SHUTDOWN timestamp.
          const qmp = yield* Qmp
          const watcher = yield* qmp.connect([q.sockets.command1])
          const events = yield* watcher.subscribe
          const shutdownEvent = yield* Effect.fork(
            Stream.runHead(Stream.filter(events, (e) => e.event === "SHUTDOWN"))
          )
          const t0 = performance.now()
          yield* QmpOps.shutdown([{ machine: "bench", sockets: [q.sockets.command0] }], {
            ...QmpOps.defaultShutdownOptions,
            wait: true,
            timeout: Option.some(Duration.seconds(30))
          }).pipe(Effect.withConsole(silent))
          const returned = performance.now()
          const ts = Option.flatMap(yield* Fiber.join(shutdownEvent), (e) => Option.fromNullable(e.timestamp))
          const shutdownAt = Option.map(
            ts,
            (t) => t.seconds * 1000 + t.microseconds / 1000 - performance.timeOrigin
          )
          return { returned, shutdownAt, t0 }
        }).pipe(Effect.scoped, Effect.provide(QmpUnixSocket.layer))
      )
      const exit = await q.exited
      afterExit.push(returned - exit.at)
      if (Option.isSome(shutdownAt)) afterEvent.push(returned - shutdownAt.value)
      total.push(returned - t0)
    })
  }

  return {
    qmp_connect_median_ms: round(median(roundTrips.connects)),
    qmp_roundtrip_median_ms: round(median(roundTrips.times)),
    qmp_roundtrip_p95_ms: round(percentile(roundTrips.times, 95)),
    qmp_roundtrip_calls: calls,
    qmp_shutdown_after_exit_median_ms: round(median(afterExit)),
    qmp_shutdown_after_event_median_ms: round(median(afterEvent)),
    qmp_shutdown_total_median_ms: round(median(total)),
    qmp_shutdown_runs: runs
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchQmp().then(
    (figures) => {
      for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(36)} ${v}`)
    },
    (e: unknown) => {
      console.error(e)
      process.exitCode = 1
    }
  )
}

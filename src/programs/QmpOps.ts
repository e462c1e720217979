/**
 * The QMP-driven commands — `shutdown` (`cli.md` §3.10), `observe` (§3.13)
 * and `query pci|cpu` (§3.14) — independent of argument parsing and
 * configuration loading: they take machine names with their socket lists.
 *
 * Output goes through `Console` line by line, as the original prints it.
 * Unlike the original, each command fails (so the CLI exits non-zero) when a
 * machine could not be handled, with an error naming those machines.
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"
import * as Stream from "effect/Stream"
import {
  exitedLine,
  formatConnectedBanner,
  formatEventJsonLine,
  formatEventLine,
  indentJson
} from "../domain/QmpMessage.js"
import type { ProgressShape } from "../services/Progress.js"
import { formatDuration, Qmp, type QmpConnectError, type QmpConnectOptions, type QmpSessionError } from "../services/Qmp.js"

// ---------------------------------------------------------------------------
// Inputs, outputs, errors
// ---------------------------------------------------------------------------

/** A machine and the QMP sockets to try, in order; `undefined` when QMP is not enabled. */
export interface QmpTarget {
  readonly machine: string
  readonly sockets: ReadonlyArray<string> | undefined
  /**
   * Why the machine is not running, asked only when its QMP socket is missing or refuses
   * connections (e.g. `machina-test-vm.service is inactive`); undefined when unknown.
   */
  readonly whyDown?: Effect.Effect<string | undefined>
  /**
   * The PID of a QEMU of this machine known to run (systemd's `$MAINPID`, the active unit's main
   * PID, or a process serving its sockets), asked when its QMP socket cannot be reached: the
   * machine then runs but its socket is missing or dead. Undefined when none is known.
   */
  readonly runningPid?: Effect.Effect<number | undefined>
}

/**
 * The line for a machine that could not be reached: `test-vm is not running (<why>)` when its
 * socket is missing or dead and no QEMU of it is known to run; `cannot reach test-vm's QMP socket
 * at <path> (<problem>; QEMU pid N is running)` when one is; else `<fallback>: <error>`.
 */
const unreachable = (target: QmpTarget, error: QmpConnectError, fallback: string) =>
  Effect.gen(function*() {
    if (error._tag !== "QmpSocketNotFoundError" && error._tag !== "QmpConnectionRefusedError") {
      return `${fallback}: ${error.message}`
    }
    const pid = target.runningPid === undefined ? undefined : yield* target.runningPid
    if (pid !== undefined) {
      const problem = error._tag === "QmpSocketNotFoundError" ? "no such socket" : "nothing listens on it"
      return `cannot reach ${target.machine}'s QMP socket at ${error.path} (${problem}; QEMU pid ${pid} is running)`
    }
    const why = target.whyDown === undefined ? undefined : yield* target.whyDown
    const detail = why ?? (error._tag === "QmpSocketNotFoundError" ? `no QMP socket at ${error.path}` : `nothing listens on ${error.path}`)
    return `${target.machine} is not running (${detail})`
  })

export type OutputFormat = "text" | "json"

/** One machine that could not be handled, and why. */
export class MachineFailure extends Schema.Class<MachineFailure>("MachineFailure")({
  machine: Schema.String,
  reason: Schema.String
}) {}

const names = (failures: ReadonlyArray<MachineFailure>) => failures.map((f) => f.machine).join(", ")

/** Some machines could not be reached or did not stop (when waiting). */
export class ShutdownFailedError extends LazyTaggedError<ShutdownFailedError>()("ShutdownFailedError", {
  failures: Schema.Array(MachineFailure)
}) {
  /** Every machine stopped, but some only with `quit`. */
  get forcedOnly(): boolean {
    return this.failures.every((f) => f.reason === FORCED)
  }
  override get message(): string {
    return this.forcedOnly
      ? `${names(this.failures)} did not power off in time and ${this.failures.length > 1 ? "were" : "was"} stopped with quit`
      : `shutdown failed for ${names(this.failures)}`
  }
}

/** Some machines could not be observed. */
export class ObserveFailedError extends LazyTaggedError<ObserveFailedError>()("ObserveFailedError", {
  failures: Schema.Array(MachineFailure)
}) {
  override get message(): string {
    return `observe failed for ${names(this.failures)}`
  }
}

/** Some machines could not be queried. */
export class QueryFailedError extends LazyTaggedError<QueryFailedError>()("QueryFailedError", {
  failures: Schema.Array(MachineFailure)
}) {
  override get message(): string {
    return `query failed for ${names(this.failures)}`
  }
}

const NO_SOCKET = "no QMP socket available"

/** The reason recorded for a machine that stopped, but only after `quit`. */
export const FORCED = "stopped with quit after the timeout"

const hasSockets = (target: QmpTarget): target is QmpTarget & { readonly sockets: ReadonlyArray<string> } =>
  target.sockets !== undefined && target.sockets.length > 0

/** Runs one effect per target concurrently and keeps the failures, in target order. */
const perMachine = <R>(
  targets: ReadonlyArray<QmpTarget>,
  run: (target: QmpTarget) => Effect.Effect<Option.Option<string>, never, R>
): Effect.Effect<Array<MachineFailure>, never, R> =>
  Effect.forEach(targets, (t) => Effect.map(run(t), (failure) => [t.machine, failure] as const), {
    concurrency: "unbounded"
  }).pipe(
    Effect.map((results) =>
      results.flatMap(([machine, failure]) =>
        Option.isSome(failure) ? [new MachineFailure({ machine, reason: failure.value })] : []
      )
    )
  )

// ---------------------------------------------------------------------------
// shutdown
// ---------------------------------------------------------------------------

export interface ShutdownOptions {
  /** Wait until QEMU is gone (its socket closes). */
  readonly wait: boolean
  /** Send `quit` after this long (implies `wait`); `None` or zero = never. */
  readonly timeout: Option.Option<Duration.Duration>
  /** Re-send `system_powerdown` this often while waiting; zero = send once. */
  readonly repeat: Duration.Duration
  /** After `quit`, how long to wait for QEMU to exit before reporting failure. */
  readonly grace: Duration.Duration
  /** Connection settings (greeting timeout etc.). */
  readonly connect?: QmpConnectOptions
  /**
   * Asked when no QEMU answers on the sockets (file missing, or connection refused), or the
   * machine has no QMP (`qmp` false): `Some(how)` when the machine's QEMU has provably exited
   * already, and the shutdown then succeeds (the unit's ExecStop after the guest powered itself
   * off). Without it, or on `None`, it fails.
   */
  readonly exited?: (machine: string, qmp: boolean) => Effect.Effect<Option.Option<string>>
  /** Shows a wait as progress (a line on a terminal; see services/Progress.ts); default nothing. */
  readonly during?: ProgressShape["during"]
}

export const defaultShutdownOptions: ShutdownOptions = {
  wait: false,
  timeout: Option.none(),
  repeat: Duration.seconds(5),
  grace: Duration.seconds(10)
}

/** How an event stream ended: at EOF (Right), or with a session error. */
type StreamEnd = Either.Either<void, QmpSessionError>

const shutdownOne = (target: QmpTarget, options: ShutdownOptions) =>
  Effect.gen(function*() {
    const { machine } = target
    const say = (text: string) => Console.log(`${machine}: ${text}`)
    const complain = (text: string) => Console.error(`${machine}: ${text}`)
    const failed = (reason: string) =>
      Effect.as(complain(`Failed to issue shutdown command: ${reason}`), Option.some(reason))
    if (!hasSockets(target)) {
      const exited = options.exited === undefined ? Option.none<string>() : yield* options.exited(machine, false)
      if (Option.isSome(exited)) {
        yield* say(exitedLine(exited.value))
        return Option.none<string>()
      }
      return yield* Effect.as(complain(`Failed to issue shutdown command: ${NO_SOCKET}.`), Option.some(NO_SOCKET))
    }
    const timeout = Option.filter(options.timeout, (d) => Duration.greaterThan(d, Duration.zero))
    const waiting = options.wait || Option.isSome(timeout)
    const qmp = yield* Qmp

    return yield* Effect.scoped(Effect.gen(function*() {
      const connected = yield* Effect.either(qmp.connect(target.sockets, options.connect))
      if (Either.isLeft(connected)) {
        const gone = connected.left._tag === "QmpSocketNotFoundError" || connected.left._tag === "QmpConnectionRefusedError"
        const exited = gone && options.exited !== undefined ? yield* options.exited(machine, true) : Option.none<string>()
        if (Option.isSome(exited)) {
          yield* say(exitedLine(exited.value))
          return Option.none<string>()
        }
        const line = yield* unreachable(target, connected.left, `${machine}: Failed to issue shutdown command`)
        return yield* Effect.as(Console.error(line), Option.some(line))
      }
      const session = connected.right
      const events = waiting ? yield* session.subscribe : undefined
      const issued = yield* Effect.either(session.execute("system_powerdown"))
      if (Either.isLeft(issued)) return yield* failed(issued.left.message)
      yield* say("Issued shutdown command.")
      if (events === undefined) return Option.none<string>()

      // On a terminal: what is waited for, and how long until quit (see services/Progress.ts).
      const show = options.during ?? ((_wait, effect) => effect)
      const powerOff = {
        what: `shutting down ${machine}: waiting for the guest to power off`,
        ...(Option.isSome(timeout) ? { timeout: timeout.value, atDeadline: "quit" } : {})
      }
      // The event printer is forked inside the wait, so its lines go above the progress line.
      const { beforeDeadline, stopRepeats, streamEnd } = yield* show(powerOff, Effect.gen(function*() {
        const consumer = yield* Effect.fork(
          Effect.either(Stream.runForEach(events, (event) => Console.log(formatEventLine(machine, event))))
        )
        const repeater = Duration.greaterThan(options.repeat, Duration.zero)
          ? yield* Effect.fork(
            Effect.forever(Effect.zipRight(Effect.sleep(options.repeat), Effect.ignore(session.execute("system_powerdown"))))
          )
          : undefined
        const stopRepeats = repeater === undefined ? Effect.void : Fiber.interrupt(repeater)
        const streamEnd: Effect.Effect<StreamEnd> = Fiber.join(consumer)
        const beforeDeadline = Option.isNone(timeout)
          ? Option.some(yield* streamEnd)
          : yield* Effect.timeoutOption(streamEnd, timeout.value)
        return { beforeDeadline, stopRepeats, streamEnd }
      }))

      const ended = (end: StreamEnd) =>
        Effect.gen(function*() {
          yield* stopRepeats
          if (Either.isLeft(end)) {
            yield* say(end.left.message)
            // A socket error after which QEMU's end of the connection is gone still
            // means the process went away; garbage from the monitor does not.
            if (end.left._tag === "QmpMalformedMessagesError") return Option.some(end.left.message)
          }
          yield* say("QMP socket closed. Shutdown complete.")
          return Option.none<string>()
        })

      if (Option.isSome(beforeDeadline)) return yield* ended(beforeDeadline.value)

      yield* stopRepeats
      yield* say("Timeout expired. Sending QUIT message.")
      const quitSent = yield* Clock.currentTimeMillis
      const quit = yield* Effect.either(session.execute("quit", undefined, { timeout: options.grace }))
      // QEMU may close the socket before its reply is read: that is success.
      if (Either.isLeft(quit) && !(quit.left._tag === "QmpConnectionClosedError" && quit.left.reason === "eof")) {
        yield* complain(`Failed to send QUIT: ${quit.left.message}`)
      }
      const spent = (yield* Clock.currentTimeMillis) - quitSent
      const remaining = Duration.millis(Math.max(0, Duration.toMillis(options.grace) - spent))
      const afterQuit = yield* show(
        { what: `shutting down ${machine}: waiting for QEMU to exit after quit`, timeout: remaining },
        Effect.timeoutOption(streamEnd, remaining)
      )
      if (Option.isSome(afterQuit)) {
        const end = yield* ended(afterQuit.value)
        return Option.isSome(end) ? end : Option.some(FORCED)
      }
      const reason = `QEMU did not exit within ${formatDuration(options.grace)} after QUIT`
      yield* complain(`${reason}.`)
      return Option.some(reason)
    }))
  })

/**
 * `shutdown` (`cli.md` §3.10) for all targets concurrently: issue
 * `system_powerdown`; when waiting, print events until the socket closes,
 * re-sending the powerdown every `repeat`, and after `timeout` send `quit`
 * and wait at most `grace`. Fails listing the machines that could not be
 * reached or (when waiting) did not stop.
 */
export const shutdown = (
  targets: ReadonlyArray<QmpTarget>,
  options: ShutdownOptions = defaultShutdownOptions
): Effect.Effect<void, ShutdownFailedError, Qmp> =>
  Effect.flatMap(perMachine(targets, (t) => shutdownOne(t, options)), (failures) =>
    failures.length === 0 ? Effect.void : Effect.fail(new ShutdownFailedError({ failures })))

// ---------------------------------------------------------------------------
// observe
// ---------------------------------------------------------------------------

export interface ObserveOptions {
  /** `text`: `N: EVENT[: data]` lines; `json`: one JSON object per event on stdout, status lines on stderr. */
  readonly format: OutputFormat
  readonly connect?: QmpConnectOptions
}

const observeOne = (target: QmpTarget, options: ObserveOptions) =>
  Effect.gen(function*() {
    const { machine } = target
    const status = (text: string) => (options.format === "text" ? Console.log(text) : Console.error(text))
    if (!hasSockets(target)) return yield* Effect.as(Console.error(`Cannot observe ${machine}: ${NO_SOCKET}`), Option.some(NO_SOCKET))
    const qmp = yield* Qmp
    return yield* Effect.scoped(Effect.gen(function*() {
      const connected = yield* Effect.either(qmp.connect(target.sockets, options.connect))
      if (Either.isLeft(connected)) {
        const line = yield* unreachable(target, connected.left, `Failed to observe ${machine}`)
        return yield* Effect.as(Console.error(line), Option.some(line))
      }
      const session = connected.right
      const events = yield* session.subscribe
      yield* status(formatConnectedBanner(machine, session.greeting))
      const format = options.format === "text" ? formatEventLine : formatEventJsonLine
      const end = yield* Effect.either(Stream.runForEach(events, (event) => Console.log(format(machine, event)))).pipe(
        Effect.onInterrupt(() => status(`${machine}: QMP socket closed.`))
      )
      if (Either.isRight(end)) {
        yield* status(`${machine}: QMP socket closed.`)
        return Option.none<string>()
      }
      yield* status(`${machine}: ${end.left.message}`)
      return end.left._tag === "QmpMalformedMessagesError" ? Option.some(end.left.message) : Option.none<string>()
    }))
  })

/**
 * `observe` (`cli.md` §3.13): prints every machine's events until all
 * sockets close or the fiber is interrupted. Fails listing the machines
 * that could not be connected.
 */
export const observe = (
  targets: ReadonlyArray<QmpTarget>,
  options: ObserveOptions
): Effect.Effect<void, ObserveFailedError, Qmp> =>
  Effect.flatMap(perMachine(targets, (t) => observeOne(t, options)), (failures) =>
    failures.length === 0 ? Effect.void : Effect.fail(new ObserveFailedError({ failures })))

// ---------------------------------------------------------------------------
// query
// ---------------------------------------------------------------------------

export type QueryKind = "pci" | "cpu"

export interface QueryOptions {
  /**
   * `text`: `----N----` then the `return` value re-indented with tabs, per
   * machine in target order; `json`: one document `{"<machine>": <return>, …}`
   * on stdout, failures on stderr.
   */
  readonly format: OutputFormat
  readonly connect?: QmpConnectOptions
}

const QUERY_COMMANDS: Readonly<Record<QueryKind, string>> = { pci: "query-pci", cpu: "query-cpus-fast" }

type QueryResult = Either.Either<string, { readonly line: string; readonly reason: string }>

const queryOne = (target: QmpTarget, command: string, options: QueryOptions) =>
  Effect.gen(function*() {
    const { machine } = target
    if (!hasSockets(target)) {
      return Either.left({ line: `Cannot query ${machine}: ${NO_SOCKET}`, reason: NO_SOCKET }) as QueryResult
    }
    const qmp = yield* Qmp
    const connected = (yield* Effect.either(Effect.scoped(Effect.flatMap(qmp.connect(target.sockets, options.connect), (session) =>
      Effect.either(session.execute(command))))))
    if (Either.isLeft(connected)) {
      const line = yield* unreachable(target, connected.left, `Failed to query ${machine}`)
      return Either.left({ line, reason: line }) as QueryResult
    }
    return Either.mapLeft(connected.right, (e) => ({ line: `Failed to query ${machine}: ${e.message}`, reason: e.message }))
  })

/**
 * `query pci|cpu` (`cli.md` §3.14): runs `query-pci` / `query-cpus-fast` on
 * every machine concurrently and prints the raw results (key order and number
 * spelling kept). Fails listing the machines that could not be queried.
 */
export const query = (
  targets: ReadonlyArray<QmpTarget>,
  kind: QueryKind,
  options: QueryOptions
): Effect.Effect<void, QueryFailedError, Qmp> =>
  Effect.gen(function*() {
    const command = QUERY_COMMANDS[kind]
    const results = yield* Effect.forEach(targets, (t) => queryOne(t, command, options), { concurrency: "unbounded" })
    const failures: Array<MachineFailure> = []
    const entries: Array<string> = []
    for (const [i, result] of results.entries()) {
      const machine = targets[i]!.machine
      if (Either.isLeft(result)) {
        failures.push(new MachineFailure({ machine, reason: result.left.reason }))
        yield* Console.error(result.left.line)
        continue
      }
      const raw = result.right === "" ? "null" : result.right
      if (options.format === "text") {
        yield* Console.log(`----${machine}----\n${Either.getOrElse(indentJson(raw, "\t"), () => raw)}`)
      } else {
        entries.push(`${JSON.stringify(machine)}:${raw}`)
      }
    }
    // A document only when something was queried: `{}` would read as "no machines".
    if (options.format === "json" && (entries.length > 0 || failures.length === 0)) {
      const doc = `{${entries.join(",")}}`
      yield* Console.log(Either.getOrElse(indentJson(doc, "  "), () => doc))
    }
    if (failures.length > 0) return yield* new QueryFailedError({ failures })
  })

// ---------------------------------------------------------------------------
// reset
// ---------------------------------------------------------------------------

/** Some machines could not be reset. */
export class ResetFailedError extends LazyTaggedError<ResetFailedError>()("ResetFailedError", {
  failures: Schema.Array(MachineFailure)
}) {
  override get message(): string {
    return `reset failed for ${names(this.failures)}`
  }
}

/** `reset`: QMP `system_reset` (a hard reset, as the reset button) on every machine concurrently. */
export const reset = (
  targets: ReadonlyArray<QmpTarget>,
  options: { readonly connect?: QmpConnectOptions } = {}
): Effect.Effect<void, ResetFailedError, Qmp> =>
  Effect.flatMap(
    perMachine(targets, (target) =>
      Effect.gen(function*() {
        const { machine } = target
        if (!hasSockets(target)) return yield* Effect.as(Console.error(`Cannot reset ${machine}: ${NO_SOCKET}`), Option.some(NO_SOCKET))
        const qmp = yield* Qmp
        const done = yield* Effect.either(Effect.scoped(Effect.flatMap(qmp.connect(target.sockets, options.connect), (session) =>
          Effect.either(session.execute("system_reset")))))
        if (Either.isLeft(done)) {
          const line = yield* unreachable(target, done.left, `Failed to reset ${machine}`)
          return yield* Effect.as(Console.error(line), Option.some(line))
        }
        if (Either.isLeft(done.right)) {
          const line = `Failed to reset ${machine}: ${done.right.left.message}`
          return yield* Effect.as(Console.error(line), Option.some(line))
        }
        yield* Console.log(`${machine}: reset`)
        return Option.none<string>()
      })),
    (failures) => (failures.length === 0 ? Effect.void : Effect.fail(new ResetFailedError({ failures })))
  )

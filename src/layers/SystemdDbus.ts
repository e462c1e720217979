/**
 * `Systemd` over D-Bus (dbus-next), talking to `org.freedesktop.systemd1` on the system bus.
 *
 * The connection is opened lazily on first use (so a host without a bus only fails the commands
 * that need systemd), kept for the layer's lifetime, re-opened after it is lost, and closed when
 * the layer's scope ends. Every call and every wait is bounded.
 *
 * Jobs: a `JobRemoved` match rule and `Subscribe()` are set up right after connecting, before any
 * job is queued, and results of jobs that finish before their `StartUnit` reply is processed are
 * kept (bounded) until claimed, so no job result is lost.
 */
import type { Message, MessageBus } from "dbus-next"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import {
  Systemd,
  SystemdAccessDeniedError,
  SystemdBusUnavailableError,
  SystemdCallError,
  SystemdTimeoutError,
  SystemdUnitNotFoundError,
  unloadedUnit
} from "../services/Systemd.js"
import type {
  EnableResult,
  JobOptions,
  JobResult,
  SystemdError,
  SystemdShape,
  UnitFileChange,
  UnitStatus
} from "../services/Systemd.js"
import { traced } from "./Traced.js"

export interface Options {
  /** D-Bus address. Default: `DBUS_SYSTEM_BUS_ADDRESS`, else `unix:path=/run/dbus/system_bus_socket`. */
  readonly address?: string
  /** Bound on connecting and authenticating. Default 5 s. */
  readonly connectTimeout?: Duration.DurationInput
  /** Bound on each method call's reply. Default 25 s (D-Bus's default). */
  readonly callTimeout?: Duration.DurationInput
  /** Default bound on waiting for a job or a reload to finish. Default 2 minutes. */
  readonly jobTimeout?: Duration.DurationInput
}

export const defaultAddress = (): string =>
  process.env["DBUS_SYSTEM_BUS_ADDRESS"] ?? "unix:path=/run/dbus/system_bus_socket"

const DESTINATION = "org.freedesktop.systemd1"
const MANAGER_PATH = "/org/freedesktop/systemd1"
const MANAGER = "org.freedesktop.systemd1.Manager"
const PROPERTIES = "org.freedesktop.DBus.Properties"
const JOB_REMOVED_RULE = `type='signal',interface='${MANAGER}',member='JobRemoved',path='${MANAGER_PATH}'`
/** Results of jobs nobody waits for (yet) are kept up to this many. */
const MAX_UNCLAIMED = 512

/** Unit types whose D-Bus interface has `Result` (and, for services, `MainPID`). */
const TYPE_INTERFACES: Readonly<Record<string, string>> = {
  service: "org.freedesktop.systemd1.Service",
  socket: "org.freedesktop.systemd1.Socket",
  mount: "org.freedesktop.systemd1.Mount",
  swap: "org.freedesktop.systemd1.Swap",
  timer: "org.freedesktop.systemd1.Timer",
  path: "org.freedesktop.systemd1.Path",
  automount: "org.freedesktop.systemd1.Automount",
  scope: "org.freedesktop.systemd1.Scope"
}

interface Connection {
  readonly bus: MessageBus
  /** Fails once the connection is lost. */
  readonly lost: Deferred.Deferred<never, SystemdBusUnavailableError>
  /** job object path -> result, for jobs that finished before anyone waited for them. */
  readonly finished: Map<string, string>
  /** job object path -> resume callback of the waiter. */
  readonly waiters: Map<string, (result: string) => void>
}

interface CallSpec {
  readonly operation: string
  /** Default `org.freedesktop.systemd1`. */
  readonly destination?: string
  readonly unit?: string
  readonly path: string
  readonly interface: string
  readonly member: string
  readonly signature?: string
  readonly body?: ReadonlyArray<unknown>
  readonly timeout?: Duration.Duration
}

/**
 * dbus-next, loaded when the first connection opens (`loadDbus`): initialising it costs start-up
 * time that commands which never talk to systemd should not pay. Everything below that uses it
 * runs on an open connection.
 */
let dbus: typeof import("dbus-next")
const loadDbus = Effect.promise(async () => {
  // A CommonJS module: its `module.exports` is the default export.
  dbus ??= ((await import("dbus-next")) as unknown as { readonly default: typeof dbus }).default
})

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : String(error)

/** The D-Bus error name of a failed call, when it is one. */
const dbusErrorName = (error: unknown): string | undefined =>
  error instanceof dbus.DBusError ? error.type : undefined

const dbusErrorDetail = (error: unknown): string =>
  error instanceof dbus.DBusError ? (error.text ?? error.type) : errorText(error)

const toNumber = (value: unknown): number =>
  typeof value === "bigint" ? Number(value) : typeof value === "number" ? value : 0

const toString = (value: unknown): string => (typeof value === "string" ? value : "")

/** The entry for a name systemd does not accept as a unit name. */
const invalidUnit = (name: string): UnitStatus => unloadedUnit(name, "error")

/** Unwraps an `a{sv}` reply into plain values. */
const variants = (value: unknown): Readonly<Record<string, unknown>> => {
  const out: Record<string, unknown> = {}
  if (value !== null && typeof value === "object") {
    for (const [key, variant] of Object.entries(value as Record<string, unknown>)) {
      out[key] = variant instanceof dbus.Variant ? variant.value : variant
    }
  }
  return out
}

const changesOf = (value: unknown): ReadonlyArray<UnitFileChange> =>
  Array.isArray(value)
    ? value.map((entry) => {
        const [type, file, destination] = entry as ReadonlyArray<unknown>
        return { type: toString(type), file: toString(file), destination: toString(destination) }
      })
    : []

/** Builds the D-Bus implementation; the connection (opened on first use) is closed with the scope. */
export const make = (options: Options = {}): Effect.Effect<SystemdShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const address = options.address ?? defaultAddress()
    const connectTimeout = Duration.decode(options.connectTimeout ?? "5 seconds")
    const callTimeout = Duration.decode(options.callTimeout ?? "25 seconds")
    const jobTimeout = Duration.decode(options.jobTimeout ?? "2 minutes")

    const current = yield* Ref.make(Option.none<Connection>())
    const lock = yield* Effect.makeSemaphore(1)

    const unavailable = (cause: unknown) => new SystemdBusUnavailableError({ address, cause })

    const mapCallError = (spec: CallSpec, error: unknown): SystemdError => {
      const name = dbusErrorName(error)
      const detail = dbusErrorDetail(error)
      switch (name) {
        case undefined:
          // Not an error reply: the client could not send the call (a bug on our side, or a closed stream).
          return new SystemdCallError({ operation: spec.operation, errorName: "", detail, cause: error })
        case "org.freedesktop.DBus.Error.AccessDenied":
        case "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
          return new SystemdAccessDeniedError({ operation: spec.operation, detail, cause: error })
        case "org.freedesktop.systemd1.NoSuchUnit":
        case "org.freedesktop.DBus.Error.FileNotFound":
          return new SystemdUnitNotFoundError({ unit: spec.unit ?? "", detail, cause: error })
        case "org.freedesktop.DBus.Error.ServiceUnknown":
        case "org.freedesktop.DBus.Error.NameHasNoOwner":
        case "org.freedesktop.DBus.Error.Disconnected":
        case "org.freedesktop.DBus.Error.NoServer":
          return unavailable(error)
        default:
          return new SystemdCallError({ operation: spec.operation, errorName: name, detail, cause: error })
      }
    }

    /** One method call on an open connection, bounded, failing fast if the connection is lost. */
    const rawCall = (connection: Connection, spec: CallSpec): Effect.Effect<Message, SystemdError> => {
      const timeout = spec.timeout ?? callTimeout
      const call = Effect.tryPromise({
        try: () =>
          connection.bus.call(
            new dbus.Message({
              destination: spec.destination ?? DESTINATION,
              path: spec.path,
              interface: spec.interface,
              member: spec.member,
              ...(spec.signature === undefined ? {} : { signature: spec.signature }),
              body: [...(spec.body ?? [])]
            })
          ),
        catch: (error) => mapCallError(spec, error)
      }).pipe(
        Effect.flatMap((reply) =>
          reply === null
            ? Effect.fail<SystemdError>(unavailable(new Error(`no reply to ${spec.member}`)))
            : Effect.succeed(reply)
        ),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new SystemdTimeoutError({
              operation: spec.operation,
              timeoutMillis: Duration.toMillis(timeout),
              ...(spec.unit === undefined ? {} : { unit: spec.unit })
            })
        })
      )
      const describe = `D-Bus ${spec.interface}.${spec.member}(${(spec.body ?? []).map((b) => JSON.stringify(b)).join(", ")}) on ${spec.path}`
      return Effect.logDebug(describe).pipe(
        Effect.zipRight(Effect.raceFirst(call, Deferred.await(connection.lost))),
        Effect.tapBoth({
          onFailure: (e) => Effect.logDebug(`${describe} failed: ${e.message}`),
          onSuccess: (reply) => Effect.logDebug(`${describe} replied ${JSON.stringify(reply.body, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`)
        })
      )
    }

    /** Creates the bus client with every listener attached before control returns to the event loop. */
    const createConnection = (
      lost: Deferred.Deferred<never, SystemdBusUnavailableError>,
      connected: Deferred.Deferred<void>
    ): Connection => {
      const markLost = (cause: unknown) => {
        Deferred.unsafeDone(lost, Effect.fail(unavailable(cause)))
      }
      const bus = dbus.sessionBus({ busAddress: address })
      const connection: Connection = { bus, lost, finished: new Map(), waiters: new Map() }
      bus.on("error", markLost)
      bus.on("connect", () => Deferred.unsafeDone(connected, Effect.void))
      // dbus-next does not forward the end of the stream; without this a closed bus is only noticed by timeouts.
      const stream = (bus as unknown as { _connection?: { on?: (event: string, f: () => void) => void } })._connection
      stream?.on?.("end", () => markLost(new Error("the bus closed the connection")))
      bus.on("message", (message: Message) => {
        if (
          message.type !== dbus.MessageType.SIGNAL ||
          message.interface !== MANAGER ||
          message.member !== "JobRemoved"
        ) return
        const [, job, , result] = message.body as [unknown, unknown, unknown, unknown]
        const path = toString(job)
        const waiter = connection.waiters.get(path)
        if (waiter !== undefined) {
          connection.waiters.delete(path)
          waiter(toString(result))
          return
        }
        connection.finished.set(path, toString(result))
        if (connection.finished.size > MAX_UNCLAIMED) {
          const oldest = connection.finished.keys().next()
          if (oldest.done !== true) connection.finished.delete(oldest.value)
        }
      })
      return connection
    }

    const open: Effect.Effect<Connection, SystemdError> = Effect.gen(function* () {
      yield* loadDbus
      const lost = yield* Deferred.make<never, SystemdBusUnavailableError>()
      const connected = yield* Deferred.make<void>()
      const connection = yield* Effect.try({
        try: () => createConnection(lost, connected),
        catch: unavailable
      })
      const bus = connection.bus
      const markLost = (cause: unknown) => {
        Deferred.unsafeDone(lost, Effect.fail(unavailable(cause)))
      }
      const close = Effect.sync(() => {
        markLost(new Error("connection closed"))
        bus.disconnect()
      })
      const ready = Deferred.await(connected).pipe(
        Effect.raceFirst(Deferred.await(lost)),
        Effect.timeoutFail({
          duration: connectTimeout,
          onTimeout: () => unavailable(new Error(`no answer within ${Duration.toMillis(connectTimeout)} ms`))
        })
      )
      yield* ready.pipe(
        Effect.zipRight(
          rawCall(connection, {
            operation: "subscribe",
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member: "AddMatch",
            signature: "s",
            body: [JOB_REMOVED_RULE],
            // AddMatch goes to the bus daemon, not to systemd.
            destination: "org.freedesktop.DBus"
          })
        ),
        Effect.zipRight(
          rawCall(connection, { operation: "subscribe", path: MANAGER_PATH, interface: MANAGER, member: "Subscribe" })
        ),
        Effect.tapError(() => close)
      )
      return connection
    })

    const connection: Effect.Effect<Connection, SystemdError> = lock.withPermits(1)(
      Effect.gen(function* () {
        const existing = yield* Ref.get(current)
        if (Option.isSome(existing) && !(yield* Deferred.isDone(existing.value.lost))) return existing.value
        if (Option.isSome(existing)) existing.value.bus.disconnect()
        const fresh = yield* open
        yield* Ref.set(current, Option.some(fresh))
        return fresh
      })
    )

    yield* Effect.addFinalizer(() =>
      Ref.get(current).pipe(
        Effect.flatMap((existing) =>
          Option.isSome(existing)
            ? Effect.sync(() => {
                Deferred.unsafeDone(existing.value.lost, Effect.fail(unavailable(new Error("layer closed"))))
                existing.value.bus.disconnect()
              })
            : Effect.void
        )
      )
    )

    const call = (spec: CallSpec) => Effect.flatMap(connection, (conn) => rawCall(conn, spec))

    const getAll = (unit: string, path: string, iface: string) =>
      call({
        operation: "units",
        unit,
        path,
        interface: PROPERTIES,
        member: "GetAll",
        signature: "s",
        body: [iface]
      }).pipe(Effect.map((reply) => variants(reply.body[0])))

    const units = traced("Systemd.units")(function* (names: ReadonlyArray<string>) {
      if (names.length === 0) return []
      const reply = yield* call({
        operation: "units",
        path: MANAGER_PATH,
        interface: MANAGER,
        member: "ListUnitsByNames",
        signature: "as",
        body: [[...names]]
      })
      const rows = (Array.isArray(reply.body[0]) ? reply.body[0] : []) as ReadonlyArray<ReadonlyArray<unknown>>
      const byName = new Map(rows.map((row) => [toString(row[0]), row] as const))
      return yield* Effect.forEach(
        names,
        (name) =>
          Effect.gen(function* () {
            const row = byName.get(name)
            // systemd leaves out names it cannot parse as unit names.
            if (row === undefined) return invalidUnit(name)
            const path = toString(row[6])
            const unit = yield* getAll(name, path, "org.freedesktop.systemd1.Unit")
            const typeInterface = TYPE_INTERFACES[name.slice(name.lastIndexOf(".") + 1)]
            const typed = typeInterface === undefined ? {} : yield* getAll(name, path, typeInterface)
            const status: UnitStatus = {
              name,
              description: toString(row[1]),
              loadState: toString(row[2]),
              activeState: toString(row[3]),
              subState: toString(row[4]),
              mainPid: toNumber(typed["MainPID"]),
              activeEnterTimestamp: toNumber(unit["ActiveEnterTimestamp"]),
              activeExitTimestamp: toNumber(unit["ActiveExitTimestamp"]),
              inactiveEnterTimestamp: toNumber(unit["InactiveEnterTimestamp"]),
              inactiveExitTimestamp: toNumber(unit["InactiveExitTimestamp"]),
              result: toString(typed["Result"])
            }
            return status
          }),
        { concurrency: 8 }
      )
    })

    /** Queues a job with `member` and waits for its `JobRemoved`. */
    const job = (operation: "start" | "stop" | "restart", member: string) =>
      traced(`Systemd.${operation}`)(function* (name: string, jobOptions?: JobOptions) {
        const conn = yield* connection
        const timeout = Duration.decode(jobOptions?.timeout ?? jobTimeout)
        const reply = yield* rawCall(conn, {
          operation,
          unit: name,
          path: MANAGER_PATH,
          interface: MANAGER,
          member,
          signature: "ss",
          body: [name, jobOptions?.mode ?? "replace"]
        })
        const path = toString(reply.body[0])
        const finished = conn.finished.get(path)
        if (finished !== undefined) {
          conn.finished.delete(path)
          return finished as JobResult
        }
        const result = yield* Effect.async<string>((resume) => {
          conn.waiters.set(path, (value) => resume(Effect.succeed(value)))
          return Effect.sync(() => {
            conn.waiters.delete(path)
          })
        }).pipe(
          Effect.raceFirst(Deferred.await(conn.lost)),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new SystemdTimeoutError({ operation, unit: name, timeoutMillis: Duration.toMillis(timeout) })
          })
        )
        return result as JobResult
      })

    const enable = traced("Systemd.enable")(function* (names: ReadonlyArray<string>) {
      const reply = yield* call({
        operation: "enable",
        unit: names.join(" "),
        path: MANAGER_PATH,
        interface: MANAGER,
        member: "EnableUnitFiles",
        signature: "asbb",
        body: [[...names], false, true]
      })
      const result: EnableResult = { carriesInstallInfo: reply.body[0] === true, changes: changesOf(reply.body[1]) }
      return result
    })

    const disable = traced("Systemd.disable")(function* (names: ReadonlyArray<string>) {
      const reply = yield* call({
        operation: "disable",
        unit: names.join(" "),
        path: MANAGER_PATH,
        interface: MANAGER,
        member: "DisableUnitFiles",
        signature: "asb",
        body: [[...names], false]
      })
      return changesOf(reply.body[0])
    })

    const reload = traced("Systemd.reload")(function* (reloadOptions?: {
      readonly timeout?: Duration.DurationInput
    }) {
      // systemd answers Reload only once the reload is complete.
      yield* call({
        operation: "reload",
        path: MANAGER_PATH,
        interface: MANAGER,
        member: "Reload",
        timeout: Duration.decode(reloadOptions?.timeout ?? jobTimeout)
      })
    })

    const kill = traced("Systemd.kill")(function* (name: string, signal: number) {
      yield* call({
        operation: "kill",
        unit: name,
        path: MANAGER_PATH,
        interface: MANAGER,
        member: "KillUnit",
        signature: "ssi",
        body: [name, "all", signal]
      })
    })

    return {
      units,
      kill,
      start: job("start", "StartUnit"),
      stop: job("stop", "StopUnit"),
      restart: job("restart", "RestartUnit"),
      enable,
      disable,
      reload
    } satisfies SystemdShape
  })

export const layer = (options: Options = {}): Layer.Layer<Systemd> => Layer.scoped(Systemd, make(options))

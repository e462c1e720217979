/**
 * `Systemd` simulated in memory, for offline host simulation and CLI tests.
 *
 * Units are defined up front (`Options.units`) or later through `SystemdMemoryControl`. Jobs
 * succeed by default; a unit's `startResult`/`stopResult`/`restartResult`, or results queued with
 * `control.script`, make them end otherwise. State transitions follow systemd's: a started service
 * is `active/running` with a main PID, a failed start leaves it `failed/failed` with result
 * `exit-code`, a stop makes it `inactive/dead`; timestamps come from the Effect `Clock` (so
 * `TestClock` drives them), in microseconds. Unknown units are `not-found` in `units` and
 * `SystemdUnitNotFoundError` for jobs and enablement; masked units refuse jobs.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  Systemd,
  SystemdBusUnavailableError,
  SystemdCallError,
  SystemdTimeoutError,
  SystemdUnitNotFoundError,
  unloadedUnit
} from "../services/Systemd.js"
import type {
  EnableResult,
  JobOperation,
  JobOptions,
  JobResult,
  SystemdShape,
  UnitFileChange,
  UnitStatus
} from "../services/Systemd.js"
import { traced } from "./Traced.js"

export interface UnitDefinition {
  readonly name: string
  readonly description?: string
  /** Default `loaded`. */
  readonly loadState?: string
  /** Initial state. Default `inactive`. */
  readonly activeState?: "active" | "inactive" | "failed"
  /** Whether the unit file has an `[Install]` section. Default true. */
  readonly installable?: boolean
  /** Target that wants the unit once enabled. Default `multi-user.target`. */
  readonly wantedBy?: string
  readonly enabled?: boolean
  readonly masked?: boolean
  /** Default results of jobs on this unit. Default `done`. */
  readonly startResult?: JobResult
  readonly stopResult?: JobResult
  readonly restartResult?: JobResult
  /**
   * How long each job on this unit takes (Effect `Clock`, so `TestClock` drives it), e.g. a stop
   * job waiting for a guest that ignores ACPI. A job longer than the caller's timeout fails with
   * `SystemdTimeoutError` at the timeout (the unit keeps its state). Default 0.
   */
  readonly jobDuration?: Duration.DurationInput
}

export interface Options {
  readonly units?: ReadonlyArray<UnitDefinition>
  /** Where simulated unit files live (for the change lists). Default `/etc/systemd/system`. */
  readonly unitDirectory?: string
  /** When false every call fails with `SystemdBusUnavailableError` (a host without a bus). Default true. */
  readonly available?: boolean
}

/** One job or call the simulation carried out, for assertions. */
export interface JournalEntry {
  readonly operation: JobOperation | "enable" | "disable" | "reload" | "kill"
  readonly unit: string
  readonly result: string
}

/** Test/simulation controls of the in-memory systemd. */
export interface SystemdMemoryControlShape {
  /** Adds or replaces a unit definition (its state is reset). */
  readonly define: (unit: UnitDefinition) => Effect.Effect<void>
  /** Removes a unit (it becomes not-found). */
  readonly remove: (name: string) => Effect.Effect<void>
  /** Queues the result of the next `operation` job on `unit` (used before the unit's default). */
  readonly script: (unit: string, operation: JobOperation, result: JobResult) => Effect.Effect<void>
  /** Overrides parts of a unit's state (e.g. simulate a crash: `{ activeState: "failed", subState: "failed", result: "signal" }`). */
  readonly setState: (name: string, state: Partial<Omit<UnitStatus, "name">>) => Effect.Effect<void>
  /** Makes the bus (un)available. */
  readonly setAvailable: (available: boolean) => Effect.Effect<void>
  readonly isEnabled: (name: string) => Effect.Effect<boolean>
  readonly reloads: Effect.Effect<number>
  readonly journal: Effect.Effect<ReadonlyArray<JournalEntry>>
}

export class SystemdMemoryControl extends Context.Tag("machina/SystemdMemoryControl")<
  SystemdMemoryControl,
  SystemdMemoryControlShape
>() {}

interface UnitState {
  definition: UnitDefinition
  status: UnitStatus
  enabled: boolean
  masked: boolean
}

const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+\.(service|socket|target|device|mount|automount|swap|timer|path|slice|scope)$/

const RESULT_TYPES = new Set(["service", "socket", "mount", "swap", "timer", "path", "automount", "scope"])

const unitType = (name: string) => name.slice(name.lastIndexOf(".") + 1)

const initialStatus = (definition: UnitDefinition, now: number): UnitStatus => {
  const active = definition.activeState ?? "inactive"
  const hasResult = RESULT_TYPES.has(unitType(definition.name))
  return {
    name: definition.name,
    description: definition.description ?? definition.name,
    loadState: definition.masked === true ? "masked" : (definition.loadState ?? "loaded"),
    activeState: active,
    subState: active === "active" ? (unitType(definition.name) === "service" ? "running" : "active") : active === "failed" ? "failed" : "dead",
    mainPid: 0,
    activeEnterTimestamp: active === "active" ? now : 0,
    activeExitTimestamp: 0,
    inactiveEnterTimestamp: active === "failed" ? now : 0,
    inactiveExitTimestamp: active === "inactive" ? 0 : now,
    result: hasResult ? (active === "failed" ? "exit-code" : "success") : ""
  }
}

const notFound = (name: string): UnitStatus =>
  unloadedUnit(name, UNIT_NAME.test(name) ? "not-found" : "error", {
    description: UNIT_NAME.test(name) ? name : "",
    result: RESULT_TYPES.has(unitType(name)) && UNIT_NAME.test(name) ? "success" : ""
  })

/** Builds the simulation: the `Systemd` service and its controls, sharing one state. */
export const make = (
  options: Options = {}
): Effect.Effect<{ readonly systemd: SystemdShape; readonly control: SystemdMemoryControlShape }> =>
  Effect.gen(function* () {
    const unitDirectory = options.unitDirectory ?? "/etc/systemd/system"
    const units = new Map<string, UnitState>()
    const scripts = new Map<string, Array<JobResult>>()
    const journal: Array<JournalEntry> = []
    let available = options.available ?? true
    let reloads = 0
    let nextPid = 1000

    const nowMicros = Effect.map(Clock.currentTimeMillis, (ms) => ms * 1000)

    const define = (definition: UnitDefinition, now: number) => {
      const status = initialStatus(definition, now)
      units.set(definition.name, {
        definition,
        status: status.activeState === "active" && unitType(definition.name) === "service" ? { ...status, mainPid: nextPid++ } : status,
        enabled: definition.enabled ?? false,
        masked: definition.masked ?? false
      })
    }
    const startedAt = yield* nowMicros
    for (const definition of options.units ?? []) define(definition, startedAt)

    const bus = Effect.suspend(() =>
      available
        ? Effect.void
        : Effect.fail(new SystemdBusUnavailableError({ address: "memory", cause: new Error("simulated bus is down") }))
    )

    const unitOrFail = (name: string) =>
      Effect.suspend(() => {
        const unit = units.get(name)
        return unit === undefined
          ? Effect.fail(new SystemdUnitNotFoundError({ unit: name, detail: `Unit ${name} not found.` }))
          : Effect.succeed(unit)
      })

    const scripted = (unit: UnitState, operation: JobOperation): JobResult => {
      const queue = scripts.get(`${unit.definition.name}\0${operation}`)
      const next = queue?.shift()
      if (next !== undefined) return next
      switch (operation) {
        case "start":
          return unit.definition.startResult ?? "done"
        case "stop":
          return unit.definition.stopResult ?? "done"
        case "restart":
          return unit.definition.restartResult ?? "done"
      }
    }

    const activate = (unit: UnitState, result: JobResult, now: number) => {
      const s = unit.status
      const isService = unitType(s.name) === "service"
      if (result === "done") {
        if (s.activeState === "active") return
        unit.status = {
          ...s,
          activeState: "active",
          subState: isService ? "running" : "active",
          mainPid: isService ? nextPid++ : 0,
          activeEnterTimestamp: now,
          inactiveExitTimestamp: now,
          result: RESULT_TYPES.has(unitType(s.name)) ? "success" : ""
        }
      } else if (result === "failed" || result === "timeout") {
        unit.status = {
          ...s,
          activeState: "failed",
          subState: "failed",
          mainPid: 0,
          inactiveExitTimestamp: now,
          inactiveEnterTimestamp: now,
          ...(s.activeState === "active" ? { activeExitTimestamp: now } : {}),
          result: result === "timeout" ? "timeout" : "exit-code"
        }
      }
    }

    const deactivate = (unit: UnitState, result: JobResult, now: number) => {
      const s = unit.status
      if (result !== "done" || s.activeState !== "active") return
      unit.status = {
        ...s,
        activeState: "inactive",
        subState: "dead",
        mainPid: 0,
        activeExitTimestamp: now,
        inactiveEnterTimestamp: now
      }
    }

    const job = (operation: JobOperation) =>
      traced(`Systemd.${operation}`)(function* (name: string, options?: JobOptions) {
        yield* bus
        const unit = yield* unitOrFail(name)
        if (unit.masked) {
          return yield* new SystemdCallError({
            operation,
            errorName: "org.freedesktop.systemd1.UnitMasked",
            detail: `Unit ${name} is masked.`
          })
        }
        const takes = Duration.decode(unit.definition.jobDuration ?? Duration.zero)
        if (Duration.greaterThan(takes, Duration.zero)) {
          const timeout = Duration.decode(options?.timeout ?? Duration.minutes(2))
          if (Duration.greaterThan(takes, timeout)) {
            yield* Effect.sleep(timeout)
            return yield* new SystemdTimeoutError({ operation, unit: name, timeoutMillis: Duration.toMillis(timeout) })
          }
          yield* Effect.sleep(takes)
        }
        const result = scripted(unit, operation)
        const now = yield* nowMicros
        if (operation === "start") activate(unit, result, now)
        else if (operation === "stop") deactivate(unit, result, now)
        else {
          deactivate(unit, "done", now)
          activate(unit, result, now)
        }
        journal.push({ operation, unit: name, result })
        return result
      })

    const systemd: SystemdShape = {
      units: traced("Systemd.units")(function* (names: ReadonlyArray<string>) {
        yield* bus
        return names.map((name) => units.get(name)?.status ?? notFound(name))
      }),
      start: job("start"),
      stop: job("stop"),
      restart: job("restart"),
      // SIGKILL (or any signal) kills the service's processes: it fails with result "signal".
      kill: traced("Systemd.kill")(function* (name: string, signal: number) {
        yield* bus
        const unit = yield* unitOrFail(name)
        if (unit.status.activeState !== "active" || unit.status.mainPid === 0) {
          return yield* new SystemdCallError({
            operation: "kill",
            errorName: "org.freedesktop.systemd1.NoSuchProcess",
            detail: `No process to kill`
          })
        }
        const now = yield* nowMicros
        unit.status = {
          ...unit.status,
          activeState: "failed",
          subState: "failed",
          mainPid: 0,
          result: "signal",
          activeExitTimestamp: now,
          inactiveEnterTimestamp: now
        }
        journal.push({ operation: "kill", unit: name, result: String(signal) })
      }),
      enable: traced("Systemd.enable")(function* (names: ReadonlyArray<string>) {
        yield* bus
        const states = yield* Effect.forEach(names, unitOrFail)
        const changes: Array<UnitFileChange> = []
        let carriesInstallInfo = false
        for (const unit of states) {
          if (unit.definition.installable === false) continue
          carriesInstallInfo = true
          if (unit.enabled) continue
          unit.enabled = true
          const name = unit.definition.name
          changes.push({
            type: "symlink",
            file: `${unitDirectory}/${unit.definition.wantedBy ?? "multi-user.target"}.wants/${name}`,
            destination: `${unitDirectory}/${name}`
          })
          journal.push({ operation: "enable", unit: name, result: "done" })
        }
        const result: EnableResult = { carriesInstallInfo, changes }
        return result
      }),
      disable: traced("Systemd.disable")(function* (names: ReadonlyArray<string>) {
        yield* bus
        const states = yield* Effect.forEach(names, unitOrFail)
        const changes: Array<UnitFileChange> = []
        for (const unit of states) {
          if (!unit.enabled) continue
          unit.enabled = false
          const name = unit.definition.name
          changes.push({
            type: "unlink",
            file: `${unitDirectory}/${unit.definition.wantedBy ?? "multi-user.target"}.wants/${name}`,
            destination: ""
          })
          journal.push({ operation: "disable", unit: name, result: "done" })
        }
        return changes
      }),
      reload: traced("Systemd.reload")(function* () {
        yield* bus
        reloads += 1
        journal.push({ operation: "reload", unit: "", result: "done" })
      })
    }

    const control: SystemdMemoryControlShape = {
      define: (definition) => Effect.map(nowMicros, (now) => define(definition, now)),
      remove: (name) => Effect.sync(() => void units.delete(name)),
      script: (unit, operation, result) =>
        Effect.sync(() => {
          const key = `${unit}\0${operation}`
          scripts.set(key, [...(scripts.get(key) ?? []), result])
        }),
      setState: (name, state) =>
        Effect.sync(() => {
          const unit = units.get(name)
          if (unit !== undefined) unit.status = { ...unit.status, ...state }
        }),
      setAvailable: (value) => Effect.sync(() => void (available = value)),
      isEnabled: (name) => Effect.sync(() => units.get(name)?.enabled ?? false),
      reloads: Effect.sync(() => reloads),
      journal: Effect.sync(() => [...journal])
    }

    return { systemd, control }
  })

/** The simulation as `Systemd` plus its `SystemdMemoryControl`. */
export const layer = (options: Options = {}): Layer.Layer<Systemd | SystemdMemoryControl> =>
  Layer.effectContext(
    Effect.map(make(options), ({ control, systemd }) =>
      Context.make(Systemd, systemd).pipe(Context.add(SystemdMemoryControl, control))
    )
  )

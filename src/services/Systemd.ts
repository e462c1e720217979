/**
 * The service manager: unit status, jobs (start/stop/restart), unit file enablement and reload.
 *
 * Implementations: `layers/SystemdDbus.ts` (the real systemd over the system bus) and
 * `layers/SystemdMemory.ts` (an in-memory simulation for offline hosts and tests).
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** One unit as `list` and `status` need it (systemd's `ListUnitsByNames` plus unit properties). */
export interface UnitStatus {
  /** Unit name, e.g. `machina-test-vm.service`. */
  readonly name: string
  /** `loaded`, `not-found`, `bad-setting`, `error`, `masked`. */
  readonly loadState: string
  /** `active`, `reloading`, `inactive`, `failed`, `activating`, `deactivating`. */
  readonly activeState: string
  /** Type-specific state, e.g. `running`, `dead`, `exited`, `auto-restart`. */
  readonly subState: string
  /** Main process id for services (0 when none or not a service). */
  readonly mainPid: number
  /** Timestamps in microseconds since the epoch; 0 when unset. */
  readonly activeEnterTimestamp: number
  readonly activeExitTimestamp: number
  readonly inactiveEnterTimestamp: number
  readonly inactiveExitTimestamp: number
  /** The unit's last result (`success`, `exit-code`, `signal`, `timeout`, ...); empty when the type has none. */
  readonly result: string
  readonly description: string
}

/**
 * How a job ended (`JobRemoved`'s result): `done`, `canceled`, `timeout` (systemd's job timeout),
 * `failed`, `dependency`, `skipped`, `invalid`, `assert`, `unsupported`, `collected`, `once`.
 */
export type JobResult =
  | "done"
  | "canceled"
  | "timeout"
  | "failed"
  | "dependency"
  | "skipped"
  | "invalid"
  | "assert"
  | "unsupported"
  | "collected"
  | "once"
  | (string & {})

/** What to do with conflicting queued jobs (systemd's job mode). Default `replace`. */
export type JobMode = "replace" | "fail" | "isolate" | "ignore-dependencies" | "ignore-requirements"

export interface JobOptions {
  /** Bound on the wait for the job to finish. Default 2 minutes. */
  readonly timeout?: Duration.DurationInput
  readonly mode?: JobMode
}

/** One change made to the unit file tree (`symlink` or `unlink`, file, symlink destination). */
export interface UnitFileChange {
  readonly type: string
  readonly file: string
  readonly destination: string
}

export interface EnableResult {
  /** False when no unit had an `[Install]` section (nothing to enable). */
  readonly carriesInstallInfo: boolean
  readonly changes: ReadonlyArray<UnitFileChange>
}

export type JobOperation = "start" | "stop" | "restart"

/** The system bus (or the service manager on it) cannot be reached. */
export class SystemdBusUnavailableError extends LazyTaggedError<SystemdBusUnavailableError>()(
  "SystemdBusUnavailableError",
  (S) => ({ address: S.String, cause: S.optional(S.Defect) })
) {
  override get message(): string {
    const detail = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `cannot reach systemd on the bus at ${this.address}${detail}`
  }
}

/** The caller may not perform the operation (D-Bus `AccessDenied`, polkit refusal). */
export class SystemdAccessDeniedError extends LazyTaggedError<SystemdAccessDeniedError>()(
  "SystemdAccessDeniedError",
  (S) => ({ operation: S.String, detail: S.String, cause: S.optional(S.Defect) })
) {
  override get message(): string {
    return `access denied to systemd ${this.operation}: ${this.detail}`
  }
}

/** A unit (or unit file) that systemd does not know. */
export class SystemdUnitNotFoundError extends LazyTaggedError<SystemdUnitNotFoundError>()(
  "SystemdUnitNotFoundError",
  (S) => ({ unit: S.String, detail: S.String, cause: S.optional(S.Defect) })
) {
  override get message(): string {
    return `unit ${this.unit} not found: ${this.detail}`
  }
}

/** A job that ended with a result other than `done` (see `requireJobDone`). */
export class SystemdJobFailedError extends LazyTaggedError<SystemdJobFailedError>()("SystemdJobFailedError", (S) => ({
  unit: S.String,
  operation: S.String,
  result: S.String
})) {
  override get message(): string {
    return `failed to ${this.operation} ${this.unit}: job ${this.result}`
  }
}

/** systemd refused or failed a call for another reason (unit masked, job not applicable, ...). */
export class SystemdCallError extends LazyTaggedError<SystemdCallError>()("SystemdCallError", (S) => ({
  operation: S.String,
  errorName: S.String,
  detail: S.String,
  cause: S.optional(S.Defect)
})) {
  override get message(): string {
    return `systemd ${this.operation} failed: ${this.detail}${this.errorName === "" ? "" : ` (${this.errorName})`}`
  }
}

/** A bounded wait (for a reply or a job) ran out. */
export class SystemdTimeoutError extends LazyTaggedError<SystemdTimeoutError>()("SystemdTimeoutError", (S) => ({
  operation: S.String,
  unit: S.optional(S.String),
  timeoutMillis: S.Number
})) {
  override get message(): string {
    const unit = this.unit === undefined ? "" : ` ${this.unit}`
    return `systemd ${this.operation}${unit} did not finish within ${this.timeoutMillis} ms`
  }
}

export type SystemdError =
  | SystemdBusUnavailableError
  | SystemdAccessDeniedError
  | SystemdUnitNotFoundError
  | SystemdCallError
  | SystemdTimeoutError

export interface SystemdShape {
  /**
   * Status of the named units, one entry per name in order. Unknown units come back with
   * `loadState: "not-found"` and names systemd cannot parse with `loadState: "error"`, not as errors.
   * Note: systemd unloads inactive units nothing refers to, so a stopped unit's timestamps read 0.
   */
  readonly units: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<UnitStatus>, SystemdError>
  /** Queues a start job and waits (bounded) for it to finish; returns its result (`done`, `failed`, ...). */
  readonly start: (name: string, options?: JobOptions) => Effect.Effect<JobResult, SystemdError>
  /** Queues a stop job and waits (bounded) for it to finish. */
  readonly stop: (name: string, options?: JobOptions) => Effect.Effect<JobResult, SystemdError>
  /** Queues a restart job and waits (bounded) for it to finish. */
  readonly restart: (name: string, options?: JobOptions) => Effect.Effect<JobResult, SystemdError>
  /** Enables unit files (persistent, force: replaces conflicting symlinks). Does not reload. */
  readonly enable: (names: ReadonlyArray<string>) => Effect.Effect<EnableResult, SystemdError>
  /** Disables unit files (persistent). Does not reload. */
  readonly disable: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<UnitFileChange>, SystemdError>
  /** Reloads all unit files (`daemon-reload`), waiting (bounded) until the reload is complete. */
  readonly reload: (options?: { readonly timeout?: Duration.DurationInput }) => Effect.Effect<void, SystemdError>
  /**
   * Sends `signal` (a number, e.g. 9) to every process of the unit (`KillUnit(name, "all", signal)`,
   * as `systemctl kill`). Fails when the unit has no process.
   */
  readonly kill: (name: string, signal: number) => Effect.Effect<void, SystemdError>
}

export class Systemd extends Context.Tag("machina/Systemd")<Systemd, SystemdShape>() {}

/** The status of a unit that is not loaded: inactive/dead, no process, no timestamps. */
export const unloadedUnit = (
  name: string,
  loadState: string,
  fields: { readonly description?: string; readonly result?: string } = {}
): UnitStatus => ({
  name,
  description: fields.description ?? "",
  loadState,
  activeState: "inactive",
  subState: "dead",
  mainPid: 0,
  activeEnterTimestamp: 0,
  activeExitTimestamp: 0,
  inactiveEnterTimestamp: 0,
  inactiveExitTimestamp: 0,
  result: fields.result ?? ""
})

/** Turns a job result other than `done` into a `SystemdJobFailedError`. */
export const requireJobDone =
  (unit: string, operation: JobOperation) =>
  (result: JobResult): Effect.Effect<void, SystemdJobFailedError> =>
    result === "done" ? Effect.void : Effect.fail(new SystemdJobFailedError({ unit, operation, result }))

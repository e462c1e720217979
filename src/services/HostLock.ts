/**
 * One exclusive lock per machine on this host, so that `prepare` and `teardown` of a machine (run
 * by systemd as separate processes, or by `run`) never overlap.
 *
 * Implementation: `layers/HostLockFs.ts` (lock files under the runtime directory, stale locks of
 * dead processes broken by PID check).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** Another holder kept the lock longer than the bounded wait. */
export class HostLockTimeoutError extends LazyTaggedError<HostLockTimeoutError>()("HostLockTimeoutError", (S) => ({
  machine: S.String,
  path: S.String,
  holderPid: S.optional(S.Number),
  timeoutMillis: S.Number
})) {
  override get message(): string {
    const holder = this.holderPid === undefined ? "" : ` (held by pid ${this.holderPid})`
    return `machine ${this.machine} is locked${holder}: gave up after ${this.timeoutMillis} ms waiting for ${this.path}`
  }
}

/** The lock file or its folder could not be created, read or removed. */
export class HostLockIoError extends LazyTaggedError<HostLockIoError>()("HostLockIoError", (S) => ({
  operation: S.String,
  path: S.String,
  detail: S.String,
  cause: S.optional(S.Defect)
})) {
  override get message(): string {
    return `failed to ${this.operation} lock ${this.path}: ${this.detail}`
  }
}

export type HostLockError = HostLockTimeoutError | HostLockIoError

export interface HostLockShape {
  /**
   * Takes the machine's lock (waiting, bounded) and holds it until the scope closes.
   * Not re-entrant: taking it again in the same process waits like any other holder.
   */
  readonly acquire: (machine: string) => Effect.Effect<void, HostLockError, Scope.Scope>
  /** The PID of another live process holding the machine's lock, if any (stale locks do not count). */
  readonly holder: (machine: string) => Effect.Effect<Option.Option<number>, HostLockError>
}

export class HostLock extends Context.Tag("machina/HostLock")<HostLock, HostLockShape>() {}

/** Runs `effect` while holding the machine's lock. */
export const withLock = <A, E, R>(
  machine: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | HostLockError, R | HostLock> =>
  Effect.scoped(Effect.flatMap(HostLock, (lock) => Effect.zipRight(lock.acquire(machine), effect)))

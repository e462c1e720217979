/**
 * Progress of long operations (a stop job waiting for a guest that ignores ACPI, `shutdown`
 * waiting for QEMU to exit): what machina waits for and how long is left, as one line on the
 * terminal that is updated in place and erased when the wait ends. Completely quiet when stderr
 * is not a terminal (scripts, systemd hooks, pipes) or `TERM=dumb`: output there does not change.
 *
 * Implementations: `layers/ProgressTerminal.ts` (stderr when it is a terminal) and
 * `layers/ProgressMemory.ts` (records the waits, for tests and simulation).
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"

export interface ProgressWait {
  /** What is waited for, e.g. `stopping vdi: waiting for the guest to power off`. */
  readonly what: string
  /** When the wait ends at the latest (from its start); without it the time so far is shown. */
  readonly timeout?: Duration.DurationInput
  /**
   * What happens at the deadline, shown as `(<atDeadline> in 1m12s)`; without it `(1m12s left)`.
   */
  readonly atDeadline?: string
}

export interface ProgressShape {
  /**
   * Runs `effect` while showing `wait` (with the other waits in progress, on one line). Output the
   * effect prints through `Console` meanwhile goes above the line. The line is erased at the end.
   */
  readonly during: <A, E, R>(wait: ProgressWait, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export class Progress extends Context.Tag("machina/Progress")<Progress, ProgressShape>() {}

/** Go-style and rounded to the second: `1m12s`, `45s`, `0s`. */
export const formatLeft = (millis: number): string => {
  const total = Math.max(0, Math.ceil(millis / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`
}

/** The text of one wait at `elapsedMillis` since it began. */
export const waitText = (wait: ProgressWait, elapsedMillis: number, timeoutMillis: number | undefined): string => {
  if (timeoutMillis === undefined) return `${wait.what} (${formatLeft(elapsedMillis)} so far)`
  const left = formatLeft(timeoutMillis - elapsedMillis)
  return wait.atDeadline === undefined ? `${wait.what} (${left} left)` : `${wait.what} (${wait.atDeadline} in ${left})`
}

/**
 * Where warnings go: things machina tolerates but the user should hear about (an unknown key, data
 * after a file's JSON value, a collision between machines that may never run together). Domain
 * code returns them as `ConfigWarning` values beside its results; commands hand them to this
 * service, which prints each one once per run on stderr. `check` collects them itself instead and
 * lists them apart from errors.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { ConfigWarning } from "../domain/ConfigIssue.js"

export interface WarningsShape {
  /** Reports warnings; one already reported in this run (same text) is not repeated. */
  readonly warn: (warnings: ReadonlyArray<ConfigWarning>) => Effect.Effect<void>
  /** Every warning reported so far in this run, in order, without repeats. */
  readonly reported: Effect.Effect<ReadonlyArray<ConfigWarning>>
}

export class Warnings extends Context.Tag("machina/Warnings")<Warnings, WarningsShape>() {}

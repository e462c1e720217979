/** Failures that only carry an exit status: what went wrong has already been printed. */
import * as Schema from "effect/Schema"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

export class AlreadyReported extends LazyTaggedError<AlreadyReported>()("AlreadyReported", {
  exitCode: Schema.Number,
  summary: Schema.String
}) {
  override get message(): string {
    return this.summary
  }
}

/** A command line that cannot be carried out as given (exit status 2, like a parse error). */
export class UsageError extends LazyTaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {}

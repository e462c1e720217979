/** Failures that only carry an exit status: what went wrong has already been printed. */
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

export class AlreadyReported extends LazyTaggedError<AlreadyReported>()("AlreadyReported", (S) => ({
  exitCode: S.Number,
  summary: S.String
})) {
  override get message(): string {
    return this.summary
  }
}

/** A command line that cannot be carried out as given (exit status 2, like a parse error). */
export class UsageError extends LazyTaggedError<UsageError>()("UsageError", (S) => ({
  message: S.String
})) {}

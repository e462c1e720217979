/** Child processes machina runs in the foreground (QEMU for `machina run`). */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export class ProcessSpawnError extends Schema.TaggedError<ProcessSpawnError>()("ProcessSpawnError", {
  command: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `failed to start ${this.command}: ${this.reason}`
  }
}

export interface Exit {
  /** Exit status, or null when killed by a signal. */
  readonly code: number | null
  readonly signal: string | null
}

export interface ProcessesShape {
  /**
   * Runs `command` with `args` (an argument array, never a shell), stdout/stderr inherited and no
   * stdin, until it exits. If the caller is interrupted the child gets SIGTERM, then SIGKILL after
   * `killAfter` (default 10 s).
   */
  readonly runForeground: (
    command: string,
    args: ReadonlyArray<string>,
    options?: { readonly killAfter?: Duration.DurationInput }
  ) => Effect.Effect<Exit, ProcessSpawnError>
}

export class Processes extends Context.Tag("machina/Processes")<Processes, ProcessesShape>() {}

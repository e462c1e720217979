/**
 * Processes machina runs or looks at: QEMU in the foreground (`machina run`), the QEMU processes
 * of a machine (is it still running?), and the control group this process runs in (is this
 * machina a hook of the machine's own unit?).
 *
 * Implementations: `layers/ProcessesNode.ts` (node:child_process and /proc) and
 * `layers/ProcessesMemory.ts` (a simulated process table, for offline host simulation and tests).
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

export class ProcessSpawnError extends LazyTaggedError<ProcessSpawnError>()("ProcessSpawnError", (S) => ({
  command: S.String,
  reason: S.String
})) {
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
  /**
   * The PIDs of live processes (other than this one) one of whose arguments contains `fragment`,
   * in ascending order. Zombies (exited, not yet reaped) have no arguments and are never found.
   */
  readonly withArgument: (fragment: string) => Effect.Effect<ReadonlyArray<number>>
  /** This process's control group (the cgroup v2 path, e.g. `/system.slice/machina-vm.service`), if known. */
  readonly ownCgroup: Effect.Effect<Option.Option<string>>
}

export class Processes extends Context.Tag("machina/Processes")<Processes, ProcessesShape>() {}

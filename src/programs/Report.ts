/**
 * The edge where a program's outcome becomes stderr lines and an exit status, shared by the full
 * CLI (Cli.ts, which adds @effect/cli's usage errors) and the hook fast path (Hooks.ts).
 */
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const EXIT_INTERNAL = 70

/** Prints one failure the way an admin wants to read it and returns the exit status. */
export const reportFailure = (error: unknown, program = "machina"): Effect.Effect<number> => {
  const e = error as { readonly _tag?: string; readonly message?: string; readonly exitCode?: number; readonly issues?: ReadonlyArray<{ toString(): string }> }
  if (e._tag === "AlreadyReported") return Effect.succeed(e.exitCode ?? EXIT_FAILURE)
  if (e._tag === "UsageError") return Effect.as(Console.error(`${program}: error: ${e.message}`), EXIT_USAGE)
  // A machine argument that is not a valid machine name is a usage error.
  const status = e._tag === "MachineNameError" ? EXIT_USAGE : EXIT_FAILURE
  if (e._tag === "ConfigInvalidError" && e.issues !== undefined) {
    return Effect.as(Effect.forEach(e.issues, (i) => Console.error(i.toString()), { discard: true }), status)
  }
  const message = typeof e.message === "string" && e.message !== "" ? e.message : String(error)
  const [first, ...rest] = message.split("\n")
  const prefix = `${program}: error: `
  return Effect.as(
    Console.error([prefix + first, ...rest.map((l) => " ".repeat(prefix.length) + l)].join("\n")),
    status
  )
}

/** The exit status of a finished program: 0, its failure reported, 130 when interrupted, 70 for a defect. */
export const exitStatus = <A, E>(
  exit: Exit.Exit<A, E>,
  program: string,
  report: (error: E, program: string) => Effect.Effect<number> = reportFailure
): Effect.Effect<number> => {
  if (Exit.isSuccess(exit)) return Effect.succeed(0)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return report(failure.value, program)
  if (Cause.isInterruptedOnly(exit.cause)) return Effect.succeed(130)
  return Effect.as(Console.error(`machina: internal error: ${Cause.pretty(exit.cause)}`), EXIT_INTERNAL)
}

/**
 * The machines a command acts on: the names given, or with `--all` every machine of the host.
 * Asking for both, or for neither, is a usage error.
 */
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { UsageError } from "./Failures.js"
import { lazy, store } from "./Workspace.js"

export const machinesArg = Args.text({ name: "machines" }).pipe(
  Args.withDescription("Machine names (machine.conf.d/NAME.conf.json)."),
  Args.repeated
)

export const all = Options.boolean("all").pipe(Options.withDescription("Every machine of the host."))

/** The named machines, or all of them with `--all`. */
export const resolve = (command: string, names: ReadonlyArray<string>, everyMachine: boolean) =>
  Effect.gen(function*() {
    if (everyMachine && names.length > 0) {
      return yield* new UsageError({ message: `"machina ${command}" takes MACHINE... or --all, not both` })
    }
    if (!everyMachine) {
      if (names.length === 0) return yield* new UsageError({ message: `"machina ${command}" needs MACHINE... or --all` })
      return names
    }
    const s = yield* store
    return yield* s.listMachines
  })

/**
 * Asks before acting on every machine, when a person is at a terminal: true when they answer
 * yes, or when there is no terminal (scripts). Bounded by nothing but the person: they can Ctrl-C.
 */
export const confirm = (question: string): Effect.Effect<boolean> =>
  process.stdin.isTTY !== true || process.stdout.isTTY !== true
    ? Effect.succeed(true)
    : Effect.flatMap(prompt, (p) => Effect.promise(() => p.askYesNo(question)))

const prompt = lazy(() => import("./Prompt.js"))

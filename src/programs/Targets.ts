/**
 * The machines a command acts on: the names given, or with `--all` every machine of the host.
 * Asking for both, or for neither, is a usage error.
 */
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { UsageError } from "./Failures.js"
import { lazy, store } from "./Workspace.js"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

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

/** `--yes`: act on every machine without asking (what a script passes with `--all`). */
export const yes = Options.boolean("yes").pipe(Options.withDescription("With --all, do not ask for confirmation."))

/** Acting on every machine was not confirmed: the person said no, or nobody could be asked. */
export class AllNotConfirmedError extends LazyTaggedError<AllNotConfirmedError>()("AllNotConfirmedError", {
  command: Schema.String,
  machines: Schema.Array(Schema.String),
  reason: Schema.Literal("declined", "no terminal")
}) {
  override get message(): string {
    return this.reason === "declined"
      ? `${this.command} --all: not confirmed; nothing was done`
      : `${this.command} --all would act on every machine (${this.machines.join(", ")}) and there is no terminal to ask; ` +
        "nothing was done. Pass --yes to confirm"
  }
}

/**
 * Asks before acting on every machine: at a terminal (standard input and standard error, where
 * the question goes) a yes/no question whose default is no; without one it refuses unless
 * `--yes`. Bounded by nothing but the person: they can Ctrl-C, or end the input (a no).
 */
export const confirmAll = (command: string, question: string, machines: ReadonlyArray<string>, yes: boolean): Effect.Effect<void, AllNotConfirmedError> =>
  yes || machines.length === 0
    ? Effect.void
    : process.stdin.isTTY !== true || process.stderr.isTTY !== true
    ? Effect.fail(new AllNotConfirmedError({ command, machines, reason: "no terminal" }))
    : Effect.flatMap(ask(question), (ok) => (ok ? Effect.void : Effect.fail(new AllNotConfirmedError({ command, machines, reason: "declined" }))))

/**
 * Asks a yes/no question when a person is at a terminal: true when they answer yes, or when there
 * is no terminal.
 */
export const confirm = (question: string): Effect.Effect<boolean> =>
  process.stdin.isTTY !== true || process.stdout.isTTY !== true
    ? Effect.succeed(true)
    : ask(question)

const ask = (question: string): Effect.Effect<boolean> => Effect.flatMap(prompt, (p) => Effect.promise(() => p.askYesNo(question)))

const prompt = lazy(() => import("./Prompt.js"))

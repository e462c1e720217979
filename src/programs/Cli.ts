/**
 * The command tree and the edge where typed failures become stderr lines and an exit status.
 */
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { basename } from "node:path"
import * as Cat from "./Cat.js"
import * as Check from "./Check.js"
import { genId, genMac } from "./GenId.js"
import * as Generate from "./Generate.js"
import * as Guests from "./Guests.js"
import * as Install from "./Install.js"
import * as Network from "./Network.js"
import * as Prepare from "./Prepare.js"
import * as Remove from "./Remove.js"
import * as Run from "./Run.js"
import * as Lifecycle from "./Lifecycle.js"
import * as List from "./List.js"
import * as PinHardware from "./PinHardware.js"
import * as Plan from "./Plan.js"
import * as Ui from "./Ui.js"
import { root } from "./Root.js"
import * as WarningsConsole from "../layers/WarningsConsole.js"
import { Warnings } from "../services/Warnings.js"

export const VERSION = "0.1.0"

/** Bash completion for the whole tree (lazy: the tree includes `install`, which writes it). */
const bashCompletion: Effect.Effect<ReadonlyArray<string>> = Effect.suspend(() => Command.getBashCompletions(command, "machina"))

export const command = root.pipe(
  Command.withSubcommands([
    Install.makeCommand(bashCompletion),
    Cat.command,
    List.command,
    Lifecycle.status,
    Guests.observe,
    Plan.command,
    PinHardware.command,
    Generate.generate,
    Remove.command,
    Lifecycle.enable,
    Lifecycle.disable,
    Lifecycle.start,
    Lifecycle.stop,
    Guests.shutdown,
    Prepare.prepare,
    Prepare.teardown,
    Network.connect,
    Network.disconnect,
    Guests.query,
    Generate.args,
    Run.run,
    Check.command,
    Ui.command,
    genId,
    genMac
  ])
)

const cli = Command.run(command, { name: "machina", version: VERSION })

export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const EXIT_INTERNAL = 70

/** Prints one failure the way an admin wants to read it and returns the exit status. */
export const report = (error: unknown, program = "machina"): Effect.Effect<number> => {
  if (ValidationError.isValidationError(error)) return Effect.succeed(EXIT_USAGE) // @effect/cli printed it
  const e = error as { readonly _tag?: string; readonly message?: string; readonly exitCode?: number; readonly issues?: ReadonlyArray<{ toString(): string }> }
  if (e._tag === "AlreadyReported") return Effect.succeed(e.exitCode ?? EXIT_FAILURE)
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

/** `machina-ifup <tap>` / `machina-ifdown <tap>`: the names QEMU runs for each tap (cli.md §1.1). */
export const personality = (program: string): "connect" | "disconnect" | undefined =>
  program.endsWith("-ifup") ? "connect" : program.endsWith("-ifdown") ? "disconnect" : undefined

/** Runs the CLI on `argv` (node-style: [node, script, ...args]) and returns the exit status. */
export const main = (argv: ReadonlyArray<string>) => {
  const program = basename(argv[1] ?? "machina")
  const as = personality(program)
  const args = as === undefined ? argv : [argv[0] ?? "node", argv[1] ?? "machina", as, ...argv.slice(2)]
  return cli(args).pipe(
    // One Warnings per run: each warning is printed once however often its file is loaded.
    Effect.provideServiceEffect(Warnings, WarningsConsole.make),
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(0)
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) return report(failure.value, as === undefined ? "machina" : program)
      if (Cause.isInterruptedOnly(exit.cause)) return Effect.succeed(130)
      return Effect.as(Console.error(`machina: internal error: ${Cause.pretty(exit.cause)}`), EXIT_INTERNAL)
    })
  )
}

/**
 * The command tree and the edge where typed failures become stderr lines and an exit status.
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { basename, resolve } from "node:path"
import { BIN_DIR } from "../domain/Paths.js"
import { ConfigStore } from "../services/ConfigStore.js"
import * as Cat from "./Cat.js"
import * as Check from "./Check.js"
import { genId, genMac } from "./GenId.js"
import * as Edit from "./Edit.js"
import * as Front from "./Front.js"
import * as Generate from "./Generate.js"
import * as Help from "./Help.js"
import * as Guests from "./Guests.js"
import * as Install from "./Install.js"
import * as Network from "./Network.js"
import * as Prepare from "./Prepare.js"
import * as Remove from "./Remove.js"
import * as Run from "./Run.js"
import * as SerialConsole from "./SerialConsole.js"
import * as Lifecycle from "./Lifecycle.js"
import * as List from "./List.js"
import * as PinHardware from "./PinHardware.js"
import * as Plan from "./Plan.js"
import * as Ui from "./Ui.js"
import * as Logs from "./Logs.js"
import * as New from "./New.js"
import { EXIT_USAGE, exitStatus, reportFailure } from "./Report.js"
import { root } from "./Root.js"
import { ConfigLocation, lazy, serviceOr } from "./Workspace.js"
import * as WarningsConsole from "../layers/WarningsConsole.js"
import { Warnings } from "../services/Warnings.js"

export const VERSION = "0.1.0"

export const command = root.pipe(
  Command.withSubcommands([
    Install.command,
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
    Lifecycle.restart,
    Lifecycle.kill,
    Guests.shutdown,
    Guests.reset,
    Prepare.prepare,
    Prepare.teardown,
    Network.connect,
    Network.disconnect,
    Guests.query,
    Generate.args,
    Run.run,
    Check.command,
    Ui.command,
    New.command,
    Edit.command,
    Logs.logs,
    SerialConsole.command,
    genId,
    genMac
  ]),
  // The programs read `--config-dir` (or MACHINA_CONFIG_DIR) through this service, not the root command.
  Command.provideSync(ConfigLocation, ({ configDir }) => ({ configDir: Option.getOrUndefined(configDir) }))
)

const cli = Command.run(command, { name: "machina", version: VERSION })

export { EXIT_FAILURE, EXIT_INTERNAL, EXIT_USAGE } from "./Report.js"

/** Prints one failure the way an admin wants to read it and returns the exit status. */
export const report = (error: unknown, program = "machina"): Effect.Effect<number> =>
  ValidationError.isValidationError(error) ? Effect.succeed(EXIT_USAGE) : reportFailure(error, program) // @effect/cli printed it

/** `machina-ifup <tap>` / `machina-ifdown <tap>`: the names QEMU runs for each tap (cli.md §1.1). */
export const personality = (program: string): "connect" | "disconnect" | undefined =>
  program.endsWith("-ifup") ? "connect" : program.endsWith("-ifdown") ? "disconnect" : undefined

const LOG_LEVELS: Readonly<Record<string, LogLevel.LogLevel>> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

/** Log lines on stderr, `machina: debug: <message>`, never on stdout (that is the command's output). */
const stderrLogger = Logger.withConsoleError(Logger.make(({ logLevel, message }) =>
  `machina: ${logLevel.label.toLowerCase()}: ${(Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")}`
))
const logging = Logger.replace(Logger.defaultLogger, stderrLogger)

/** A usage error: one line on stderr (plus where to read more), exit status 2. */
const usageError = (message: string, path: ReadonlyArray<string>) =>
  Effect.as(
    Console.error(
      `machina: error: ${message}` +
        (message.includes("did you mean") ? "" : `\nRun 'machina help${path.length > 0 ? ` ${path.join(" ")}` : ""}' for usage.`)
    ),
    EXIT_USAGE
  )

/** Runs the CLI on `argv` (node-style: [node, script, ...args]) and returns the exit status. */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number, never, CliApp.CliApp.Environment> => {
  const program = basename(argv[1] ?? "machina")
  const as = personality(program)
  if (as !== undefined) return execute([argv[0] ?? "node", argv[1] ?? "machina", as, ...argv.slice(2)], program)
  const front = Front.parse(argv.slice(2))
  switch (front._tag) {
    case "Help":
      return Effect.as(Console.log(Help.render(front.path).trimEnd()), 0)
    case "Version":
      return Effect.as(Console.log(VERSION), 0)
    case "Usage":
      return usageError(front.message, front.path)
    case "Complete":
      return complete(front.words)
  }
  const shell = front.globals.completions
  if (shell === "bash" || shell === "zsh" || shell === "fish") {
    // Ours (dynamic: machine names, option values); `sh` stays @effect/cli's static script.
    const self = argv[1] ?? ""
    const fallback = basename(self) === "machina" || self.endsWith(".cjs") ? resolve(self) : `${BIN_DIR}/machina`
    return Effect.as(Effect.flatMap(completionModule, (c) => Console.log(c.script(shell, fallback).trimEnd())), 0)
  }
  if (front.globals.wizard && process.stdin.isTTY !== true) {
    return usageError("--wizard needs a terminal, and standard input is not one", [])
  }
  const run = execute([argv[0] ?? "node", argv[1] ?? "machina", ...front.args], "machina")
  const level = front.globals.logLevel === undefined ? undefined : LOG_LEVELS[front.globals.logLevel]
  // Without --log-level nothing logs (the default minimum is above every log machina writes).
  return level === undefined ? run : run.pipe(Logger.withMinimumLogLevel(level), Effect.provide(logging))
}

const completionModule = lazy(() => import("./Completion.js"))
const configStoreFs = lazy(() => import("../layers/ConfigStoreFs.js"))

/**
 * `machina __complete WORD...`: the candidates for the last word, one per line. Never fails
 * noisily: whatever goes wrong (a bad configuration, an unreadable directory) only means fewer
 * candidates, and the status is 0.
 */
const complete = (words: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const c = yield* completionModule
    const request = c.analyse(words)
    const confDir = request.configDir ?? process.env["MACHINA_CONFIG_DIR"]
    const store = yield* serviceOr(ConfigStore, Effect.flatMap(configStoreFs, (fs) => fs.make({ confDir })))
    const lines = yield* c.candidates(request, c.storeSource(store))
    if (lines.length > 0) yield* Console.log(lines.join("\n"))
    return 0
  }).pipe(Effect.catchAllCause(() => Effect.succeed(0)))

const execute = (args: ReadonlyArray<string>, program: string) =>
  cli(args).pipe(
    // One Warnings per run: each warning is printed once however often its file is loaded.
    Effect.provideServiceEffect(Warnings, WarningsConsole.make),
    Effect.exit,
    Effect.flatMap((exit) => exitStatus(exit, program, report))
  )

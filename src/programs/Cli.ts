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
import * as Front from "./Front.js"
import * as Help from "./Help.js"
import { EXIT_USAGE, exitStatus, reportFailure } from "./Report.js"
import { root } from "./Root.js"
import { ConfigLocation, lazy, serviceOr } from "./Workspace.js"
import * as WarningsConsole from "../layers/WarningsConsole.js"
import { Warnings } from "../services/Warnings.js"

export const VERSION = "0.1.0"

// Each command's module (its options, handler and what only it imports) loads when that command
// runs: `args` or `cat` do not build the other commands' trees or load their modules.
const install = lazy(() => import("./Install.js"))
const cat = lazy(() => import("./Cat.js"))
const list = lazy(() => import("./List.js"))
const lifecycle = lazy(() => import("./Lifecycle.js"))
const guests = lazy(() => import("./Guests.js"))
const plan = lazy(() => import("./Plan.js"))
const pinHardware = lazy(() => import("./PinHardware.js"))
const generate = lazy(() => import("./Generate.js"))
const qemuArgs = lazy(() => import("./QemuArgs.js"))
const remove = lazy(() => import("./Remove.js"))
const prepare = lazy(() => import("./Prepare.js"))
const network = lazy(() => import("./Network.js"))
const run = lazy(() => import("./Run.js"))
const check = lazy(() => import("./Check.js"))
const ui = lazy(() => import("./Ui.js"))
const newMachine = lazy(() => import("./New.js"))
const edit = lazy(() => import("./Edit.js"))
const logs = lazy(() => import("./Logs.js"))
const serialConsole = lazy(() => import("./SerialConsole.js"))
const genIds = lazy(() => import("./GenId.js"))

/** Every command by name, in the order of the full tree (completion scripts, the wizard). */
const SUBCOMMANDS = [
  ["install", Effect.map(install, (m) => m.command)],
  ["cat", Effect.map(cat, (m) => m.command)],
  ["list", Effect.map(list, (m) => m.command)],
  ["status", Effect.map(lifecycle, (m) => m.status)],
  ["observe", Effect.map(guests, (m) => m.observe)],
  ["plan", Effect.map(plan, (m) => m.command)],
  ["pin-hardware", Effect.map(pinHardware, (m) => m.command)],
  ["generate", Effect.map(generate, (m) => m.generate)],
  ["remove", Effect.map(remove, (m) => m.command)],
  ["enable", Effect.map(lifecycle, (m) => m.enable)],
  ["disable", Effect.map(lifecycle, (m) => m.disable)],
  ["start", Effect.map(lifecycle, (m) => m.start)],
  ["stop", Effect.map(lifecycle, (m) => m.stop)],
  ["restart", Effect.map(lifecycle, (m) => m.restart)],
  ["kill", Effect.map(lifecycle, (m) => m.kill)],
  ["shutdown", Effect.map(guests, (m) => m.shutdown)],
  ["reset", Effect.map(guests, (m) => m.reset)],
  ["prepare", Effect.map(prepare, (m) => m.prepare)],
  ["teardown", Effect.map(prepare, (m) => m.teardown)],
  ["connect", Effect.map(network, (m) => m.connect)],
  ["disconnect", Effect.map(network, (m) => m.disconnect)],
  ["query", Effect.map(guests, (m) => m.query)],
  ["args", Effect.map(qemuArgs, (m) => m.args)],
  ["run", Effect.map(run, (m) => m.run)],
  ["check", Effect.map(check, (m) => m.command)],
  ["ui", Effect.map(ui, (m) => m.command)],
  ["new", Effect.map(newMachine, (m) => m.command)],
  ["edit", Effect.map(edit, (m) => m.command)],
  ["logs", Effect.map(logs, (m) => m.logs)],
  ["console", Effect.map(serialConsole, (m) => m.command)],
  ["gen-id", Effect.map(genIds, (m) => m.genId)],
  ["gen-mac", Effect.map(genIds, (m) => m.genMac)]
] as const

type Subcommand = Effect.Effect.Success<typeof SUBCOMMANDS[number][1]>

/**
 * The root command with the given subcommands (all of them without `only`). Front.ts has
 * already checked the command words, so a run needs only the command it names: @effect/cli then
 * parses it exactly as it would in the full tree.
 */
export const commandTree = (only?: string) =>
  Effect.map(
    Effect.all(SUBCOMMANDS.filter(([name]) => only === undefined || name === only).map(([, load]) => load)),
    (subcommands) =>
      root.pipe(
        Command.withSubcommands(subcommands as unknown as readonly [Subcommand, ...Array<Subcommand>]),
        // The programs read `--config-dir` (or MACHINA_CONFIG_DIR) through this service, not the root command.
        Command.provideSync(ConfigLocation, ({ configDir }) => ({ configDir: Option.getOrUndefined(configDir) }))
      )
  )

/** The full command tree, every command loaded (the tests compare it with Help.ts's table). */
export const command = commandTree()

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
  if (as !== undefined) {
    return Effect.flatMap(network, (m) =>
      Effect.provideService(execute([argv[0] ?? "node", argv[1] ?? "machina", as, ...argv.slice(2)], program, as), m.TapArguments, true))
  }
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
  const run = execute([argv[0] ?? "node", argv[1] ?? "machina", ...front.args], "machina", front.path[0])
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

/** Runs @effect/cli on `args` with the tree of `only` (a command name), or the full tree. */
const execute = (args: ReadonlyArray<string>, program: string, only: string | undefined) =>
  Effect.flatMap(commandTree(only), (command) => Command.run(command, { name: "machina", version: VERSION })(args)).pipe(
    // One Warnings per run: each warning is printed once however often its file is loaded.
    Effect.provideServiceEffect(Warnings, WarningsConsole.make),
    Effect.exit,
    Effect.flatMap((exit) => exitStatus(exit, program, report))
  )

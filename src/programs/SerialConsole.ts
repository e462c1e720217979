/**
 * `machina console MACHINE`: attaches the terminal to the machine's serial console, as
 * `virsh console` does. The machine needs `console.enabled` (an ISA serial port on
 * `<run dir>/<machine>/console.socket`); `Ctrl-]` detaches. Without a terminal (pipe mode) input
 * is copied until it ends, so scripts and tests can use it too.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { consoleSocketPath } from "../domain/Paths.js"
import { AlreadyReported } from "./Failures.js"
import { unitWhyDown } from "./Shutdown.js"
import { durationValue } from "./Root.js"
import { composeAll, lazy, runDir, serviceOr } from "./Workspace.js"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** The machine has no serial console: which attribute to set, and what to run after. */
export class ConsoleNotEnabledError extends LazyTaggedError<ConsoleNotEnabledError>()("ConsoleNotEnabledError", {
  machine: Schema.String,
  file: Schema.String
}) {
  override get message(): string {
    return `${this.machine} has no serial console: set "attrs": {"console": {"enabled": true}} in ${this.file} ` +
      `(or in one of its tags), then run: machina generate ${this.machine} && machina restart ${this.machine}`
  }
}

const modules = lazy(() => Promise.all([import("../services/SerialConsole.js"), import("../layers/SerialConsoleUnixSocket.js")]))

const machine = Args.text({ name: "machine" }).pipe(Args.withDescription("The machine whose serial console to attach to."))
const connectTimeout = Options.text("connect-timeout").pipe(
  Options.withDescription("How long to wait for the console socket to accept the connection."),
  Options.withDefault("5s"),
  Options.mapEffect(durationValue)
)

export const command = Command.make("console", { connectTimeout, machine }, (o) =>
  Effect.gen(function*() {
    const { machines: [composed] } = yield* composeAll([o.machine])
    const name = composed!.machine.name
    if (!composed!.definition.attrs.console.enabled) {
      return yield* new ConsoleNotEnabledError({ machine: name, file: composed!.machine.file })
    }
    const path = consoleSocketPath(name, runDir())
    const [{ SerialConsole }, SerialConsoleUnixSocket] = yield* modules
    const serial = yield* serviceOr(SerialConsole, Effect.sync(() => SerialConsoleUnixSocket.make()))
    const end = yield* serial.attach(path, {
      connectTimeout: o.connectTimeout,
      onConnected: Console.error(`Connected to ${name}'s console (escape character is ^])`)
    }).pipe(
      Effect.catchTags({
        ConsoleSocketNotFoundError: (e) => notReachable(name, e.message),
        ConsoleConnectionRefusedError: (e) => notReachable(name, e.message)
      })
    )
    // The guest's output may end without a newline: leave the shell's prompt on a line of its own.
    if (end === "detached") yield* Console.error("")
    if (end === "closed") yield* Console.error(`${name}'s console was closed by QEMU (the machine stopped)`)
  })).pipe(Command.withDescription("Attaches the terminal to a virtual machine's serial console (Ctrl-] detaches)."))

/**
 * A socket that is missing or dead: `web is not running (machina-web.service is inactive)` when
 * systemd says so; else the machine runs without the console (started before it was enabled).
 */
const notReachable = (name: string, problem: string) =>
  Effect.gen(function*() {
    const why = yield* unitWhyDown(name)
    yield* Console.error(
      why !== undefined
        ? `${name} is not running (${why})`
        : `${name}: ${problem}; if ${name} was started before console.enabled was set, run: machina generate ${name} && machina restart ${name}`
    )
    return yield* new AlreadyReported({ exitCode: 1, summary: `${name}: console not reachable` })
  })

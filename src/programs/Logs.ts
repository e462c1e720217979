/**
 * `machina logs MACHINE [-f] [-n N]`: the unit's journal, through journalctl (an argument array,
 * never a shell), attached to the terminal; Ctrl-C ends a `--follow`.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { unitName } from "../domain/Unit.js"
import { AlreadyReported } from "./Failures.js"
import { lazy, serviceOr, store } from "./Workspace.js"

export const JOURNALCTL = "journalctl"

const processesModules = lazy(() => Promise.all([import("../services/Processes.js"), import("../layers/ProcessesNode.js")]))

/** The journalctl arguments for a machine's unit. */
export const journalArgs = (machine: string, follow: boolean, lines: Option.Option<number>): ReadonlyArray<string> => [
  "--no-pager",
  `--unit=${unitName(machine)}`,
  ...(Option.isSome(lines) ? [`--lines=${lines.value}`] : []),
  ...(follow ? ["--follow"] : [])
]

const machine = Args.text({ name: "machine" }).pipe(Args.withDescription("The machine whose journal to show."))
const follow = Options.boolean("follow").pipe(Options.withDescription("Keep printing new entries until Ctrl-C."))
const lines = Options.integer("lines").pipe(Options.withDescription("Show only the last N entries."), Options.optional)

export const logs = Command.make("logs", { follow, lines, machine }, (o) =>
  Effect.gen(function*() {
    const s = yield* store
    yield* s.loadMachine(o.machine)
    const [{ Processes }, ProcessesNode] = yield* processesModules
    const processes = yield* serviceOr(Processes, Effect.succeed(ProcessesNode.make))
    const exit = yield* processes.runForeground(JOURNALCTL, journalArgs(o.machine, o.follow, o.lines), { killAfter: "2 seconds" })
    if (exit.code !== 0 && exit.code !== null) {
      return yield* new AlreadyReported({ exitCode: 1, summary: `${JOURNALCTL} exited with status ${exit.code}` })
    }
  })).pipe(Command.withDescription("Shows the journal of a virtual machine's unit (journalctl)."))

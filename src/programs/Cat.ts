/** `machina cat [machines...]`: configuration summaries (cli.md §3.3, §4). */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { hostDocument, machineDocument } from "../domain/CatDocument.js"
import { hostSummary, machineSummary } from "../domain/Summary.js"
import { format } from "./Root.js"
import { composeAll, noMachinesIn, store } from "./Workspace.js"

/** The reserved argument naming the host configuration. */
export const HOST_ARGUMENT = "system"

const machines = Args.text({ name: "machines" }).pipe(
  Args.withDescription(`Machine names; "${HOST_ARGUMENT}" shows the host configuration.`),
  Args.repeated
)

export const handler = ({ format, machines }: { format: "text" | "json"; machines: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const s = yield* store
    const results: Array<{ name: string; text: string; json: unknown }> = []
    // No arguments: every machine, as `check` does.
    const names = machines.length > 0 ? machines : yield* s.listMachines
    if (names.length === 0) {
      // As `list`: the JSON of no machines is an empty array; the text says where they would be.
      if (format === "json") return yield* Console.log("[]")
      return yield* Console.error(`machina: no machines: ${noMachinesIn(s.machineFile("NAME"))}`)
    }
    for (const arg of names) {
      if (arg === HOST_ARGUMENT) {
        const host = yield* s.loadHost
        results.push({ name: HOST_ARGUMENT, text: hostSummary(host.config), json: hostDocument(host.file, host.config) })
      } else {
        const { host, machines: [composed] } = yield* composeAll([arg])
        const { machine, definition } = composed!
        results.push({ name: machine.name, text: machineSummary(machine, definition), json: machineDocument(machine, definition, host.config) })
      }
    }
    if (format === "json") return yield* Console.log(JSON.stringify(results.map((r) => r.json), null, 2))
    if (results.length === 1) return yield* Console.log(results[0]!.text)
    for (const r of results) yield* Console.log(`----${r.name}----\n${r.text}`)
  })

export const command = Command.make("cat", { format, machines }, handler).pipe(
  Command.withDescription("Displays the machina configuration for virtual machines.")
)

/** Entry of the simulated-host `machina` (see SimulatedCli.ts). */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync, writeFileSync } from "node:fs"
import * as CliPlatform from "../../src/layers/CliPlatform.js"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { main } from "../../src/programs/Cli.js"

const spec = JSON.parse(readFileSync(process.env["MACHINA_SIM_HOST"]!, "utf8")) as {
  readonly host: unknown
  readonly machines: Record<string, unknown>
  readonly units: ReadonlyArray<SystemdMemory.UnitDefinition>
}
const journalFile = process.env["MACHINA_SIM_JOURNAL"]

const host = Layer.merge(
  ConfigStoreMemory.layer({ location: "/etc/machina", host: spec.host, machines: spec.machines }),
  SystemdMemory.layer({ units: spec.units })
)

Effect.gen(function*() {
  const code = yield* main(process.argv)
  if (journalFile !== undefined) {
    const journal = yield* (yield* SystemdMemory.SystemdMemoryControl).journal
    writeFileSync(journalFile, JSON.stringify(journal))
  }
  process.exitCode = code
}).pipe(
  Effect.provide(Layer.merge(host, CliPlatform.layer)),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)

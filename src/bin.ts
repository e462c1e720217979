/** Entry point of the bundled `machina` executable. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as CliPlatform from "./layers/CliPlatform.js"
import { main } from "./programs/Cli.js"

/**
 * What @effect/cli needs (file system, path, terminal; see CliPlatform): not the whole
 * `NodeContext.layer`, whose command executor and worker manager cost start-up time
 * (child_process, worker_threads and their error schemas) and which no command uses.
 */
const platform = CliPlatform.layer

main(process.argv).pipe(
  Effect.flatMap((code) => Effect.sync(() => { process.exitCode = code })),
  Effect.provide(platform),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)

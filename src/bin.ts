/** Entry point of the bundled `machina` executable. */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { main } from "./programs/Cli.js"

/**
 * What @effect/cli needs (file system, path, terminal): not the whole `NodeContext.layer`, whose
 * command executor and worker manager cost start-up time (child_process, worker_threads and
 * their error schemas) and which no command uses.
 */
const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)

main(process.argv).pipe(
  Effect.flatMap((code) => Effect.sync(() => { process.exitCode = code })),
  Effect.provide(platform),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)

/** Entry point of the bundled `machina` executable: the full CLI, and the hooks (see hook.ts). */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Runtime from "@effect/platform/Runtime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as CliPlatform from "./layers/CliPlatform.js"
import { main } from "./programs/Cli.js"
import { hookArgv } from "./programs/HookArgv.js"
import { lazy } from "./programs/Workspace.js"

/**
 * What @effect/cli needs (file system, path, terminal; see CliPlatform): not the whole
 * `NodeContext.layer`, whose command executor and worker manager cost start-up time
 * (child_process, worker_threads and their error schemas) and which no command uses.
 */
const platform = CliPlatform.layer

/**
 * When the program is done (its status in `process.exitCode`), the process exits there and then,
 * as runMain already does after a signal or a failure. Left to end by itself, Node would first
 * wait for the event loop to drain and then free the environment and the heap, which costs an
 * interactive command such as `args` several milliseconds more than the exit. Every command has
 * finished its work (files written, sockets answered, scopes closed) when its effect completes;
 * what may still be pending is output to a pipe (Node writes to pipes asynchronously): then the
 * process ends by itself as before, once the reader has taken everything.
 */
const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit) && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit()
  Runtime.defaultTeardown(exit, onExit)
}

const run = (status: Effect.Effect<number>) =>
  status.pipe(
    Effect.flatMap((code) => Effect.sync(() => { process.exitCode = code })),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true, teardown })
  )

const full = Effect.suspend(() => Effect.provide(main(process.argv), platform))

// The hooks take the same path here as in the hook bundle (a plain build has no loader to choose);
// their module loads only for a hook, so the other commands do not initialise it.
const hook = hookArgv(process.argv)
run(hook === undefined ? full : Effect.flatMap(lazy(() => import("./programs/Hooks.js")), (m) => m.hookProgram(hook) ?? full))

/** Entry point of the bundled `machina` executable: the full CLI, and the hooks (see hook.ts). */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as CliPlatform from "./layers/CliPlatform.js"
import * as ConsoleFd from "./layers/ConsoleFd.js"
import { teardown } from "./programs/EarlyExit.js"
import { main } from "./programs/Cli.js"
import { hookArgv } from "./programs/HookArgv.js"
import { lazy } from "./programs/Workspace.js"

/**
 * What @effect/cli needs (file system, path, terminal; see CliPlatform): not the whole
 * `NodeContext.layer`, whose command executor and worker manager cost start-up time
 * (child_process, worker_threads and their error schemas) and which no command uses.
 */
const platform = CliPlatform.layer

// Output goes straight to descriptors 1 and 2 until something creates Node's stdio stream for one
// (layers/ConsoleFd.ts): `args` and `cat` print without creating either.
ConsoleFd.watchStdio()

const run = (status: Effect.Effect<number>) =>
  status.pipe(
    Effect.flatMap((code) => Effect.sync(() => { process.exitCode = code })),
    Effect.withConsole(ConsoleFd.make()),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true, teardown })
  )

const full = Effect.suspend(() => Effect.provide(main(process.argv), platform))

// The hooks take the same path here as in the hook bundle (a plain build has no loader to choose);
// their module loads only for a hook, so the other commands do not initialise it.
const hook = hookArgv(process.argv)
run(hook === undefined ? full : Effect.flatMap(lazy(() => import("./programs/Hooks.js")), (m) => m.hookProgram(hook) ?? full))

/**
 * Entry point of the hook bundle: the commands systemd and QEMU run for every machine start and
 * stop (programs/HookArgv.ts), without @effect/cli. The loader of dist/machina.cjs
 * (scripts/build.mjs) runs this bundle when `hookArgv` recognises argv, and passes the full CLI
 * as `globalThis.__machinaFullCli` for what this bundle leaves to it (a `--timeout` that does not
 * parse): the full CLI then parses argv and reports.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as ConsoleFd from "./layers/ConsoleFd.js"
import { teardown } from "./programs/EarlyExit.js"
import { hookArgv } from "./programs/HookArgv.js"
import { hookProgram } from "./programs/Hooks.js"

// A hook's output goes straight to descriptors 1 and 2 (layers/ConsoleFd.ts): Node's stdio streams
// are created only if something else reads them, and the teardown waits only for those.
ConsoleFd.watchStdio()
const hook = hookArgv(process.argv)
const program = hook === undefined ? undefined : hookProgram(hook)
if (program === undefined) {
  const full = (globalThis as { __machinaFullCli?: () => void }).__machinaFullCli
  if (full === undefined) {
    process.stderr.write("machina: internal error: the hook bundle was run without the full CLI beside it\n")
    process.exitCode = 70
  } else full()
} else {
  program.pipe(
    Effect.flatMap((code) => Effect.sync(() => { process.exitCode = code })),
    Effect.withConsole(ConsoleFd.make()),
    // Spans (Effect.fn) are not exported here: untimed, they do not read the clock, and the
    // process does not create Node's `performance` (see effectProbes in scripts/build.mjs).
    Effect.withTracerTiming(false),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true, teardown })
  )
}

/**
 * Entry point of the hook bundle: the commands systemd and QEMU run for every machine start and
 * stop (programs/HookArgv.ts), without @effect/cli. The loader of dist/machina.cjs
 * (scripts/build.mjs) runs this bundle when `hookArgv` recognises argv, and passes the full CLI
 * as `globalThis.__machinaFullCli` for what this bundle leaves to it (a `--timeout` that does not
 * parse): the full CLI then parses argv and reports.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { teardown } from "./programs/EarlyExit.js"
import { hookArgv } from "./programs/HookArgv.js"
import { hookProgram } from "./programs/Hooks.js"

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
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true, teardown })
  )
}

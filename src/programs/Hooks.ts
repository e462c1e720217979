/**
 * The hook fast path: the commands systemd and QEMU run for every machine start and stop
 * (recognised by HookArgv.ts) run here as the same programs the full commands call, without
 * building the @effect/cli command tree. Same arguments, defaults, messages and exit statuses as
 * the full CLI; an argv this module cannot take as given (e.g. a `--timeout` that does not parse)
 * is left to the full CLI, which reports it as a usage error.
 *
 * Each hook loads only its own program's modules, on first use (`lazy`): `machina-ifup` does not
 * initialise the QMP, mdev, privileges or QEMU-translation modules (their error classes and
 * schemas are built when their module loads), `shutdown` not the network ones.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { parseDuration } from "../domain/Duration.js"
import type { HookArgv } from "./HookArgv.js"
import { exitStatus } from "./Report.js"
import * as WarningsConsole from "../layers/WarningsConsole.js"
import { Warnings } from "../services/Warnings.js"
import { ConfigLocation, lazy } from "./Workspace.js"

const connections = lazy(() => import("./Connections.js"))
const preparation = lazy(() => import("./Preparation.js"))
const shutdown = lazy(() => import("./Shutdown.js"))

/** `--repeat` and `--grace` of the hook: Shutdown.ts's defaults, which always parse. */
const durationOf = (text: string) => Either.getOrThrowWith(parseDuration(text), (e) => e)

/** The program of a hook, returning the exit status; undefined when the full CLI must parse it. */
export const hookProgram = (hook: HookArgv): Effect.Effect<number> | undefined => {
  let program: Effect.Effect<void, unknown>
  switch (hook._tag) {
    case "Connect":
      program = Effect.flatMap(connections, (m) => Effect.provideService(m.connectAll(hook.targets), m.TapArguments, true))
      break
    case "Disconnect":
      program = Effect.flatMap(connections, (m) => Effect.provideService(m.disconnectAll(hook.targets), m.TapArguments, true))
      break
    case "Prepare":
      program = Effect.flatMap(preparation, (m) => m.prepareAll(hook.machines, hook.swtpm))
      break
    case "Teardown":
      program = Effect.flatMap(preparation, (m) => m.teardownAll(hook.machines))
      break
    case "Shutdown": {
      const timeout = hook.timeout === undefined ? Either.right(undefined) : parseDuration(hook.timeout)
      if (Either.isLeft(timeout)) return undefined
      program = Effect.flatMap(shutdown, (m) =>
        m.shutdownAll(hook.machines, {
          system: true,
          wait: hook.wait,
          timeout: Option.fromNullable(timeout.right),
          repeat: durationOf(m.DEFAULT_REPEAT),
          grace: durationOf(m.DEFAULT_GRACE)
        }))
      break
    }
  }
  // As the root command's `--config-dir`, with its fallback to MACHINA_CONFIG_DIR.
  const configDir = hook.configDir ?? process.env["MACHINA_CONFIG_DIR"]
  return program.pipe(
    Effect.provideService(ConfigLocation, { configDir }),
    // One Warnings per run, as the full CLI: each warning is printed once however often its file is loaded.
    Effect.provideServiceEffect(Warnings, WarningsConsole.make),
    Effect.exit,
    Effect.flatMap((exit) => exitStatus(exit, hook._tag === "Connect" || hook._tag === "Disconnect" ? hook.program : "machina"))
  )
}

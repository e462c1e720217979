/**
 * The hook fast path: the commands systemd and QEMU run for every machine start and stop
 * (recognised by HookArgv.ts) run here as the same programs the full commands call, without
 * building the @effect/cli command tree. Same arguments, defaults, messages and exit statuses as
 * the full CLI; an argv this module cannot take as given (e.g. a `--timeout` that does not parse)
 * is left to the full CLI, which reports it as a usage error.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { parseDuration } from "../domain/Duration.js"
import { connectAll, disconnectAll } from "./Connections.js"
import type { HookArgv } from "./HookArgv.js"
import { prepareAll, teardownAll } from "./Preparation.js"
import { exitStatus } from "./Report.js"
import { DEFAULT_GRACE, DEFAULT_REPEAT, shutdownAll } from "./Shutdown.js"
import * as WarningsConsole from "../layers/WarningsConsole.js"
import { Warnings } from "../services/Warnings.js"
import { ConfigLocation } from "./Workspace.js"

/** The program of a hook, returning the exit status; undefined when the full CLI must parse it. */
export const hookProgram = (hook: HookArgv): Effect.Effect<number> | undefined => {
  let program: Effect.Effect<void, unknown>
  switch (hook._tag) {
    case "Connect":
      program = connectAll(hook.targets)
      break
    case "Disconnect":
      program = disconnectAll(hook.targets)
      break
    case "Prepare":
      program = prepareAll(hook.machines, hook.swtpm)
      break
    case "Teardown":
      program = teardownAll(hook.machines)
      break
    case "Shutdown": {
      const timeout = hook.timeout === undefined ? Either.right(undefined) : parseDuration(hook.timeout)
      const repeat = parseDuration(DEFAULT_REPEAT)
      const grace = parseDuration(DEFAULT_GRACE)
      if (Either.isLeft(timeout) || Either.isLeft(repeat) || Either.isLeft(grace)) return undefined
      program = shutdownAll(hook.machines, {
        system: true,
        wait: hook.wait,
        timeout: Option.fromNullable(timeout.right),
        repeat: repeat.right,
        grace: grace.right
      })
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

/**
 * What most commands need first: the configuration store chosen by the global options, the host
 * file, and machines loaded and merged with their tags.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { ConfigInvalidError } from "../domain/ConfigIssue.js"
import { compose, type Composed } from "../domain/Merge.js"
import * as ConfigStoreFs from "../layers/ConfigStoreFs.js"
import * as SystemdDbus from "../layers/SystemdDbus.js"
import { Systemd } from "../services/Systemd.js"
import { type ConfigError, ConfigStore } from "../services/ConfigStore.js"
import { root } from "./Root.js"

/**
 * The ConfigStore: one provided by the caller (offline simulation, tests) wins; otherwise the
 * directory from `--config-dir` / `MACHINA_CONFIG_DIR` / the default.
 */
export const store = Effect.gen(function*() {
  const provided = yield* Effect.serviceOption(ConfigStore)
  if (Option.isSome(provided)) return provided.value
  const { configDir } = yield* root
  return yield* ConfigStoreFs.make({ confDir: Option.getOrUndefined(configDir) })
})

export const loadHost = Effect.flatMap(store, (s) => s.loadHost)

/** Loads and merges machines in argument order; the first failure aborts (nothing is done yet). */
export const composeAll = (
  names: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const s = yield* store
    const host = yield* s.loadHost
    const machines: Array<Composed> = []
    for (const name of names) {
      const machine = yield* s.loadMachine(name)
      machines.push(yield* Either.match<Composed, ConfigInvalidError, Effect.Effect<Composed, ConfigError>, Effect.Effect<Composed>>(compose(host, machine), {
        onLeft: (e: ConfigInvalidError) => Effect.fail(e),
        onRight: Effect.succeed
      }))
    }
    return { host, machines: machines as ReadonlyArray<Composed> }
  })

/** The Systemd service: one provided by the caller wins, else the system bus. Needs a Scope. */
export const systemd = Effect.gen(function*() {
  const provided = yield* Effect.serviceOption(Systemd)
  if (Option.isSome(provided)) return provided.value
  return yield* SystemdDbus.make()
})

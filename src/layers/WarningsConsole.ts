/** Warnings printed on stderr through `Console`, each distinct text once per run. */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ConfigWarning } from "../domain/ConfigIssue.js"
import { Warnings, type WarningsShape } from "../services/Warnings.js"

export const make: Effect.Effect<WarningsShape> = Effect.sync(() => {
  const seen = new Set<string>()
  const reported: Array<ConfigWarning> = []
  return {
    warn: (warnings) =>
      Effect.suspend(() => {
        const fresh = warnings.filter((w) => {
          const text = w.toString()
          if (seen.has(text)) return false
          seen.add(text)
          return true
        })
        reported.push(...fresh)
        return Effect.forEach(fresh, (w) => Console.error(w.toString()), { discard: true })
      }),
    reported: Effect.sync(() => [...reported])
  }
})

export const layer: Layer.Layer<Warnings> = Layer.effect(Warnings, make)

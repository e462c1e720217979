/**
 * Progress recorded in memory, for tests and offline simulation: each wait with when it began and
 * ended (Effect `Clock`, so `TestClock` drives it), nothing drawn.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Progress, type ProgressWait } from "../services/Progress.js"

export interface RecordedWait {
  readonly wait: ProgressWait
  readonly timeoutMillis: number | undefined
  readonly startMillis: number
  /** Undefined while the wait goes on. */
  endMillis: number | undefined
}

export class ProgressMemoryControl extends Context.Tag("machina/ProgressMemoryControl")<
  ProgressMemoryControl,
  { readonly waits: Effect.Effect<ReadonlyArray<RecordedWait>> }
>() {}

export const layer: Layer.Layer<Progress | ProgressMemoryControl> = Layer.effectContext(Effect.sync(() => {
  const waits: Array<RecordedWait> = []
  return Context.make(Progress, {
    during: (wait, effect) =>
      Effect.flatMap(Clock.currentTimeMillis, (startMillis) => {
        const recorded: RecordedWait = {
          wait,
          timeoutMillis: wait.timeout === undefined ? undefined : Duration.toMillis(Duration.decode(wait.timeout)),
          startMillis,
          endMillis: undefined
        }
        waits.push(recorded)
        return Effect.ensuring(effect, Effect.flatMap(Clock.currentTimeMillis, (end) => Effect.sync(() => { recorded.endMillis = end })))
      })
  }).pipe(Context.add(ProgressMemoryControl, { waits: Effect.sync(() => waits.map((w) => ({ ...w }))) }))
}))

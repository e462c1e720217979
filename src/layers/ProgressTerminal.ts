/**
 * Progress on a terminal: one line on stderr, redrawn every second (`\r`, erase line), erased when
 * the last wait ends. Enabled only when stderr is a terminal and `TERM` is not `dumb`; never
 * coloured (so `NO_COLOR` has nothing to remove). Concurrent waits share the line, joined by
 * `; ` and cut to the terminal's width. Console output during a wait erases the line first and
 * redraws it after, so it never mixes with the line.
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { fstatSync } from "node:fs"
import { Progress, type ProgressShape, type ProgressWait, waitText } from "../services/Progress.js"

export interface Options {
  /** Whether to draw at all; default: stderr is a terminal and `TERM` is not `dumb`. */
  readonly enabled?: boolean
  /** Where the line goes; default stderr. */
  readonly write?: (text: string) => void
  /** Width to cut the line to; default the terminal's (80 when unknown). */
  readonly columns?: () => number
  /** How often the line is redrawn; default 1 second. */
  readonly interval?: Duration.DurationInput
}

/**
 * Whether progress is shown on this process's stderr. Only a character device can be a terminal:
 * that is asked first, so that a hook whose stderr is the journal, a pipe or a file does not
 * create Node's stderr stream (2.5 to 4.5 ms) to learn that it is not one.
 */
export const onTerminal = (): boolean => {
  if (process.env["TERM"] === "dumb") return false
  try {
    if (!fstatSync(2).isCharacterDevice()) return false
  } catch {
    return false
  }
  return process.stderr.isTTY === true
}

const ERASE = "\r\x1b[2K"

export const make = (options: Options = {}): ProgressShape => {
  const enabled = options.enabled ?? onTerminal()
  const write = options.write ?? ((text: string) => void process.stderr.write(text))
  const columns = options.columns ?? (() => (process.stderr.columns ?? 0) > 0 ? process.stderr.columns : 80)
  const interval = options.interval ?? Duration.seconds(1)
  const active = new Set<{ readonly wait: ProgressWait; readonly start: number; readonly timeout: number | undefined }>()
  let shown = false

  const clear = Effect.sync(() => {
    if (shown) write(ERASE)
    shown = false
  })
  const draw = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.sync(() => {
      if (active.size === 0) {
        if (shown) write(ERASE)
        shown = false
        return
      }
      const text = [...active].map((a) => waitText(a.wait, now - a.start, a.timeout)).join("; ")
      const width = Math.max(10, columns() - 1)
      write(ERASE + (text.length > width ? `${text.slice(0, width - 1)}…` : text))
      shown = true
    }))

  /** The current console, with every line printed above the progress line. */
  const around = (base: Console.Console): Console.Console => {
    const wrap = <Args extends Array<any>>(f: (...args: Args) => Effect.Effect<void>) => (...args: Args) =>
      Effect.zipRight(clear, Effect.zipLeft(f(...args), draw))
    return { ...base, log: wrap(base.log), error: wrap(base.error), info: wrap(base.info), warn: wrap(base.warn) }
  }

  return {
    during: (wait, effect) =>
      !enabled ? effect : Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const start = yield* Clock.currentTimeMillis
          const entry = { wait, start, timeout: wait.timeout === undefined ? undefined : Duration.toMillis(Duration.decode(wait.timeout)) }
          active.add(entry)
          yield* draw
          const ticker = yield* Effect.fork(Effect.interruptible(Effect.forever(Effect.zipRight(Effect.sleep(interval), draw))))
          const base = yield* Effect.console
          return yield* restore(Effect.withConsole(effect, around(base))).pipe(
            Effect.ensuring(Effect.zipRight(Fiber.interrupt(ticker), Effect.suspend(() => {
              active.delete(entry)
              return Effect.zipRight(clear, active.size > 0 ? draw : Effect.void)
            })))
          )
        }))
  }
}

export const layer = (options: Options = {}): Layer.Layer<Progress> => Layer.sync(Progress, () => make(options))

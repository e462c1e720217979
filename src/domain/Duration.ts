/**
 * Durations as users write them and as Go prints them (cli.md §1.2, §3.4).
 *
 * `parseDuration` accepts Go `time.ParseDuration` syntax (`85s`, `1m25s`, `1.5h`, `300ms`,
 * `2µs`) and systemd time spans (`1min 25s`, `2 h`, `5min`, bare numbers as seconds).
 * Negative durations are rejected. `formatGoDuration` is Go `time.Duration.String()`.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { LazyTaggedError } from "./LazyTaggedError.js"

const NS = 1n
const US = 1_000n
const MS = 1_000_000n
const S = 1_000_000_000n
const MIN = 60n * S
const H = 60n * MIN
const D = 24n * H
const W = 7n * D

/** Largest Go duration (int64 nanoseconds). */
export const MAX_GO_DURATION_NANOS = (1n << 63n) - 1n

/** Units of Go and systemd, case-sensitive, in nanoseconds. */
const UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", NS],
  ["nsec", NS],
  ["us", US],
  ["\u00b5s", US], // micro sign (what Go prints)
  ["\u03bcs", US], // Greek small letter mu
  ["usec", US],
  ["ms", MS],
  ["msec", MS],
  ["s", S],
  ["sec", S],
  ["second", S],
  ["seconds", S],
  ["m", MIN],
  ["min", MIN],
  ["minute", MIN],
  ["minutes", MIN],
  ["h", H],
  ["hr", H],
  ["hour", H],
  ["hours", H],
  ["d", D],
  ["day", D],
  ["days", D],
  ["w", W],
  ["week", W],
  ["weeks", W]
])

const ACCEPTED_FORMS = "expected a Go duration (85s, 1m25s, 1.5h, 300ms; units ns us µs ms s m h) " +
  "or a systemd time span (1min 25s, 2 h, 5min; units usec msec sec min hr d w and their long forms; " +
  "a bare number is seconds)"

/** A duration text was rejected. */
export class DurationParseError extends LazyTaggedError<DurationParseError>()("DurationParseError", (S) => ({
  input: S.String,
  /** What is wrong, e.g. `unknown unit "x"`. */
  reason: S.String
})) {
  override get message(): string {
    return `invalid duration "${this.input}": ${this.reason}; ${ACCEPTED_FORMS}`
  }
}

const NUMBER = /^([0-9]*)(?:\.([0-9]*))?/
const UNIT = /^[A-Za-z\u00b5\u03bc]+/
const SPACE = /^\s+/

/** `int.frac` × unit in nanoseconds, fractions truncated to whole nanoseconds. */
const scaled = (int: string, frac: string, unit: bigint): bigint => {
  const whole = int === "" ? 0n : BigInt(int)
  const fraction = frac === "" ? 0n : (BigInt(frac) * unit) / 10n ** BigInt(frac.length)
  return whole * unit + fraction
}

/** Parses a duration; see the module comment for the accepted forms. */
export const parseDuration = (text: string): Either.Either<Duration.Duration, DurationParseError> => {
  const fail = (reason: string) => Either.left(new DurationParseError({ input: text, reason }))
  let rest = text.trim()
  if (rest === "") return fail("empty")
  if (rest.startsWith("-")) return fail("negative durations are not allowed")
  if (rest.startsWith("+")) rest = rest.slice(1)
  let total = 0n
  let components = 0
  while (rest !== "") {
    const number = NUMBER.exec(rest)!
    const [matched, int = "", frac = ""] = number
    if (int === "" && frac === "") {
      return fail(components === 0 ? "expected a number" : `expected a number at "${rest}"`)
    }
    rest = rest.slice(matched.length)
    const space = SPACE.exec(rest)
    if (space !== null) rest = rest.slice(space[0].length)
    const unitMatch = UNIT.exec(rest)
    let unit: bigint
    if (unitMatch !== null) {
      const found = UNITS.get(unitMatch[0])
      if (found === undefined) return fail(`unknown unit "${unitMatch[0]}"`)
      unit = found
      rest = rest.slice(unitMatch[0].length)
    } else if (rest === "" || space !== null) {
      unit = S // systemd: a number without unit is seconds
    } else {
      return fail(`missing unit before "${rest}"`)
    }
    total += scaled(int, frac, unit)
    if (total > MAX_GO_DURATION_NANOS) return fail("out of range")
    components++
    const after = SPACE.exec(rest)
    if (after !== null) rest = rest.slice(after[0].length)
  }
  return Either.right(Duration.nanos(total))
}

/** The duration in nanoseconds; infinite durations saturate at the largest Go duration. */
export const goNanos = (d: Duration.Duration): bigint =>
  Duration.isFinite(d) ? Duration.unsafeToNanos(d) : MAX_GO_DURATION_NANOS

/** Appends the fraction v / 10^prec without trailing zeros (no "." if zero); returns [text, v / 10^prec]. */
const fmtFrac = (v: bigint, prec: number): readonly [string, bigint] => {
  let out = ""
  let print = false
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n
    print = print || digit !== 0n
    if (print) out = digit.toString() + out
    v /= 10n
  }
  return [print ? "." + out : "", v]
}

/**
 * Go `time.Duration.String()`: `0s`, `1.5µs`, `300ms`, `10s`, `1m0s`, `3h25m7.4s`, `51h4m5s`
 * (hours are not split into days). Infinite durations print as the largest Go duration.
 */
export const formatGoDuration = (d: Duration.Duration): string => {
  const u = goNanos(d)
  if (u === 0n) return "0s"
  if (u < S) {
    const [unit, prec] = u < US ? ["ns", 0] as const : u < MS ? ["\u00b5s", 3] as const : ["ms", 6] as const
    const [frac, int] = fmtFrac(u, prec)
    return `${int}${frac}${unit}`
  }
  const [frac, secondsTotal] = fmtFrac(u, 9)
  let out = `${secondsTotal % 60n}${frac}s`
  const minutesTotal = secondsTotal / 60n
  if (minutesTotal > 0n) {
    out = `${minutesTotal % 60n}m${out}`
    const hours = minutesTotal / 60n
    if (hours > 0n) out = `${hours}h${out}`
  }
  return out
}

/**
 * Go `time.Duration.Round(m)` for non-negative durations: the nearest multiple of `m`,
 * halfway values rounded up. `m` of zero returns `d` unchanged.
 */
export const roundDuration = (d: Duration.Duration, m: Duration.Duration): Duration.Duration => {
  const value = goNanos(d)
  const multiple = goNanos(m)
  if (multiple <= 0n) return Duration.nanos(value)
  const r = value % multiple
  if (r + r < multiple) return Duration.nanos(value - r)
  const up = value + multiple - r
  return Duration.nanos(up > MAX_GO_DURATION_NANOS ? MAX_GO_DURATION_NANOS : up)
}

import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { formatGoDuration, MAX_GO_DURATION_NANOS, parseDuration, roundDuration } from "../../src/domain/Duration.js"

const S = 1_000_000_000n
const nanosOf = (text: string): bigint | string =>
  Either.match(parseDuration(text), { onLeft: (e) => e.message, onRight: (d) => Duration.unsafeToNanos(d) })

describe("parseDuration: Go syntax", () => {
  const rows: ReadonlyArray<readonly [string, bigint]> = [
    ["0", 0n],
    ["0s", 0n],
    ["85s", 85n * S],
    ["1m25s", 85n * S],
    ["1.5h", 5400n * S],
    ["300ms", 300_000_000n],
    ["2us", 2000n],
    ["2µs", 2000n], // U+00B5 micro sign
    ["2μs", 2000n], // U+03BC Greek mu
    ["7ns", 7n],
    ["1h30m", 5400n * S],
    ["3h25m7.4s", (3n * 3600n + 25n * 60n + 7n) * S + 400_000_000n],
    ["51h4m5s", (51n * 3600n + 4n * 60n + 5n) * S],
    [".5s", 500_000_000n],
    ["1.s", S],
    ["1.5µs", 1500n],
    ["+5s", 5n * S],
    ["1.0000000001s", S], // sub-nanosecond digits are truncated
    ["2562047h47m16.854775807s", MAX_GO_DURATION_NANOS]
  ]
  for (const [text, nanos] of rows) {
    it(`${JSON.stringify(text)} = ${nanos}ns`, () => assert.strictEqual(nanosOf(text), nanos))
  }
})

describe("parseDuration: systemd syntax", () => {
  const rows: ReadonlyArray<readonly [string, bigint]> = [
    ["1min 25s", 85n * S],
    ["1min25s", 85n * S],
    ["2 h", 7200n * S],
    ["5min", 300n * S],
    ["1h 30min", 5400n * S],
    ["85", 85n * S],
    ["1.5", 1_500_000_000n],
    ["  90s  ", 90n * S],
    ["1min 30", 90n * S],
    ["10 sec", 10n * S],
    ["1 second", S],
    ["2 seconds", 2n * S],
    ["2 minute", 120n * S],
    ["2 minutes", 120n * S],
    ["1hr", 3600n * S],
    ["1 hour", 3600n * S],
    ["2 hours", 7200n * S],
    ["1d", 86400n * S],
    ["1 day", 86400n * S],
    ["2 days", 172800n * S],
    ["1w", 604800n * S],
    ["1 week", 604800n * S],
    ["2 weeks", 1209600n * S],
    ["5msec", 5_000_000n],
    ["5usec", 5000n],
    ["5nsec", 5n],
    ["1d 2h 3min 4s 5ms", ((26n * 60n + 3n) * 60n + 4n) * S + 5_000_000n]
  ]
  for (const [text, nanos] of rows) {
    it(`${JSON.stringify(text)} = ${nanos}ns`, () => assert.strictEqual(nanosOf(text), nanos))
  }
})

describe("parseDuration: errors", () => {
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["", "empty"],
    ["   ", "empty"],
    ["-5s", "negative durations are not allowed"],
    ["5x", "unknown unit \"x\""],
    ["5S", "unknown unit \"S\""],
    ["5H", "unknown unit \"H\""],
    ["s", "expected a number"],
    [".s", "expected a number"],
    ["5s,3m", "expected a number at \",3m\""],
    ["1.5.5s", "missing unit before \".5s\""],
    ["1m-5s", "expected a number at \"-5s\""],
    ["2562047h47m16.854775808s", "out of range"],
    ["99999999999h", "out of range"]
  ]
  for (const [text, reason] of rows) {
    it(`${JSON.stringify(text)}: ${reason}`, () => {
      const message = nanosOf(text)
      assert.isString(message)
      assert.isTrue(
        (message as string).startsWith(`invalid duration "${text}": ${reason}; expected a Go duration (85s, 1m25s, 1.5h`),
        String(message)
      )
    })
  }
  it("the error names the accepted forms", () => {
    const result = parseDuration("soon")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "DurationParseError")
      assert.strictEqual(result.left.input, "soon")
      assert.include(result.left.message, "1min 25s")
      assert.include(result.left.message, "a bare number is seconds")
    }
  })
})

describe("formatGoDuration (Go time.Duration.String)", () => {
  const rows: ReadonlyArray<readonly [bigint, string]> = [
    [0n, "0s"],
    [1n, "1ns"],
    [999n, "999ns"],
    [1100n, "1.1µs"],
    [1500n, "1.5µs"],
    [2_200_000n, "2.2ms"],
    [300_000_000n, "300ms"],
    [3_300_000_000n, "3.3s"],
    [10n * S, "10s"],
    [60n * S, "1m0s"],
    [85n * S, "1m25s"],
    [90n * S, "1m30s"],
    [4n * 60n * S + 5n * S, "4m5s"],
    [4n * 60n * S + 5_001_000_000n, "4m5.001s"],
    [(5n * 3600n + 6n * 60n) * S + 7_001_000_000n, "5h6m7.001s"],
    [8n * 60n * S + 1n, "8m0.000000001s"],
    [(3n * 3600n + 25n * 60n + 7n) * S + 400_000_000n, "3h25m7.4s"],
    [(51n * 3600n + 4n * 60n + 5n) * S, "51h4m5s"],
    [3600n * S, "1h0m0s"],
    [MAX_GO_DURATION_NANOS, "2562047h47m16.854775807s"]
  ]
  for (const [nanos, text] of rows) {
    it(`${nanos}ns = ${text}`, () => assert.strictEqual(formatGoDuration(Duration.nanos(nanos)), text))
  }
  it("formats millisecond-based Effect durations", () => {
    assert.strictEqual(formatGoDuration(Duration.millis(1500)), "1.5s")
    assert.strictEqual(formatGoDuration(Duration.minutes(85)), "1h25m0s")
  })
  it("formats infinity as the largest Go duration", () => {
    assert.strictEqual(formatGoDuration(Duration.infinity), "2562047h47m16.854775807s")
  })
})

describe("round trips", () => {
  const texts = ["0s", "10s", "1m25s", "1m0s", "3h25m7.4s", "51h4m5s", "300ms", "1.5µs", "8m0.000000001s", "7ns"]
  for (const text of texts) {
    it(`format(parse(${JSON.stringify(text)})) = ${JSON.stringify(text)}`, () => {
      assert.strictEqual(formatGoDuration(Either.getOrThrow(parseDuration(text))), text)
    })
  }
  it("systemd text formats in Go notation", () => {
    assert.strictEqual(formatGoDuration(Either.getOrThrow(parseDuration("1min 25s"))), "1m25s")
    assert.strictEqual(formatGoDuration(Either.getOrThrow(parseDuration("1d"))), "24h0m0s")
  })
})

describe("roundDuration (Go Duration.Round)", () => {
  const d = (nanos: bigint) => Duration.nanos(nanos)
  const listExample = (3n * 3600n + 25n * 60n + 7n) * S + 400_000_000n
  it("rounds to 1s like `list` does", () => {
    assert.strictEqual(formatGoDuration(roundDuration(d(listExample + 12_345n), Duration.seconds(1))), "3h25m7s")
  })
  it("rounds to 0.1s", () => {
    assert.strictEqual(formatGoDuration(roundDuration(d(listExample + 12_345n), Duration.millis(100))), "3h25m7.4s")
  })
  it("rounds halfway up", () => {
    assert.strictEqual(formatGoDuration(roundDuration(d(1_500_000_000n), Duration.seconds(1))), "2s")
    assert.strictEqual(formatGoDuration(roundDuration(d(1_499_999_999n), Duration.seconds(1))), "1s")
  })
  it("rounds below half of the multiple to zero", () => {
    assert.strictEqual(formatGoDuration(roundDuration(d(400_000_000n), Duration.seconds(1))), "0s")
  })
  it("a zero multiple leaves the duration unchanged", () => {
    assert.strictEqual(formatGoDuration(roundDuration(d(123n), Duration.zero)), "123ns")
  })
})

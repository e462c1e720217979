/**
 * Pattern expressions (README "Pattern expressions") over random expressions: the parser and
 * evaluator agree with a BigInt reference evaluator written from the documented rules, formatting
 * round-trips through the parser, and patterns without expressions still expand exactly like Go
 * `os.Expand`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import {
  bin,
  type BinaryOperator,
  evaluate,
  type Expr,
  formatExpression,
  MAX_MAGNITUDE,
  neg,
  num,
  parseExpression,
  variable
} from "../../src/domain/Expression.js"
import { expand, expandPattern, lookupIn, parsePattern, storageScope } from "../../src/domain/Pattern.js"

const VARS: Readonly<Record<string, string>> = {
  seat: "3",
  "employee-id": "9000",
  "seat-1": "-41",
  zero: "0",
  big: String(MAX_MAGNITUDE),
  "minus-big": String(-MAX_MAGNITUDE),
  half: "4503599627370496",
  padded: "+007",
  word: "abc",
  empty: "",
  "x.y": "12"
}
const lookup = lookupIn(VARS)
const NAMES = [...Object.keys(VARS), "missing", "un-known"]

const operator = fc.constantFrom<BinaryOperator>("+", "-", "*", "/", "%")
const literal = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.maxSafeNat()).map(num)

/** Expressions over the variables above: some unknown, some not numbers, some near 2^53. */
const expression: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    literal,
    fc.constantFrom(...NAMES).map(variable),
    tie("e").map(neg),
    fc.tuple(operator, tie("e"), tie("e")).map(([op, l, r]) => bin(op, l, r))
  )
})).e

/** Variable names as the tokeniser reads them: word characters, not starting with "-", not all digits. */
const name = fc.stringMatching(/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,6}$/).filter((n) => !/^[0-9]+$/.test(n))
const anyExpression: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    literal,
    name.map(variable),
    tie("e").map(neg),
    fc.tuple(operator, tie("e"), tie("e")).map(([op, l, r]) => bin(op, l, r))
  )
})).e

// ---------------------------------------------------------------------------
// Reference: the documented semantics, on BigInt, straight from the tree

type Outcome = { readonly value: bigint } | { readonly problem: string }
const MAX = BigInt(MAX_MAGNITUDE)
const inRange = (v: bigint): Outcome => (v > MAX || v < -MAX ? { problem: "overflow" } : { value: v })

const reference = (e: Expr): Outcome => {
  switch (e._tag) {
    case "Num":
      return { value: BigInt(e.value) }
    case "Var": {
      const text = Object.prototype.hasOwnProperty.call(VARS, e.name) ? VARS[e.name] : undefined
      if (text === undefined) return { problem: "unknown-variable" }
      if (!/^[+-]?[0-9]+$/.test(text)) return { problem: "not-a-number" }
      return inRange(BigInt(text))
    }
    case "Neg": {
      const v = reference(e.operand)
      return "value" in v ? { value: -v.value } : v
    }
    case "Bin": {
      const a = reference(e.left)
      if (!("value" in a)) return a
      const b = reference(e.right)
      if (!("value" in b)) return b
      const [x, y] = [a.value, b.value]
      switch (e.op) {
        case "+":
          return inRange(x + y)
        case "-":
          return inRange(x - y)
        case "*":
          return inRange(x * y)
        case "/":
          return y === 0n ? { problem: "division-by-zero" } : inRange(x / y) // BigInt division truncates toward zero
        case "%":
          return y === 0n ? { problem: "division-by-zero" } : inRange(x % y)
      }
    }
  }
}

/** Fully parenthesised text with random whitespace: precedence plays no part in its meaning. */
const spaced = (e: Expr, spaces: () => string): string => {
  const s = spaces
  switch (e._tag) {
    case "Num":
      return String(e.value)
    case "Var":
      return e.name
    case "Neg":
      return `-${s()}(${s()}${spaced(e.operand, s)}${s()})`
    case "Bin":
      return `(${s()}${spaced(e.left, s)}${s()})${s()}${e.op}${s()}(${s()}${spaced(e.right, s)}${s()})`
  }
}

const outcomeOf = (text: string): Outcome => {
  const parsed = parseExpression(text)
  if ("problem" in parsed) return { problem: `parse: ${JSON.stringify(parsed.problem)}` }
  const v = evaluate(parsed.expr, lookup)
  return typeof v === "number" ? { value: BigInt(v) } : { problem: v._tag }
}

describe("pattern expressions", () => {
  it.prop("evaluation of the formatted text matches the reference", [expression], ([e]) => {
    expect(outcomeOf(formatExpression(e))).toEqual(reference(e))
  }, { fastCheck: { numRuns: 3000 } })

  it.prop("fully parenthesised text with any whitespace means the same", [
    expression,
    fc.array(fc.constantFrom("", " ", "\t", "  ", "\n"), { minLength: 1, maxLength: 16 })
  ], ([e, blanks]) => {
    let i = 0
    const text = spaced(e, () => blanks[i++ % blanks.length]!)
    expect(outcomeOf(text)).toEqual(reference(e))
  }, { fastCheck: { numRuns: 2000 } })

  it.prop("format then parse gives the tree back", [anyExpression], ([e]) => {
    const text = formatExpression(e)
    expect(parseExpression(text)).toEqual({ expr: e })
  }, { fastCheck: { numRuns: 3000 } })

  it.prop("an expression in a storage pattern expands to its value", [expression], ([e]) => {
    const ref = reference(e)
    const pattern = `vm/\${(${formatExpression(e)})}.raw`
    const result = expandPattern(pattern, storageScope(lookup))
    if ("value" in ref) expect(result).toEqual(Either.right(`vm/${ref.value}.raw`))
    else expect(Either.isLeft(result)).toBe(true)
  }, { fastCheck: { numRuns: 1000 } })
})

describe("patterns without expressions", () => {
  /** Characters that make every branch of Go's reference scanner likely. */
  const patternChar = fc.constantFrom("$", "$", "{", "}", "a", "b", "-", "_", "1", "*", ".", "/", "x")
  const pattern = fc.array(patternChar, { maxLength: 14 }).map((cs) => cs.join(""))
  const goVars = lookupIn({ a: "A", b: "B", ab: "AB", "a-b": "A-B", "1": "ONE", "*": "STAR", "-": "DASH", x: "X", "a.b": "A.B" })

  it.prop("expand exactly like Go os.Expand, or are refused as malformed", [pattern], ([p]) => {
    const parsed = parsePattern(p)
    const result = expandPattern(p, storageScope(goVars))
    if ("_tag" in parsed) {
      // Refused: a "${" inside a name, a "${" never closed, or a braced text read as an expression.
      expect(Either.isLeft(result)).toBe(true)
      if (parsed._tag === "nested") expect(p).toContain("${")
      if (parsed._tag === "unclosed") expect(p.slice(parsed.column - 1)).not.toContain("}")
    } else if (parsed.parts.every((part) => part._tag !== "Expr")) {
      expect(result).toEqual(Either.right(expand(p, goVars)))
    }
  }, { fastCheck: { numRuns: 5000 } })
})

import { assert, describe, it } from "@effect/vitest"
import {
  bin,
  evaluate,
  type Expr,
  formatExpression,
  MAX_MAGNITUDE,
  neg,
  num,
  parseExpression,
  variable,
  variablesOf
} from "../../src/domain/Expression.js"

const parsed = (text: string): Expr => {
  const result = parseExpression(text)
  if ("problem" in result) throw new Error(`${text}: ${JSON.stringify(result.problem)}`)
  return result.expr
}

const problemOf = (text: string) => {
  const result = parseExpression(text)
  return "problem" in result ? result.problem : undefined
}

const vars: Record<string, string> = {
  seat: "3",
  "employee-id": "9000",
  "seat-1": "41",
  a: "10",
  b: "4",
  zero: "0",
  neg: "-7",
  plus: "+5",
  padded: "007",
  word: "abc",
  empty: "",
  spaced: " 1",
  huge: String(MAX_MAGNITUDE),
  past: "9007199254740992",
  "x.y": "2",
  _u: "6",
  "1x": "8"
}
const lookup = (name: string): string | undefined => Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined
const value = (text: string) => evaluate(parsed(text), lookup)

describe("parseExpression: tokens", () => {
  const rows: ReadonlyArray<readonly [string, Expr]> = [
    ["5900 + seat", bin("+", num(5900), variable("seat"))],
    ["5900+seat", bin("+", num(5900), variable("seat"))],
    ["employee-id", variable("employee-id")],
    ["seat-1", variable("seat-1")],
    ["seat - 1", bin("-", variable("seat"), num(1))],
    ["seat -1", bin("-", variable("seat"), num(1))],
    ["(seat)", variable("seat")],
    ["x.y * _u", bin("*", variable("x.y"), variable("_u"))],
    ["1x % 3", bin("%", variable("1x"), num(3))],
    ["007", num(7)],
    ["\t1\n+\r2 ", bin("+", num(1), num(2))],
    ["-seat", neg(variable("seat"))],
    ["- -seat", neg(neg(variable("seat")))],
    ["--seat", neg(neg(variable("seat")))],
    ["2 * -3", bin("*", num(2), neg(num(3)))]
  ]
  for (const [text, expected] of rows) {
    it(JSON.stringify(text), () => assert.deepStrictEqual(parsed(text), expected))
  }
})

describe("parseExpression: precedence and associativity", () => {
  const rows: ReadonlyArray<readonly [string, Expr]> = [
    ["4000 + employee-id * 2", bin("+", num(4000), bin("*", variable("employee-id"), num(2)))],
    ["1 - 2 - 3", bin("-", bin("-", num(1), num(2)), num(3))],
    ["1 - (2 - 3)", bin("-", num(1), bin("-", num(2), num(3)))],
    ["8 / 4 / 2", bin("/", bin("/", num(8), num(4)), num(2))],
    ["1 + 2 * 3 % 4", bin("+", num(1), bin("%", bin("*", num(2), num(3)), num(4)))],
    ["(1 + 2) * 3", bin("*", bin("+", num(1), num(2)), num(3))],
    ["-(1 + 2)", neg(bin("+", num(1), num(2)))],
    ["-2 * 3", bin("*", neg(num(2)), num(3))]
  ]
  for (const [text, expected] of rows) {
    it(JSON.stringify(text), () => assert.deepStrictEqual(parsed(text), expected))
  }
})

describe("parseExpression: syntax errors", () => {
  const rows: ReadonlyArray<readonly [string, number, string]> = [
    ["", 1, "expected a number, a variable or \"(\" but found the end"],
    ["5900 +", 7, "expected a number, a variable or \"(\" but found the end"],
    ["5900 + * 2", 8, "expected a number, a variable or \"(\" but found \"*\""],
    ["a b", 3, "expected an operator but found the name \"b\""],
    ["1 2", 3, "expected an operator but found the number 2"],
    ["seat- 1", 7, "expected an operator but found the number 1"],
    ["(1 + 2", 7, "expected \")\" to close the \"(\" at column 1 but found the end"],
    ["1 + 2)", 6, "expected an operator but found \")\""],
    ["()", 2, "expected a number, a variable or \"(\" but found \")\""],
    ["a + b:c", 6, "unexpected character \":\""],
    ["5900 + ${seat", 8, "unexpected character \"$\""]
  ]
  for (const [text, column, detail] of rows) {
    it(JSON.stringify(text), () => assert.deepStrictEqual(problemOf(text), { _tag: "syntax", column, detail }))
  }
  it("a literal past 2^53 − 1", () => {
    assert.deepStrictEqual(problemOf("1 + 9007199254740992"), { _tag: "literal-overflow", literal: "9007199254740992" })
    assert.deepStrictEqual(parsed("9007199254740991"), num(MAX_MAGNITUDE))
  })
})

describe("evaluate", () => {
  const rows: ReadonlyArray<readonly [string, number]> = [
    ["5900 + seat", 5903],
    ["4000 + employee-id * 2", 22000],
    ["seat-1 + 1", 42],
    ["seat - 1", 2],
    ["7 / 2", 3],
    ["-7 / 2", -3],
    ["7 / -2", -3],
    ["-7 / -2", 3],
    ["7 % 3", 1],
    ["-7 % 3", -1],
    ["7 % -3", 1],
    ["neg / 2", -3],
    ["plus + padded", 12],
    ["huge - 1 + 1", MAX_MAGNITUDE],
    ["0 - huge", -MAX_MAGNITUDE],
    ["-huge / -1", MAX_MAGNITUDE],
    ["9007199254740991 / 3", 3002399751580330],
    ["9007199254740990 / 9007199254740991", 0],
    ["-(0)", 0],
    ["0 * -1", 0]
  ]
  for (const [text, expected] of rows) {
    it(`${text} = ${expected}`, () => {
      const v = value(text)
      assert.strictEqual(v, expected)
      assert.isFalse(Object.is(v, -0), "never -0 (it would print as 0 but compare differently)")
    })
  }

  const problems: ReadonlyArray<readonly [string, unknown]> = [
    ["5900 + missing", { _tag: "unknown-variable", name: "missing" }],
    ["seat + word", { _tag: "not-a-number", name: "word", value: "abc" }],
    ["empty * 1", { _tag: "not-a-number", name: "empty", value: "" }],
    ["spaced + 0", { _tag: "not-a-number", name: "spaced", value: " 1" }],
    ["a / zero", { _tag: "division-by-zero", operation: "10 / 0" }],
    ["a % (b - 4)", { _tag: "division-by-zero", operation: "10 % 0" }],
    ["huge + 1", { _tag: "overflow", operation: "9007199254740991 + 1", value: "9007199254740992" }],
    ["-huge - 2", { _tag: "overflow", operation: "-9007199254740991 - 2", value: "-9007199254740993" }],
    ["huge * huge", {
      _tag: "overflow",
      operation: "9007199254740991 * 9007199254740991",
      value: "81129638414606663681390495662081"
    }],
    ["past + 0", { _tag: "overflow", operation: "variable past", value: "9007199254740992" }],
    ["missing / zero", { _tag: "unknown-variable", name: "missing" }],
    ["a / zero + missing", { _tag: "division-by-zero", operation: "10 / 0" }]
  ]
  for (const [text, expected] of problems) {
    it(`${text} fails`, () => assert.deepStrictEqual(value(text), expected))
  }
})

describe("formatExpression", () => {
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["5900+seat", "5900 + seat"],
    ["(1 + 2) * 3", "(1 + 2) * 3"],
    ["1 + (2 * 3)", "1 + 2 * 3"],
    ["1 - (2 - 3)", "1 - (2 - 3)"],
    ["(1 - 2) - 3", "1 - 2 - 3"],
    ["-(a + b)", "-(a + b)"],
    ["- -a", "--a"],
    ["(-a) * b", "-a * b"],
    ["a - -b", "a - -b"],
    ["a / (b % c)", "a / (b % c)"]
  ]
  for (const [text, expected] of rows) {
    it(`${text} → ${expected}`, () => {
      assert.strictEqual(formatExpression(parsed(text)), expected)
      assert.deepStrictEqual(parsed(expected), parsed(text))
    })
  }
})

it("variablesOf lists each name once, in order", () => {
  assert.deepStrictEqual(variablesOf(parsed("b + a * (b - c) / -a")), ["b", "a", "c"])
})

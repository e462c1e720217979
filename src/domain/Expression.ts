/**
 * Integer expressions inside pattern references (`${5900 + seat}`, `${4000 + employee-id * 2}`).
 *
 * Syntax (README "Pattern expressions"):
 * - tokens are separated by optional whitespace; operators are `+ - * / %` and parentheses;
 * - a word is a maximal run of `[A-Za-z0-9_.-]` that does not start with `-`: a word of digits
 *   only is a decimal literal, any other word is a variable name (so `employee-id` and `seat-1`
 *   are names; subtraction is written `seat - 1`, or `seat -1`: a `-` that starts a token is
 *   always the operator);
 * - `*`, `/`, `%` bind tighter than `+`, `-`; all four are left-associative; a `-` where an
 *   operand is expected is unary minus.
 *
 * Semantics: integers within ±(2^53 − 1) (`Number.MAX_SAFE_INTEGER`); every literal, variable
 * value and intermediate result must stay in that range. `/` truncates toward zero and `%` takes
 * the sign of the dividend (`-7 / 2` = -3, `-7 % 2` = -1); dividing by zero is an error. Variable
 * values must be decimal integers (optional sign, digits only).
 *
 * Pure: no I/O. Errors are plain data here; Pattern.ts wraps them with the pattern and its use.
 */

export type BinaryOperator = "+" | "-" | "*" | "/" | "%"

export type Expr =
  | { readonly _tag: "Num"; readonly value: number }
  | { readonly _tag: "Var"; readonly name: string }
  | { readonly _tag: "Neg"; readonly operand: Expr }
  | { readonly _tag: "Bin"; readonly op: BinaryOperator; readonly left: Expr; readonly right: Expr }

export const num = (value: number): Expr => ({ _tag: "Num", value })
export const variable = (name: string): Expr => ({ _tag: "Var", name })
export const neg = (operand: Expr): Expr => ({ _tag: "Neg", operand })
export const bin = (op: BinaryOperator, left: Expr, right: Expr): Expr => ({ _tag: "Bin", op, left, right })

/** The largest magnitude an expression value may have: 2^53 − 1. */
export const MAX_MAGNITUDE = Number.MAX_SAFE_INTEGER

// ---------------------------------------------------------------------------
// Tokens

/** Characters of a word (literal or variable name). */
export const isWordChar = (c: string): boolean =>
  c === "_" || c === "." || c === "-" || (c >= "0" && c <= "9") || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")

const isSpace = (c: string): boolean => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f"

const DIGITS = /^[0-9]+$/

type Token =
  | { readonly kind: "num"; readonly text: string; readonly column: number }
  | { readonly kind: "name"; readonly text: string; readonly column: number }
  | { readonly kind: "op"; readonly text: BinaryOperator | "(" | ")"; readonly column: number }
  | { readonly kind: "end"; readonly text: ""; readonly column: number }

/** Why an expression could not be parsed; `column` is 1-based within the expression text. */
export interface ExprSyntaxProblem {
  readonly _tag: "syntax"
  readonly column: number
  readonly detail: string
}

/** A literal past 2^53 − 1. */
export interface ExprLiteralOverflow {
  readonly _tag: "literal-overflow"
  readonly literal: string
}

export type ExprParseProblem = ExprSyntaxProblem | ExprLiteralOverflow

const syntax = (column: number, detail: string): ExprSyntaxProblem => ({ _tag: "syntax", column, detail })

const tokenize = (text: string): Array<Token> | ExprSyntaxProblem => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (isSpace(c)) {
      i++
    } else if (c === "+" || c === "-" || c === "*" || c === "/" || c === "%" || c === "(" || c === ")") {
      tokens.push({ kind: "op", text: c, column: i + 1 })
      i++
    } else if (isWordChar(c)) {
      const start = i
      while (i < text.length && isWordChar(text[i]!)) i++
      const word = text.slice(start, i)
      tokens.push({ kind: DIGITS.test(word) ? "num" : "name", text: word, column: start + 1 })
    } else {
      return syntax(i + 1, `unexpected character ${JSON.stringify(c)}`)
    }
  }
  tokens.push({ kind: "end", text: "", column: text.length + 1 })
  return tokens
}

const describeToken = (t: Token): string =>
  t.kind === "end" ? "the end" : t.kind === "num" ? `the number ${t.text}` : t.kind === "name" ? `the name ${JSON.stringify(t.text)}` : `"${t.text}"`

// ---------------------------------------------------------------------------
// Parser (recursive descent)

class Parser {
  private at = 0
  problem: ExprParseProblem | undefined = undefined
  constructor(private readonly tokens: ReadonlyArray<Token>) {}

  private peek(): Token {
    return this.tokens[this.at]!
  }

  private fail(problem: ExprParseProblem): Expr {
    if (this.problem === undefined) this.problem = problem
    return num(0)
  }

  parse(): Expr {
    const e = this.sum()
    const t = this.peek()
    if (this.problem === undefined && t.kind !== "end") {
      return this.fail(syntax(t.column, `expected an operator but found ${describeToken(t)}`))
    }
    return e
  }

  private sum(): Expr {
    let left = this.product()
    for (;;) {
      const t = this.peek()
      if (this.problem !== undefined || t.kind !== "op" || (t.text !== "+" && t.text !== "-")) return left
      this.at++
      left = bin(t.text, left, this.product())
    }
  }

  private product(): Expr {
    let left = this.unary()
    for (;;) {
      const t = this.peek()
      if (this.problem !== undefined || t.kind !== "op" || (t.text !== "*" && t.text !== "/" && t.text !== "%")) return left
      this.at++
      left = bin(t.text, left, this.unary())
    }
  }

  private unary(): Expr {
    const t = this.peek()
    if (t.kind === "op" && t.text === "-") {
      this.at++
      return neg(this.unary())
    }
    return this.primary()
  }

  private primary(): Expr {
    if (this.problem !== undefined) return num(0)
    const t = this.peek()
    if (t.kind === "num") {
      this.at++
      const value = Number(t.text)
      return value > MAX_MAGNITUDE ? this.fail({ _tag: "literal-overflow", literal: t.text }) : num(value)
    }
    if (t.kind === "name") {
      this.at++
      return variable(t.text)
    }
    if (t.kind === "op" && t.text === "(") {
      this.at++
      const inner = this.sum()
      const close = this.peek()
      if (this.problem !== undefined) return inner
      if (close.kind !== "op" || close.text !== ")") {
        return this.fail(syntax(close.column, `expected ")" to close the "(" at column ${t.column} but found ${describeToken(close)}`))
      }
      this.at++
      return inner
    }
    return this.fail(syntax(t.column, `expected a number, a variable or "(" but found ${describeToken(t)}`))
  }
}

/** Parses an expression (the text between `${` and `}`). */
export const parseExpression = (text: string): { readonly expr: Expr } | { readonly problem: ExprParseProblem } => {
  const tokens = tokenize(text)
  if (!Array.isArray(tokens)) return { problem: tokens }
  const parser = new Parser(tokens)
  const expr = parser.parse()
  return parser.problem !== undefined ? { problem: parser.problem } : { expr }
}

// ---------------------------------------------------------------------------
// Formatting

const precedence = (e: Expr): number =>
  e._tag === "Bin" ? (e.op === "+" || e.op === "-" ? 1 : 2) : e._tag === "Neg" ? 3 : 4

/**
 * Formats an expression with single spaces around binary operators and only the parentheses the
 * precedence rules need; `parseExpression(formatExpression(e))` gives `e` back.
 */
export const formatExpression = (e: Expr): string => {
  switch (e._tag) {
    case "Num":
      return String(e.value)
    case "Var":
      return e.name
    case "Neg": {
      const inner = formatExpression(e.operand)
      return precedence(e.operand) < 3 ? `-(${inner})` : `-${inner}`
    }
    case "Bin": {
      const p = precedence(e)
      const left = formatExpression(e.left)
      const right = formatExpression(e.right)
      return `${precedence(e.left) < p ? `(${left})` : left} ${e.op} ${precedence(e.right) <= p ? `(${right})` : right}`
    }
  }
}

// ---------------------------------------------------------------------------
// Evaluation

/** Why an expression could not be evaluated. */
export type ExprEvalProblem =
  | { readonly _tag: "unknown-variable"; readonly name: string }
  | { readonly _tag: "not-a-number"; readonly name: string; readonly value: string }
  | { readonly _tag: "division-by-zero"; readonly operation: string }
  | { readonly _tag: "overflow"; readonly operation: string; readonly value: string }

const DECIMAL = /^[+-]?[0-9]+$/

/** Reads a variable's value as a decimal integer within ±(2^53 − 1). */
const numericValue = (name: string, value: string): number | ExprEvalProblem => {
  if (!DECIMAL.test(value)) return { _tag: "not-a-number", name, value }
  const n = Number(value)
  return Math.abs(n) > MAX_MAGNITUDE ? { _tag: "overflow", operation: `variable ${name}`, value } : n === 0 ? 0 : n
}

/**
 * Evaluates an expression; `lookup` gives a variable's text or `undefined` when it is not defined.
 * Returns the integer or the first problem met (left operands before right ones).
 */
export const evaluate = (e: Expr, lookup: (name: string) => string | undefined): number | ExprEvalProblem => {
  switch (e._tag) {
    case "Num":
      return e.value
    case "Var": {
      const value = lookup(e.name)
      return value === undefined ? { _tag: "unknown-variable", name: e.name } : numericValue(e.name, value)
    }
    case "Neg": {
      const v = evaluate(e.operand, lookup)
      return typeof v === "number" ? (v === 0 ? 0 : -v) : v
    }
    case "Bin": {
      const a = evaluate(e.left, lookup)
      if (typeof a !== "number") return a
      const b = evaluate(e.right, lookup)
      if (typeof b !== "number") return b
      let r: number
      switch (e.op) {
        case "+":
          r = a + b
          break
        case "-":
          r = a - b
          break
        case "*":
          r = a * b
          break
        case "/":
        case "%": {
          if (b === 0) return { _tag: "division-by-zero", operation: `${a} ${e.op} ${b}` }
          const rem = a % b // exact for safe integers; sign of the dividend
          // (a - rem) is an exact multiple of b, so this division is exact: truncation toward zero.
          r = e.op === "%" ? rem : (a - rem) / b
          break
        }
      }
      // Past 2^53 − 1 the float result may be rounded, but never back into the safe range.
      if (Math.abs(r) > MAX_MAGNITUDE) {
        return { _tag: "overflow", operation: `${a} ${e.op} ${b}`, value: String(exact(e.op, a, b)) }
      }
      return r === 0 ? 0 : r
    }
  }
}

/** The exact result of an operation on safe integers (for overflow messages). */
const exact = (op: BinaryOperator, a: number, b: number): bigint => {
  const x = BigInt(a)
  const y = BigInt(b)
  return op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : op === "/" ? x / y : x % y
}

/** Variable names an expression refers to, in order of first appearance. */
export const variablesOf = (e: Expr, into: Array<string> = []): Array<string> => {
  switch (e._tag) {
    case "Num":
      break
    case "Var":
      if (!into.includes(e.name)) into.push(e.name)
      break
    case "Neg":
      variablesOf(e.operand, into)
      break
    case "Bin":
      variablesOf(e.left, into)
      variablesOf(e.right, into)
      break
  }
  return into
}

/**
 * Variable expansion and path rules (config.md §3.2, §5).
 *
 * - `expand` reproduces Go `os.Expand` byte for byte (unknown variables expand to ""): the reference.
 * - `parsePattern` / `expandPattern` are what machina uses: Go's reading of `$name` and `${name}`,
 *   plus integer expressions in `${...}` (Expression.ts) and refusal of malformed references (a
 *   `${` inside a variable name or never closed). Patterns are parsed once and memoised.
 * - `expandPort` / `effectivePort` reproduce the port-pattern rules and their error texts,
 *   including Go `strconv.Atoi` parsing and `strconv.Quote` quoting; an unknown variable there is
 *   an error (issue 9), the storage built-ins excepted (they expand to "" as in the original).
 * - `posixJoin` is Go `path.Join` (with `path.Clean`); `volumeFileName` is the volume path rule.
 *
 * Pure: no I/O.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { evaluate, type Expr, type ExprEvalProblem, type ExprParseProblem, MAX_MAGNITUDE, parseExpression, variablesOf } from "./Expression.js"
import { goQuote, posixJoin } from "./GoText.js"
import { LazyTaggedError } from "./LazyTaggedError.js"

// ---------------------------------------------------------------------------
// Variables

/** A variable set: a Map or a plain record of string values. */
export type Vars = ReadonlyMap<string, string> | Readonly<Record<string, string>>

/** A variable lookup: `undefined` means "not defined" (expands to ""). */
export type Lookup = (name: string) => string | undefined

const isMap = (vars: Vars): vars is ReadonlyMap<string, string> => vars instanceof Map

/** Turns a variable set into a lookup function (own properties only for records). */
export const lookupIn = (vars: Vars): Lookup =>
  isMap(vars)
    ? (name) => vars.get(name)
    : (name) => (Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined)

const entriesOf = (vars: Vars): Iterable<readonly [string, string]> =>
  isMap(vars) ? vars.entries() : Object.entries(vars)

/**
 * Merges variable sets, the first set defining a name wins
 * (config.md §5.2: built-ins, then `volume`, then the merged `vars`).
 */
export const firstWinsVars = (...sets: ReadonlyArray<Vars>): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  for (const set of sets) {
    for (const [name, value] of entriesOf(set)) {
      if (!out.has(name)) out.set(name, value)
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// os.Expand

const isShellSpecialVar = (c: string): boolean => "*#$@!?-0123456789".includes(c) && c.length === 1

const isAlphaNum = (c: string): boolean =>
  c === "_" || (c >= "0" && c <= "9") || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")

/**
 * Reads the variable reference after a `$` (the text `s`, non-empty).
 * Returns the variable name ("" for none) and how many characters were consumed.
 */
const shellName = (s: string): readonly [name: string, width: number] => {
  if (s[0] === "{") {
    if (s.length > 2 && isShellSpecialVar(s[1]!) && s[2] === "}") return [s[1]!, 3]
    for (let i = 1; i < s.length; i++) {
      if (s[i] === "}") {
        if (i === 1) return ["", 2] // "${}": invalid, eaten
        return [s.slice(1, i), i + 1]
      }
    }
    return ["", 1] // "${" without "}": invalid, only "${" is eaten
  }
  if (isShellSpecialVar(s[0]!)) return [s[0]!, 1]
  let i = 0
  while (i < s.length && isAlphaNum(s[i]!)) i++
  return [s.slice(0, i), i]
}

/**
 * Expands `$name` and `${name}` references exactly like Go `os.Expand`
 * (config.md §5.1). Unknown variables (lookup returns `undefined`) expand to "".
 */
export const expand = (pattern: string, lookup: Lookup): string => {
  let out = ""
  let copiedUpTo = 0
  for (let j = 0; j < pattern.length; j++) {
    if (pattern[j] === "$" && j + 1 < pattern.length) {
      out += pattern.slice(copiedUpTo, j)
      const [name, width] = shellName(pattern.slice(j + 1))
      if (name === "" && width > 0) {
        // invalid syntax: the characters are eaten
      } else if (name === "") {
        out += "$" // "$" not followed by a name: kept literally
      } else {
        out += lookup(name) ?? ""
      }
      j += width
      copiedUpTo = j + 1
    }
  }
  return out + pattern.slice(copiedUpTo)
}

// ---------------------------------------------------------------------------
// Go strconv.Atoi

const INT64_MAX = (1n << 63n) - 1n
const UINT64_MAX = (1n << 64n) - 1n

/** Why Go `strconv.Atoi` rejected a string. */
export type AtoiFailure = "invalid syntax" | "value out of range"

/**
 * Go `strconv.Atoi` on a 64-bit platform: optional `+`/`-`, ASCII digits only, no
 * whitespace, leading zeros allowed, result within int64. Returns a bigint (ports
 * only need small values, but error texts print the exact number).
 */
export const goAtoi = (text: string): Either.Either<bigint, AtoiFailure> => {
  let digits = text
  let negative = false
  if (digits.startsWith("+") || digits.startsWith("-")) {
    negative = digits.startsWith("-")
    digits = digits.slice(1)
  }
  if (digits === "") return Either.left("invalid syntax")
  let n = 0n
  for (const ch of digits) {
    if (ch < "0" || ch > "9" || ch.length !== 1) return Either.left("invalid syntax")
    n = n * 10n + BigInt(ch.charCodeAt(0) - 48)
    // Go's ParseUint reports overflow as soon as the running value passes uint64.
    if (n > UINT64_MAX) return Either.left("value out of range")
  }
  if (negative ? n > INT64_MAX + 1n : n > INT64_MAX) return Either.left("value out of range")
  return Either.right(negative ? -n : n)
}

// ---------------------------------------------------------------------------
// Parsed patterns: references, expressions, malformed references

/** One piece of a pattern. */
export type PatternPart =
  | { readonly _tag: "Text"; readonly text: string }
  /** A plain reference `$name` / `${name}` (Go `os.Expand`). */
  | { readonly _tag: "Ref"; readonly name: string }
  /** An expression reference `${5900 + seat}`; `source` is the whole reference as written. */
  | { readonly _tag: "Expr"; readonly source: string; readonly expr: Expr }

/** A pattern split into its parts, once (see `parsePattern`). */
export interface ParsedPattern {
  readonly pattern: string
  readonly parts: ReadonlyArray<PatternPart>
}

/** Why a pattern cannot be read, independent of where it is used. */
export type PatternParseProblem =
  | { readonly _tag: "nested"; readonly name: string; readonly column: number }
  | { readonly _tag: "unclosed"; readonly column: number }
  | { readonly _tag: "expression"; readonly source: string; readonly problem: ExprParseProblem }

/** Where a pattern is used: a storage pool's `pattern` or a `port-pattern` attribute. */
export type PatternUsage = "storage" | "port"

const usageField = Schema.Literal("storage", "port")

const head = (usage: PatternUsage, pattern: string): string => `${usage} pattern "${pattern}"`

/**
 * A `${` opened inside a variable name (`${machine-name/${volume}.raw`), or a `${` never closed
 * by `}`. Go `os.Expand` silently reads these as odd names or drops the `${`; machina refuses them.
 */
export class PatternMalformedError extends LazyTaggedError<PatternMalformedError>()("PatternMalformedError", {
  usage: usageField,
  pattern: Schema.String,
  problem: Schema.Literal("nested", "unclosed"),
  /** 1-based column of the offending `${` in the pattern. */
  column: Schema.Number,
  /** For `nested`: the text Go would take as the variable name. */
  name: Schema.String
}) {
  override get message(): string {
    return this.problem === "nested"
      ? `${head(this.usage, this.pattern)}: "\${" at column ${this.column} is opened inside the variable name ` +
        `"${this.name}" (close each "\${" with "}" before opening the next)`
      : `${head(this.usage, this.pattern)}: "\${" at column ${this.column} is never closed by "}"`
  }
}

/** An expression reference that does not parse. */
export class PatternSyntaxError extends LazyTaggedError<PatternSyntaxError>()("PatternSyntaxError", {
  usage: usageField,
  pattern: Schema.String,
  /** The reference as written, `${...}`. */
  expression: Schema.String,
  /** 1-based column inside the expression text (after `${`). */
  column: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `${head(this.usage, this.pattern)}: syntax error in ${this.expression} at column ${this.column}: ${this.detail}`
  }
}

/**
 * A reference to a variable that is not defined: in a port pattern (any reference) or inside an
 * expression (storage or port). Plain references in storage patterns expand to "" instead.
 */
export class PatternUnknownVariableError extends LazyTaggedError<PatternUnknownVariableError>()(
  "PatternUnknownVariableError",
  {
    usage: usageField,
    pattern: Schema.String,
    variable: Schema.String,
    /** The variables that do exist, each with where it is defined: `slot (file: $.vars.slot)`. */
    defined: Schema.Array(Schema.String),
    /** The expression it was used in, when it was. */
    expression: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    const scope = this.usage === "port"
      ? "port patterns see only vars"
      : `storage patterns see the built-ins ${STORAGE_BUILTINS.join(", ")} and vars`
    const defined = this.defined.length > 0
      ? `${this.usage === "port" ? "defined" : "vars defined"}: ${this.defined.join(", ")}`
      : "none is defined for this machine"
    const hint = this.expression !== undefined && this.variable.includes("-")
      ? `; to subtract, put spaces around "-" (a - b)`
      : ""
    return `${head(this.usage, this.pattern)}: unknown variable "${this.variable}"` +
      (this.expression !== undefined ? ` in ${this.expression}` : "") +
      ` (${scope}; ${defined})${hint}`
  }
}

/** A variable used in an expression whose value is not a decimal integer. */
export class PatternNotANumberError extends LazyTaggedError<PatternNotANumberError>()("PatternNotANumberError", {
  usage: usageField,
  pattern: Schema.String,
  expression: Schema.String,
  variable: Schema.String,
  value: Schema.String
}) {
  override get message(): string {
    return `${head(this.usage, this.pattern)}: in ${this.expression}, variable "${this.variable}" is ` +
      `${JSON.stringify(this.value)}, not a decimal integer`
  }
}

/** `/` or `%` by zero. */
export class PatternDivisionByZeroError extends LazyTaggedError<PatternDivisionByZeroError>()(
  "PatternDivisionByZeroError",
  { usage: usageField, pattern: Schema.String, expression: Schema.String, operation: Schema.String }
) {
  override get message(): string {
    return `${head(this.usage, this.pattern)}: in ${this.expression}, division by zero (${this.operation})`
  }
}

/** A literal, variable value or intermediate result past ±(2^53 − 1). */
export class PatternOverflowError extends LazyTaggedError<PatternOverflowError>()("PatternOverflowError", {
  usage: usageField,
  pattern: Schema.String,
  expression: Schema.String,
  /** What overflowed: `a * b` with the operands' values, `literal`, or `variable <name>`. */
  operation: Schema.String,
  value: Schema.String
}) {
  override get message(): string {
    return `${head(this.usage, this.pattern)}: in ${this.expression}, ${this.operation} = ${this.value} overflows ` +
      `(values must stay within ±${MAX_MAGNITUDE}, 2^53 − 1)`
  }
}

export type PatternError =
  | PatternMalformedError
  | PatternSyntaxError
  | PatternUnknownVariableError
  | PatternNotANumberError
  | PatternDivisionByZeroError
  | PatternOverflowError

/** True when the text between `${` and `}` is an expression rather than a variable name. */
const EXPRESSION_CONTENT = /[\s+*/%()]/

const parsePatternUncached = (pattern: string): ParsedPattern | PatternParseProblem => {
  const parts: Array<PatternPart> = []
  let text = ""
  let copiedUpTo = 0
  for (let j = 0; j < pattern.length; j++) {
    if (pattern[j] !== "$" || j + 1 >= pattern.length) continue
    text += pattern.slice(copiedUpTo, j)
    const [name, width] = shellName(pattern.slice(j + 1))
    if (name === "" && width > 0) {
      // "${}" is eaten (Go); "${" without "}" is refused.
      if (width === 1) return { _tag: "unclosed", column: j + 1 }
    } else if (name === "") {
      text += "$"
    } else {
      if (pattern[j + 1] === "{" && !(width === 3 && isShellSpecialVar(name))) {
        // A general braced reference: a name, an expression, or malformed.
        const nested = name.indexOf("${")
        if (nested >= 0) return { _tag: "nested", name, column: j + 1 }
        if (EXPRESSION_CONTENT.test(name)) {
          const source = pattern.slice(j, j + 1 + width)
          const parsed = parseExpression(name)
          if ("problem" in parsed) return { _tag: "expression", source, problem: parsed.problem }
          if (text !== "") parts.push({ _tag: "Text", text })
          text = ""
          parts.push({ _tag: "Expr", source, expr: parsed.expr })
          j += width
          copiedUpTo = j + 1
          continue
        }
      }
      if (text !== "") parts.push({ _tag: "Text", text })
      text = ""
      parts.push({ _tag: "Ref", name })
    }
    j += width
    copiedUpTo = j + 1
  }
  text += pattern.slice(copiedUpTo)
  if (text !== "") parts.push({ _tag: "Text", text })
  return { pattern, parts }
}

const parsedCache = new Map<string, ParsedPattern | PatternParseProblem>()
const PARSED_CACHE_LIMIT = 4096

/**
 * Splits a pattern into text, plain references and expressions, or says why it is malformed.
 * Memoised: configuration patterns are few and every machine and volume reuses them.
 */
export const parsePattern = (pattern: string): ParsedPattern | PatternParseProblem => {
  let parsed = parsedCache.get(pattern)
  if (parsed === undefined) {
    parsed = parsePatternUncached(pattern)
    if (parsedCache.size >= PARSED_CACHE_LIMIT) parsedCache.clear()
    parsedCache.set(pattern, parsed)
  }
  return parsed
}

const isProblem = (p: ParsedPattern | PatternParseProblem): p is PatternParseProblem => "_tag" in p

/** The error for a pattern that does not parse, as used in `usage`. */
export const parseProblemError = (usage: PatternUsage, pattern: string, problem: PatternParseProblem): PatternError => {
  switch (problem._tag) {
    case "nested":
      return new PatternMalformedError({ usage, pattern, problem: "nested", column: problem.column, name: problem.name })
    case "unclosed":
      return new PatternMalformedError({ usage, pattern, problem: "unclosed", column: problem.column, name: "" })
    case "expression": {
      const p = problem.problem
      return p._tag === "syntax"
        ? new PatternSyntaxError({ usage, pattern, expression: problem.source, column: p.column, detail: p.detail })
        : new PatternOverflowError({ usage, pattern, expression: problem.source, operation: "literal", value: p.literal })
    }
  }
}

/** Checks that a pattern is well formed (malformed references, expression syntax). */
export const checkPattern = (usage: PatternUsage, pattern: string): Either.Either<ParsedPattern, PatternError> => {
  const parsed = parsePattern(pattern)
  return isProblem(parsed) ? Either.left(parseProblemError(usage, pattern, parsed)) : Either.right(parsed)
}

/** How a pattern's references are resolved. */
export interface PatternScope {
  readonly usage: PatternUsage
  /** A variable's value; `undefined` when it is not defined. */
  readonly lookup: Lookup
  /** Plain references to undefined variables: expand to "" (Go, storage patterns) or fail (port patterns). */
  readonly unknownPlain: "empty" | "error"
  /** The variables that exist, each with where it is defined, for messages (called only on error). */
  readonly defined: () => ReadonlyArray<string>
}

const evalError = (scope: PatternScope, pattern: string, expression: string, problem: ExprEvalProblem): PatternError => {
  const { usage } = scope
  switch (problem._tag) {
    case "unknown-variable":
      return new PatternUnknownVariableError({ usage, pattern, variable: problem.name, defined: scope.defined(), expression })
    case "not-a-number":
      return new PatternNotANumberError({ usage, pattern, expression, variable: problem.name, value: problem.value })
    case "division-by-zero":
      return new PatternDivisionByZeroError({ usage, pattern, expression, operation: problem.operation })
    case "overflow":
      return new PatternOverflowError({ usage, pattern, expression, operation: problem.operation, value: problem.value })
  }
}

/** Expands a parsed pattern in a scope. */
export const expandParsed = (parsed: ParsedPattern, scope: PatternScope): Either.Either<string, PatternError> => {
  let out = ""
  for (const part of parsed.parts) {
    switch (part._tag) {
      case "Text":
        out += part.text
        break
      case "Ref": {
        const value = scope.lookup(part.name)
        if (value !== undefined) out += value
        else if (scope.unknownPlain === "error") {
          return Either.left(
            new PatternUnknownVariableError({
              usage: scope.usage,
              pattern: parsed.pattern,
              variable: part.name,
              defined: scope.defined()
            })
          )
        }
        break
      }
      case "Expr": {
        const value = evaluate(part.expr, scope.lookup)
        if (typeof value !== "number") return Either.left(evalError(scope, parsed.pattern, part.source, value))
        out += String(value)
        break
      }
    }
  }
  return Either.right(out)
}

/** Parses (memoised) and expands a pattern in a scope. */
export const expandPattern = (pattern: string, scope: PatternScope): Either.Either<string, PatternError> => {
  const parsed = parsePattern(pattern)
  return isProblem(parsed) ? Either.left(parseProblemError(scope.usage, pattern, parsed)) : expandParsed(parsed, scope)
}

/** Names of the variables a parsed pattern refers to through plain references, in order, once each. */
export const plainReferences = (parsed: ParsedPattern): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const part of parsed.parts) if (part._tag === "Ref" && !out.includes(part.name)) out.push(part.name)
  return out
}

/** Names of the variables a parsed pattern's expressions refer to, in order, once each. */
export const expressionReferences = (parsed: ParsedPattern): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const part of parsed.parts) if (part._tag === "Expr") variablesOf(part.expr, out)
  return out
}

// ---------------------------------------------------------------------------
// Port patterns

/** A port pattern did not produce a usable port (config.md §5.3). */
export class PortPatternError extends LazyTaggedError<PortPatternError>()("PortPatternError", {
  /** The pattern as written. */
  pattern: Schema.String,
  /** The pattern after expansion. */
  expanded: Schema.String,
  problem: Schema.Literal("invalid syntax", "value out of range", "invalid port"),
  /** The parsed number, for `invalid port`. */
  value: Schema.optional(Schema.BigIntFromSelf)
}) {
  override get message(): string {
    return this.problem === "invalid port"
      ? `port pattern "${this.pattern}": invalid resulting port number ${this.value ?? ""}`
      : `port pattern "${this.pattern}": strconv.Atoi: parsing ${goQuote(this.expanded)}: ${this.problem}`
  }
}

/**
 * The storage-pattern built-ins (config.md §5.2). Port patterns do not see them; as in the
 * original they expand to "" there (a compatibility exception to "unknown is an error").
 */
export const STORAGE_BUILTINS: ReadonlyArray<string> = ["machine-name", "machine-description", "machine-id", "volume"]

/** Where each variable is defined, as text for messages: name → `file: json.path`. */
export type VarOrigins = Readonly<Record<string, { readonly file: string; readonly path: string }>>

/** `name (file: path)` for each variable, sorted by name. */
export const describeVars = (names: Iterable<string>, origins: VarOrigins | undefined): ReadonlyArray<string> =>
  [...names].sort().map((name) => {
    const origin = origins !== undefined && Object.prototype.hasOwnProperty.call(origins, name) ? origins[name] : undefined
    return origin === undefined ? name : `${name} (${origin.file}: ${origin.path})`
  })

/** The vars of a storage pattern for messages (the built-ins are named by the message itself). */
export const describeStorageVars = (vars: Vars, origins: VarOrigins | undefined): ReadonlyArray<string> =>
  describeVars([...(isMap(vars) ? vars.keys() : Object.keys(vars))].filter((n) => !STORAGE_BUILTINS.includes(n)), origins)

/** How a port pattern treats references to variables that are not defined. */
export interface PortOptions {
  /** Where each variable is defined, for the unknown-variable message. */
  readonly origins?: VarOrigins
  /**
   * `"error"` (default): a reference to an unknown variable is an error. `"empty"`: it expands
   * to "" as in the original; only for displaying a tag's pattern on its own (`cat system`),
   * where the variables come from machines not known yet.
   */
  readonly unknown?: "error" | "empty"
}

/** The scope of a port pattern: only the merged vars (config.md §5.3); unknown names are errors. */
export const portScope = (vars: Vars, options: PortOptions = {}): PatternScope => {
  const inVars = lookupIn(vars)
  return {
    usage: "port",
    lookup: (name) => inVars(name) ?? (STORAGE_BUILTINS.includes(name) ? "" : undefined),
    unknownPlain: options.unknown ?? "error",
    defined: () => describeVars(isMap(vars) ? vars.keys() : Object.keys(vars), options.origins)
  }
}

/**
 * Expands a port pattern with the merged `vars` (config.md §5.3) and parses it as a port in
 * 1..65535. Unlike the original, a reference to an unknown variable is an error (naming the
 * variables that exist and, given `origins`, where); the storage built-ins still expand to "".
 * Expressions (`${5900 + seat}`) are evaluated before the result is parsed.
 */
export const expandPort = (
  pattern: string,
  vars: Vars,
  options?: PortOptions
): Either.Either<number, PortPatternError | PatternError> => {
  const result = expandPattern(pattern, portScope(vars, options))
  if (Either.isLeft(result)) return Either.left(result.left)
  const expanded = result.right
  const parsed = goAtoi(expanded)
  if (Either.isLeft(parsed)) return Either.left(new PortPatternError({ pattern, expanded, problem: parsed.left }))
  const value = parsed.right
  return value < 1n || value > 65535n
    ? Either.left(new PortPatternError({ pattern, expanded, problem: "invalid port", value }))
    : Either.right(Number(value))
}

/** The effective port: `port` if non-zero (used as is), else the expanded pattern. */
export const effectivePort = (
  port: number,
  pattern: string,
  vars: Vars,
  options?: PortOptions
): Either.Either<number, PortPatternError | PatternError> =>
  port !== 0 ? Either.right(port) : expandPort(pattern, vars, options)

// ---------------------------------------------------------------------------
// Paths

/** The storage pool fields the volume path rule needs (config.md §3.2). */
export interface StorageNaming {
  readonly path: string
  readonly pattern: string
  readonly type: string
}

/**
 * The scope of a storage pattern: `lookup` is the storage-pattern variable set (§5.2); plain
 * references to unknown variables expand to "" (the original's behaviour).
 */
export const storageScope = (lookup: Lookup, defined: () => ReadonlyArray<string> = () => []): PatternScope => ({
  usage: "storage",
  lookup,
  unknownPlain: "empty",
  defined
})

/**
 * The file of a volume in a storage pool (config.md §3.2 "Volume path rule"):
 * the expanded pattern, else `<volume>.<type>`, else `<volume>.raw`, joined to the pool path.
 * `lookup` is the storage-pattern variable set (§5.2). Fails on a malformed pattern or an
 * expression that cannot be evaluated.
 */
export const volumeFileName = (
  storage: StorageNaming,
  lookup: Lookup,
  volume: string,
  defined?: () => ReadonlyArray<string>
): Either.Either<string, PatternError> => {
  if (storage.pattern !== "") {
    const filePart = expandPattern(storage.pattern, storageScope(lookup, defined))
    return Either.isLeft(filePart) ? filePart : Either.right(posixJoin(storage.path, filePart.right))
  }
  return Either.right(posixJoin(storage.path, storage.type !== "" ? `${volume}.${storage.type}` : `${volume}.raw`))
}

/**
 * Variable expansion and path rules (config.md §3.2, §5).
 *
 * - `expand` reproduces Go `os.Expand` byte for byte (unknown variables expand to "").
 * - `expandPort` / `effectivePort` reproduce the port-pattern rules and their error texts,
 *   including Go `strconv.Atoi` parsing and `strconv.Quote` quoting.
 * - `posixJoin` is Go `path.Join` (with `path.Clean`); `volumeFileName` is the volume path rule.
 *
 * Pure: no I/O.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

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
// Go strconv.Quote

const LATIN1_NOT_PRINTABLE = new Set([0xa0, 0xad])
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u

/** Go `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export const isGoPrint = (codePoint: number): boolean => {
  if (codePoint <= 0xff) {
    if (codePoint >= 0x20 && codePoint <= 0x7e) return true
    return codePoint >= 0xa1 && !LATIN1_NOT_PRINTABLE.has(codePoint)
  }
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return false
  return PRINTABLE.test(String.fromCodePoint(codePoint))
}

/** Decodes one rune like Go `utf8.DecodeRune`: invalid input gives `[-1, 1]`. */
export const decodeGoRune = (bytes: Uint8Array, at: number): readonly [rune: number, width: number] => {
  const b0 = bytes[at]!
  if (b0 < 0x80) return [b0, 1]
  const cont = (i: number, lo = 0x80, hi = 0xbf): number | undefined => {
    const b = bytes[at + i]
    return b !== undefined && b >= lo && b <= hi ? b & 0x3f : undefined
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(1)
    return c1 === undefined ? [-1, 1] : [((b0 & 0x1f) << 6) | c1, 2]
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const c1 = b0 === 0xe0 ? cont(1, 0xa0) : b0 === 0xed ? cont(1, 0x80, 0x9f) : cont(1)
    const c2 = c1 === undefined ? undefined : cont(2)
    return c1 === undefined || c2 === undefined ? [-1, 1] : [((b0 & 0x0f) << 12) | (c1 << 6) | c2, 3]
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const c1 = b0 === 0xf0 ? cont(1, 0x90) : b0 === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1)
    const c2 = c1 === undefined ? undefined : cont(2)
    const c3 = c2 === undefined ? undefined : cont(3)
    return c1 === undefined || c2 === undefined || c3 === undefined
      ? [-1, 1]
      : [((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4]
  }
  return [-1, 1]
}

const hex2 = (n: number): string => n.toString(16).padStart(2, "0")

const SIMPLE_ESCAPES: Readonly<Record<number, string>> = {
  0x07: "\\a",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x0b: "\\v"
}

/** Go `strconv.Quote` over raw bytes (invalid UTF-8 bytes become `\xNN`). */
export const goQuoteBytes = (bytes: Uint8Array): string => {
  let out = "\""
  for (let i = 0; i < bytes.length;) {
    const [rune, width] = decodeGoRune(bytes, i)
    if (rune < 0) {
      out += "\\x" + hex2(bytes[i]!)
    } else if (rune === 0x22 || rune === 0x5c) {
      out += "\\" + String.fromCharCode(rune)
    } else if (isGoPrint(rune)) {
      out += String.fromCodePoint(rune)
    } else if (SIMPLE_ESCAPES[rune] !== undefined) {
      out += SIMPLE_ESCAPES[rune]
    } else if (rune < 0x20 || rune === 0x7f) {
      out += "\\x" + hex2(rune)
    } else if (rune < 0x10000) {
      out += "\\u" + rune.toString(16).padStart(4, "0")
    } else {
      out += "\\U" + rune.toString(16).padStart(8, "0")
    }
    i += width
  }
  return out + "\""
}

/** Go `strconv.Quote` of a string (UTF-8 encoded first; lone surrogates become U+FFFD). */
export const goQuote = (text: string): string => goQuoteBytes(Buffer.from(text, "utf8"))

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
// Port patterns

/** A port pattern did not produce a usable port (config.md §5.3). */
export class PortPatternError extends Schema.TaggedError<PortPatternError>()("PortPatternError", {
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
 * Expands a port pattern with the given variables (only the merged `vars`, see config.md §5.3)
 * and parses it as a port in 1..65535.
 */
export const expandPort = (pattern: string, vars: Vars): Either.Either<number, PortPatternError> => {
  const expanded = expand(pattern, lookupIn(vars))
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
  vars: Vars
): Either.Either<number, PortPatternError> => (port !== 0 ? Either.right(port) : expandPort(pattern, vars))

// ---------------------------------------------------------------------------
// Paths

/**
 * A path `posixClean` leaves as it is: "/" or non-empty segments, none of them `.` or `..`,
 * separated by single slashes, with an optional leading slash and no trailing one.
 */
const CLEAN_PATH = /^\/$|^\/?(?!\.\.?(?:\/|$))[^/]+(?:\/(?!\.\.?(?:\/|$))[^/]+)*$/

/** Go `path.Clean`: lexical cleaning of a slash-separated path ("" becomes "."). */
export const posixClean = (path: string): string => {
  if (CLEAN_PATH.test(path)) return path
  if (path === "") return "."
  const rooted = path.startsWith("/")
  const out: Array<string> = []
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop()
      else if (!rooted) out.push("..")
      continue
    }
    out.push(segment)
  }
  const joined = (rooted ? "/" : "") + out.join("/")
  return joined === "" ? "." : joined
}

/**
 * Go `path.Join`: empty parts are skipped, the rest joined with "/" and cleaned;
 * "" if every part is empty. A later part starting with "/" does not reset the path.
 */
export const posixJoin = (...parts: ReadonlyArray<string>): string => {
  const nonEmpty = parts.filter((part) => part !== "")
  return nonEmpty.length === 0 ? "" : posixClean(nonEmpty.join("/"))
}

/** The storage pool fields the volume path rule needs (config.md §3.2). */
export interface StorageNaming {
  readonly path: string
  readonly pattern: string
  readonly type: string
}

/**
 * The file of a volume in a storage pool (config.md §3.2 "Volume path rule"):
 * the expanded pattern, else `<volume>.<type>`, else `<volume>.raw`, joined to the pool path.
 * `lookup` is the storage-pattern variable set (§5.2).
 */
export const volumeFileName = (storage: StorageNaming, lookup: Lookup, volume: string): string => {
  const filePart = storage.pattern !== ""
    ? expand(storage.pattern, lookup)
    : storage.type !== ""
    ? `${volume}.${storage.type}`
    : `${volume}.raw`
  return posixJoin(storage.path, filePart)
}

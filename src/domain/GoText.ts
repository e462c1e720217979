/**
 * Go's rules for text and slash-separated paths that machina reproduces byte for byte:
 * `unicode.IsPrint`, `utf8.DecodeRune`, `strconv.Quote`, `path.Clean` and `path.Join`.
 * Re-exported by Pattern.ts; modules on the hook path (Paths, Identity, Uuid, the config store)
 * import them from here, so they do not initialise Pattern.ts and its error classes.
 *
 * Pure: no I/O, no imports.
 */

// ---------------------------------------------------------------------------
// Go strconv.Quote

const LATIN1_NOT_PRINTABLE = new Set([0xa0, 0xad])
/** Made on first use: a Unicode property class costs a fraction of a millisecond to build. */
let printable: RegExp | undefined

/** Go `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export const isGoPrint = (codePoint: number): boolean => {
  if (codePoint <= 0xff) {
    if (codePoint >= 0x20 && codePoint <= 0x7e) return true
    return codePoint >= 0xa1 && !LATIN1_NOT_PRINTABLE.has(codePoint)
  }
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return false
  return (printable ??= new RegExp("^[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}]$", "u")).test(String.fromCodePoint(codePoint))
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
// Go path.Clean and path.Join

/**
 * A path `posixClean` leaves as it is: "/" or non-empty segments, none of them `.` or `..`,
 * separated by single slashes, with an optional leading slash and no trailing one.
 */
const isClean = (path: string): boolean => {
  const n = path.length
  if (n === 0) return false
  if (n === 1 && path === "/") return true
  if (path.charCodeAt(n - 1) === 47) return false
  // Each segment starts at `start`: it must not be empty, "." or "..".
  let start = path.charCodeAt(0) === 47 ? 1 : 0
  for (let i = start; i <= n; i++) {
    if (i < n && path.charCodeAt(i) !== 47) continue
    const length = i - start
    if (length === 0) return false
    if (length <= 2 && path.charCodeAt(start) === 46 && (length === 1 || path.charCodeAt(start + 1) === 46)) return false
    start = i + 1
  }
  return true
}

/** Go `path.Clean`: lexical cleaning of a slash-separated path ("" becomes "."). */
export const posixClean = (path: string): string => {
  if (isClean(path)) return path
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

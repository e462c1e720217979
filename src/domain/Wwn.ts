/**
 * World Wide Names of volumes (identity.md §4): a 16-byte buffer, parsed from user text
 * with the original's rules and messages, rendered as `0x` + uppercase hex.
 */
import * as Either from "effect/Either"
import { LazyTaggedError } from "./LazyTaggedError.js"

/** A WWN: 16 bytes, most significant first; bytes past the value's length are zero. */
export type Wwn = Uint8Array

/** The zero WWN ("absent"). Do not mutate. */
export const ZERO_WWN: Wwn = new Uint8Array(16)

/** A WWN text was rejected (identity.md §4 messages). */
export class WwnParseError extends LazyTaggedError<WwnParseError>()("WwnParseError", (S) => ({
  input: S.String,
  problem: S.Literal("invalid-hex", "too-long", "empty", "naa-length", "unknown-naa"),
  /** Go's `encoding/hex` error text, for `invalid-hex`. */
  hexError: S.optional(S.String),
  /** Network address authority type (high nibble of byte 0), for `naa-length` / `unknown-naa`. */
  naa: S.optional(S.Number),
  /** Decoded byte count, for `naa-length`. */
  length: S.optional(S.Number)
})) {
  override get message(): string {
    const text = this.input
    switch (this.problem) {
      case "invalid-hex":
        return `world wide name value "${text}" is invalid: ${this.hexError ?? ""}`
      case "too-long":
        // The original overflows its 16-byte buffer and panics; we report the length rule.
        return `world wide name value "${text}" should be 8 or 16 bytes long`
      case "empty":
        return `world wide name value "${text}" should be 8 or 16 bytes long`
      case "naa-length":
        return `world wide name "${text}" with network address authority type "${this.naa}" is ${this.length} byte(s) long (should be ${
          this.naa === 6 ? 16 : 8
        })`
      case "unknown-naa":
        return `world wide name "${text}" has unrecognized network address authority type "${this.naa}"`
    }
  }
}

/** The network address authority type: high nibble of byte 0. */
export const wwnType = (w: Wwn): number => (w[0] ?? 0) >> 4

/** A WWN from up to 16 bytes (zero-padded on the right); longer input is truncated. */
export const wwnFromBytes = (bytes: Uint8Array): Wwn => {
  const out = new Uint8Array(16)
  out.set(bytes.subarray(0, 16))
  return out
}

/** True for the zero WWN (absent). */
export const isZeroWwn = (w: Wwn): boolean => w.every((b) => b === 0)

const hexValue = (byte: number): number => {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10
  return -1
}

/** Go `%#U` of a byte value: `U+0067 'g'` (the quoted char only if printable). */
const goInvalidByte = (byte: number): string => {
  const code = "U+" + byte.toString(16).toUpperCase().padStart(4, "0")
  const printable = (byte >= 0x20 && byte <= 0x7e) || (byte >= 0xa1 && byte !== 0xad)
  return `encoding/hex: invalid byte: ${code}${printable ? ` '${String.fromCharCode(byte)}'` : ""}`
}

const ODD_LENGTH = "encoding/hex: odd length hex string"

type Decoded =
  | { readonly _tag: "ok"; readonly length: number }
  | { readonly _tag: "hex"; readonly error: string }
  | { readonly _tag: "overflow" }

/** Go `hex.Decode` into a 16-byte destination, in Go's order of checks. */
const decodeInto = (dst: Uint8Array, src: Uint8Array): Decoded => {
  let i = 0
  let j = 1
  for (; j < src.length; j += 2) {
    const a = hexValue(src[j - 1]!)
    const b = hexValue(src[j]!)
    if (a < 0) return { _tag: "hex", error: goInvalidByte(src[j - 1]!) }
    if (b < 0) return { _tag: "hex", error: goInvalidByte(src[j]!) }
    if (i >= dst.length) return { _tag: "overflow" }
    dst[i++] = (a << 4) | b
  }
  if (src.length % 2 === 1) {
    const last = src[j - 1]!
    return { _tag: "hex", error: hexValue(last) < 0 ? goInvalidByte(last) : ODD_LENGTH }
  }
  return { _tag: "ok", length: i }
}

/**
 * Parses a user-supplied WWN (identity.md §4): "" is the zero WWN; every `:` is removed,
 * then one leading `0x`; the hex is decoded and checked against the NAA type.
 */
export const parseWwn = (text: string): Either.Either<Wwn, WwnParseError> => {
  const raw = Buffer.from(text, "utf8")
  if (raw.length === 0) return Either.right(new Uint8Array(16))
  let cleaned: Uint8Array = raw.filter((b) => b !== 0x3a)
  if (cleaned.length >= 2 && cleaned[0] === 0x30 && cleaned[1] === 0x78) cleaned = cleaned.subarray(2)
  const out = new Uint8Array(16)
  const decoded = decodeInto(out, cleaned)
  if (decoded._tag === "hex") {
    return Either.left(new WwnParseError({ input: text, problem: "invalid-hex", hexError: decoded.error }))
  }
  if (decoded._tag === "overflow") return Either.left(new WwnParseError({ input: text, problem: "too-long" }))
  const n = decoded.length
  if (n < 1) return Either.left(new WwnParseError({ input: text, problem: "empty" }))
  const naa = wwnType(out)
  switch (naa) {
    case 6:
      if (n !== 16) return Either.left(new WwnParseError({ input: text, problem: "naa-length", naa, length: n }))
      break
    case 1:
    case 2:
    case 5:
    case 12:
    case 13:
    case 14:
    case 15:
      if (n !== 8) return Either.left(new WwnParseError({ input: text, problem: "naa-length", naa, length: n }))
      break
    default:
      return Either.left(new WwnParseError({ input: text, problem: "unknown-naa", naa }))
  }
  return Either.right(out)
}

/** `0x` + uppercase hex: all 16 bytes for NAA type 6, else the first 8. */
export const formatWwn = (w: Wwn): string => {
  const bytes = wwnType(w) === 6 ? w.subarray(0, 16) : w.subarray(0, 8)
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex").toUpperCase()
}

/** Two WWNs are equal byte for byte. */
export const wwnEquals = (a: Wwn, b: Wwn): boolean => a.length === b.length && a.every((byte, i) => byte === b[i])

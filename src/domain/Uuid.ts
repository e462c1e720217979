/**
 * UUIDs as 16 raw bytes, parsed like Go `github.com/google/uuid.Parse` and printed
 * in lowercase canonical form (identity.md §1, §5.2; config.md §7).
 */
import * as Either from "effect/Either"
import { LazyTaggedError } from "./LazyTaggedError.js"
import { randomBytes } from "./NodeBuiltins.js"
import { goQuoteBytes } from "./GoText.js"

/** A UUID: exactly 16 bytes, in the order they appear in the canonical text. */
export type UuidBytes = Uint8Array

/** The nil UUID (a missing machine id). Do not mutate. */
export const ZERO_UUID: UuidBytes = new Uint8Array(16)

/** A UUID text was rejected; messages are those of Go google/uuid. */
export class UuidParseError extends LazyTaggedError<UuidParseError>()("UuidParseError", (S) => ({
  input: S.String,
  problem: S.Literal("length", "format", "urn-prefix"),
  /** Byte length of the input, for `length`. */
  length: S.optional(S.Number),
  /** The prefix as Go quotes it (`strconv.Quote` of the first 9 bytes), for `urn-prefix`. */
  prefix: S.optional(S.String)
})) {
  override get message(): string {
    switch (this.problem) {
      case "length":
        return `invalid UUID length: ${this.length ?? 0}`
      case "format":
        return "invalid UUID format"
      case "urn-prefix":
        return `invalid urn prefix: ${this.prefix ?? "\"\""}`
    }
  }
}

const hexValue = (byte: number): number => {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10
  return -1
}

/** Two hex digits at `at` as a byte, or -1. */
const hexByte = (bytes: Uint8Array, at: number): number => {
  const hi = hexValue(bytes[at]!)
  const lo = hexValue(bytes[at + 1]!)
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo
}

/** Offsets of the 16 hex pairs in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
const CANONICAL_OFFSETS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34] as const

const URN_PREFIX = "urn:uuid:"

const isUrnPrefix = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < URN_PREFIX.length; i++) {
    let b = bytes[i]!
    if (b >= 0x41 && b <= 0x5a) b += 0x20
    if (b !== URN_PREFIX.charCodeAt(i)) return false
  }
  return true
}

const formatError = (text: string) => Either.left(new UuidParseError({ input: text, problem: "format" }))

/**
 * Parses a UUID with Go google/uuid `Parse` semantics (lengths are in UTF-8 bytes):
 * 36 chars canonical (hex digits in any case); 38 chars = canonical with one character
 * on each side (Go does not check that these are braces); 45 chars = `urn:uuid:` (any case)
 * + canonical; 32 hex digits.
 */
export const parseUuid = (text: string): Either.Either<UuidBytes, UuidParseError> => {
  const all = Buffer.from(text, "utf8")
  let body: Uint8Array
  switch (all.length) {
    case 36:
      body = all
      break
    case 36 + 9:
      if (!isUrnPrefix(all)) {
        return Either.left(
          new UuidParseError({ input: text, problem: "urn-prefix", prefix: goQuoteBytes(all.subarray(0, 9)) })
        )
      }
      body = all.subarray(9)
      break
    case 36 + 2:
      body = all.subarray(1)
      break
    case 32: {
      const out = new Uint8Array(16)
      for (let i = 0; i < 16; i++) {
        const v = hexByte(all, i * 2)
        if (v < 0) return formatError(text)
        out[i] = v
      }
      return Either.right(out)
    }
    default:
      return Either.left(new UuidParseError({ input: text, problem: "length", length: all.length }))
  }
  if (body[8] !== 0x2d || body[13] !== 0x2d || body[18] !== 0x2d || body[23] !== 0x2d) return formatError(text)
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) {
    const v = hexByte(body, CANONICAL_OFFSETS[i]!)
    if (v < 0) return formatError(text)
    out[i] = v
  }
  return Either.right(out)
}

/** Lowercase canonical text `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
export const formatUuid = (bytes: UuidBytes): string => {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/** True for the nil UUID (all 16 bytes zero). */
export const isZeroUuid = (bytes: UuidBytes): boolean => bytes.every((b) => b === 0)

/** Sets the RFC 4122 version-4 and variant bits in place and returns the same array. */
export const setVersion4Bits = (bytes: UuidBytes): UuidBytes => {
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  return bytes
}

/** A random RFC 4122 version-4 UUID from the CSPRNG (`gen-id`, identity.md §5.2). */
export const randomUuidV4 = (): UuidBytes => setVersion4Bits(new Uint8Array(randomBytes(16)))

/** Two UUIDs are equal byte for byte. */
export const uuidEquals = (a: UuidBytes, b: UuidBytes): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i])

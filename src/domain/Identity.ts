/**
 * Deterministic identifiers (identity.md): a SHAKE128 stream seeded with the machine's id and
 * name plus a list of length-prefixed components, and the tap (link) names of connections.
 *
 * Pure apart from `randomMac` (CSPRNG).
 */
import * as Either from "effect/Either"
import { LazyTaggedError } from "./LazyTaggedError.js"
import * as Keccak from "./Keccak.js"
import { nodeCrypto, randomBytes } from "./NodeBuiltins.js"
import type { UuidBytes } from "./Uuid.js"
import { isGoPrint } from "./GoText.js"
import { setVersion4Bits } from "./Uuid.js"
import type { Wwn } from "./Wwn.js"
import { wwnFromBytes } from "./Wwn.js"

// ---------------------------------------------------------------------------
// The seeded hash (identity.md §1)

/** The hash input prefix of one machine: its 16 id bytes, then its length-prefixed name. */
export interface Seed {
  readonly _tag: "IdentitySeed"
  readonly bytes: Uint8Array
}

/** A component or name: text is hashed as UTF-8. */
export type Component = string | Uint8Array

const toBytes = (component: Component): Uint8Array =>
  typeof component === "string" ? Buffer.from(component, "utf8") : component

/** 8-byte unsigned big-endian length followed by the bytes. */
const lengthPrefixed = (component: Component): Uint8Array => {
  const bytes = toBytes(component)
  const out = new Uint8Array(8 + bytes.length)
  // Big-endian 64-bit length; components are far below 2^32 bytes, so the high word stays 0.
  const n = bytes.length
  out[4] = n >>> 24
  out[5] = (n >>> 16) & 0xff
  out[6] = (n >>> 8) & 0xff
  out[7] = n & 0xff
  out.set(bytes, 8)
  return out
}

/** The seed of a machine: id (16 zero bytes when missing) and effective name. */
export const makeSeed = (id: UuidBytes, machineName: string): Seed => {
  if (id.length !== 16) throw new RangeError(`machine id must be 16 bytes, got ${id.length}`)
  const name = lengthPrefixed(machineName)
  const bytes = new Uint8Array(16 + name.length)
  bytes.set(id, 0)
  bytes.set(name, 16)
  return { _tag: "IdentitySeed", bytes }
}

/**
 * A process's first hashes are computed in JavaScript (Keccak.ts), so that a hook hashing a tap
 * name or two does not load node:crypto; from the fifth on, by node:crypto. A few more hashes in
 * JavaScript would have V8 optimise the permutation on a background thread, which the process
 * then waits for at exit (about 10 ms for `args`, measured), and node:crypto is faster per hash
 * (`generate` and `check` of many machines hash thousands of times). Both give the same bytes.
 */
let hashes = 0
const JS_HASHES = 4

const shake128 = (input: Uint8Array, length: number): Uint8Array =>
  ++hashes <= JS_HASHES
    ? Keccak.shake128(input, length)
    : new Uint8Array(nodeCrypto().createHash("shake128", { outputLength: length }).update(input).digest())

const sha3_224 = (input: Uint8Array): Uint8Array =>
  ++hashes <= JS_HASHES ? Keccak.sha3_224(input) : new Uint8Array(nodeCrypto().createHash("sha3-224").update(input).digest())

/** The first `length` bytes of the SHAKE128 stream of seed + components. */
export const seededBytes = (seed: Seed, components: ReadonlyArray<Component>, length: number): Uint8Array => {
  // One buffer, written in place: `generate` of many machines hashes thousands of times.
  let size = seed.bytes.length
  for (const c of components) size += 8 + (typeof c === "string" ? Buffer.byteLength(c, "utf8") : c.length)
  // From Node's shared pool (small sizes): no buffer of its own per hash. Every byte is written below.
  const input = Buffer.allocUnsafe(size)
  input.set(seed.bytes, 0)
  let at = seed.bytes.length
  for (const c of components) {
    const n = typeof c === "string" ? Buffer.byteLength(c, "utf8") : c.length
    // Big-endian 64-bit length; components are far below 2^32 bytes: the high word is 0.
    input.writeUInt32BE(0, at)
    input.writeUInt32BE(n, at + 4)
    at += 8
    if (typeof c === "string") input.write(c, at, "utf8")
    else input.set(c, at)
    at += n
  }
  return shake128(input, length)
}

// ---------------------------------------------------------------------------
// Recipes (identity.md §2)

const hex2 = (n: number): string => n.toString(16).padStart(2, "0")

/** Lowercase hex pairs joined by `:`. */
export const formatMac = (bytes: Uint8Array): string => Array.from(bytes, hex2).join(":")

/** The MAC address of a connection: `52:54:00:xx:xx:xx`. */
export const deriveMac = (seed: Seed, connection: string): string => {
  const bytes = seededBytes(seed, ["connection", "hardware-addr", connection], 6)
  bytes[0] = 0x52
  bytes[1] = 0x54
  bytes[2] = 0x00
  return formatMac(bytes)
}

/** The WWN of a volume: NAA 5, OUI 52:54:00, 36 hashed bits. */
export const deriveWwn = (seed: Seed, volume: string): Wwn => {
  const bytes = seededBytes(seed, ["volume", "wwn", volume], 8)
  bytes[0] = 0x55
  bytes[1] = 0x25
  bytes[2] = 0x40
  bytes[3] = bytes[3]! & 0x0f
  return wwnFromBytes(bytes)
}

const BASE32HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"

/** RFC 4648 §7 base32hex, uppercase, without padding. */
export const base32HexNoPad = (bytes: Uint8Array): string => {
  let out = ""
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += BASE32HEX[(buffer >> bits) & 0x1f]
    }
  }
  if (bits > 0) out += BASE32HEX[(buffer << (5 - bits)) & 0x1f]
  return out
}

/** The serial number of a volume: 16 hashed bytes in base32hex (26 chars). */
export const deriveSerial = (seed: Seed, volume: string): string =>
  base32HexNoPad(seededBytes(seed, ["volume", "serial-number", volume], 16))

/** The id (mdev UUID) of a device: a version-4 UUID from class and name. */
export const deriveDeviceId = (seed: Seed, deviceClass: string, deviceName: string): UuidBytes =>
  setVersion4Bits(seededBytes(seed, ["device", "id", deviceClass, deviceName], 16))

/** The group id search gave up (the original panics; practically impossible). */
export class GroupIdExhaustedError extends LazyTaggedError<GroupIdExhaustedError>()("GroupIdExhaustedError", (S) => ({
  reads: S.Number
})) {
  override get message(): string {
    return `no file-system group id >= 65536 found in ${this.reads} reads of the identity stream`
  }
}

const GROUP_ID_COMPONENTS: ReadonlyArray<Component> = ["privilege", "file-system", "group-id", new Uint8Array(8)]

/** How many 32-bit words to try before computing the whole stream (almost always enough). */
const FIRST_CHUNK_WORDS = 16

/**
 * The file-system group id (identity.md §2.5): the first big-endian 32-bit word of the stream
 * that is >= 65536, reading at most `maxReads` words (4096 in the original).
 */
export const deriveGroupId = (seed: Seed, maxReads = 4096): Either.Either<number, GroupIdExhaustedError> => {
  let from = 0
  for (const words of [Math.min(FIRST_CHUNK_WORDS, maxReads), maxReads]) {
    if (words <= from) continue
    const stream = seededBytes(seed, GROUP_ID_COMPONENTS, words * 4)
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength)
    for (let i = from; i < words; i++) {
      const value = view.getUint32(i * 4, false)
      if (value >= 65536) return Either.right(value)
    }
    from = words
  }
  return Either.left(new GroupIdExhaustedError({ reads: maxReads }))
}

/** The file-system group name: `machina-<machine name>`. */
export const groupName = (machine: string): string => `machina-${machine}`

/** A random MAC (`gen-mac`): 6 random bytes with bytes 0..2 forced to 52:54:00. */
export const randomMac = (): string => {
  const bytes = new Uint8Array(randomBytes(6))
  bytes[0] = 0x52
  bytes[1] = 0x54
  bytes[2] = 0x00
  return formatMac(bytes)
}

// ---------------------------------------------------------------------------
// Tap names (identity.md §5.1)

/** Longest Linux interface name, in bytes (excluding the NUL terminator). */
export const MAX_INTERFACE_NAME_BYTES = 15

const GO_SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000])

/** Go `unicode.IsSpace`. */
const isGoSpace = (cp: number): boolean => GO_SPACE.has(cp) || (cp >= 0x2000 && cp <= 0x200a)

const cleanInterfaceName = (name: string): string => {
  let out = ""
  for (const ch of name) {
    let cp = ch.codePointAt(0)!
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd // lone surrogate: U+FFFD, as in UTF-8
    if (cp === 0x2f || isGoSpace(cp) || !isGoPrint(cp)) continue
    out += String.fromCodePoint(cp)
  }
  return out
}

/**
 * The tap (link) name of a connection: `<machine>.<connection>` cleaned of `/`, whitespace and
 * non-printable characters if it is at most 15 bytes (checked before cleaning), else the first
 * 11 bytes of its SHA3-224 in base64url without padding (15 chars).
 */
export const tapName = (machine: string, connection: string): string => {
  const name = `${machine}.${connection}`
  const bytes = Buffer.from(name, "utf8")
  if (bytes.length <= MAX_INTERFACE_NAME_BYTES) return cleanInterfaceName(name)
  return Buffer.from(sha3_224(bytes).subarray(0, 11)).toString("base64url")
}

/** A machine connection that owns a tap. */
export interface TapCandidate {
  readonly machine: string
  readonly connection: string
}

/**
 * The candidates whose tap name is `tap` (several means the name is ambiguous). Hashed names
 * can only be resolved this way, by trying the known connections.
 */
export const resolveTapName = <C extends TapCandidate>(tap: string, candidates: Iterable<C>): ReadonlyArray<C> => {
  const out: Array<C> = []
  for (const candidate of candidates) {
    if (tapName(candidate.machine, candidate.connection) === tap) out.push(candidate)
  }
  return out
}

/** A tap name shared by more than one candidate. */
export interface TapNameCollision<C extends TapCandidate> {
  readonly tap: string
  readonly candidates: ReadonlyArray<C>
}

/** Groups of candidates sharing one tap name, in order of first appearance. */
export const tapNameCollisions = <C extends TapCandidate>(
  candidates: Iterable<C>
): ReadonlyArray<TapNameCollision<C>> => {
  const groups = new Map<string, Array<C>>()
  for (const candidate of candidates) {
    const tap = tapName(candidate.machine, candidate.connection)
    const group = groups.get(tap)
    if (group === undefined) groups.set(tap, [candidate])
    else group.push(candidate)
  }
  const out: Array<TapNameCollision<C>> = []
  for (const [tap, group] of groups) {
    if (group.length > 1) out.push({ tap, candidates: group })
  }
  return out
}

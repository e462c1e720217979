import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import { formatGoDuration, MAX_GO_DURATION_NANOS, parseDuration } from "../../src/domain/Duration.js"
import {
  deriveDeviceId,
  deriveGroupId,
  deriveMac,
  deriveSerial,
  deriveWwn,
  makeSeed,
  resolveTapName,
  tapName
} from "../../src/domain/Identity.js"
import { formatUuid, parseUuid, uuidEquals } from "../../src/domain/Uuid.js"
import { formatWwn, parseWwn, wwnEquals, wwnFromBytes } from "../../src/domain/Wwn.js"

// Names as users might write them, plus awkward ones (spaces, slashes, controls, non-ASCII).
const awkwardChar = fc.constantFrom(" ", "/", "\t", "\n", ".", "-", "_", "é", "日", "\u0007", "\u00a0", "\u2028", "😀")
const name = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.fullUnicodeString({ maxLength: 12 }),
  fc.stringOf(fc.oneof(fc.char(), awkwardChar), { maxLength: 20 })
)
const uuidBytes = fc.uint8Array({ minLength: 16, maxLength: 16 })

/** Everything derived for one machine, as `merge` would derive it for its lists. */
const deriveAll = (
  id: Uint8Array,
  machine: string,
  connections: ReadonlyArray<string>,
  volumes: ReadonlyArray<string>,
  devices: ReadonlyArray<readonly [string, string]>
) => {
  const seed = makeSeed(id, machine)
  return {
    macs: new Map(connections.map((c) => [c, deriveMac(seed, c)])),
    wwns: new Map(volumes.map((v) => [v, formatWwn(deriveWwn(seed, v))])),
    serials: new Map(volumes.map((v) => [v, deriveSerial(seed, v)])),
    devices: new Map(devices.map(([c, n]) => [`${c}\u0000${n}`, formatUuid(deriveDeviceId(seed, c, n))])),
    group: deriveGroupId(seed)
  }
}

describe("identity derivation (properties)", () => {
  it.prop("same input gives the same identifiers", [uuidBytes, name, name, name, name, name], ([id, machine, conn, vol, cls, dev]) => {
    const a = makeSeed(id, machine)
    const b = makeSeed(Uint8Array.from(id), `${machine}`)
    assert.strictEqual(deriveMac(a, conn), deriveMac(b, conn))
    assert.isTrue(wwnEquals(deriveWwn(a, vol), deriveWwn(b, vol)))
    assert.strictEqual(deriveSerial(a, vol), deriveSerial(b, vol))
    assert.isTrue(uuidEquals(deriveDeviceId(a, cls, dev), deriveDeviceId(b, cls, dev)))
    assert.deepStrictEqual(deriveGroupId(a), deriveGroupId(b))
  })

  it.prop(
    "other connections, volumes and devices do not change an identifier",
    [uuidBytes, name, fc.array(name, { maxLength: 4 }), fc.array(name, { maxLength: 4 }), fc.array(fc.tuple(name, name), { maxLength: 3 }), name, name, fc.tuple(name, name)],
    ([id, machine, conns, vols, devs, conn, vol, dev]) => {
      const alone = deriveAll(id, machine, [conn], [vol], [dev])
      const crowded = deriveAll(id, machine, [...conns, conn], [vol, ...vols], [...devs, dev])
      assert.strictEqual(crowded.macs.get(conn), alone.macs.get(conn))
      assert.strictEqual(crowded.wwns.get(vol), alone.wwns.get(vol))
      assert.strictEqual(crowded.serials.get(vol), alone.serials.get(vol))
      const key = `${dev[0]}\u0000${dev[1]}`
      assert.strictEqual(crowded.devices.get(key), alone.devices.get(key))
      assert.deepStrictEqual(crowded.group, alone.group)
    }
  )

  it.prop("renaming the machine or changing its id changes the serial", [uuidBytes, uuidBytes, name, name, name], ([id1, id2, m1, m2, vol]) => {
    fc.pre(!uuidEquals(id1, id2) || m1 !== m2)
    assert.notStrictEqual(deriveSerial(makeSeed(id1, m1), vol), deriveSerial(makeSeed(id2, m2), vol))
  })

  it.prop("components are length-prefixed: moving bytes between class and name changes the device id", [uuidBytes, name, name, name], ([id, machine, a, b]) => {
    fc.pre(b.length > 0)
    const seed = makeSeed(id, machine)
    assert.isFalse(uuidEquals(deriveDeviceId(seed, a, b), deriveDeviceId(seed, a + b[0], b.slice(1))))
  })

  it.prop("MACs start with 52:54:00", [uuidBytes, name, name], ([id, machine, conn]) => {
    assert.match(deriveMac(makeSeed(id, machine), conn), /^52:54:00(:[0-9a-f]{2}){3}$/)
  })

  it.prop("WWNs are NAA 5, OUI 52:54:00, byte 3 high nibble zero, 8 bytes", [uuidBytes, name, name], ([id, machine, vol]) => {
    const w = deriveWwn(makeSeed(id, machine), vol)
    assert.strictEqual(w.length, 16)
    assert.deepStrictEqual(Array.from(w.subarray(0, 3)), [0x55, 0x25, 0x40])
    assert.strictEqual(w[3]! >> 4, 0)
    assert.deepStrictEqual(Array.from(w.subarray(8)), [0, 0, 0, 0, 0, 0, 0, 0])
    assert.match(formatWwn(w), /^0x5525400[0-9A-F]{9}$/)
  })

  it.prop("serials are 26 base32hex characters", [uuidBytes, name, name], ([id, machine, vol]) => {
    assert.match(deriveSerial(makeSeed(id, machine), vol), /^[0-9A-V]{26}$/)
  })

  it.prop("device ids are version 4 with the RFC 4122 variant", [uuidBytes, name, name, name], ([id, machine, cls, dev]) => {
    const u = deriveDeviceId(makeSeed(id, machine), cls, dev)
    assert.strictEqual(u[6]! >> 4, 4)
    assert.strictEqual(u[8]! >> 6, 2)
  })

  it.prop("group ids are in 65536..2^32-1", [uuidBytes, name], ([id, machine]) => {
    const result = deriveGroupId(makeSeed(id, machine))
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) {
      assert.isTrue(Number.isInteger(result.right))
      assert.isAtLeast(result.right, 65536)
      assert.isBelow(result.right, 2 ** 32)
    }
  })
})

describe("tap names (properties)", () => {
  const SPACE_OR_SLASH = /[/\s\u0085]/u

  it.prop("at most 15 bytes, no / and no whitespace", [name, name], ([machine, conn]) => {
    const tap = tapName(machine, conn)
    assert.isAtMost(Buffer.byteLength(tap, "utf8"), 15)
    assert.notMatch(tap, SPACE_OR_SLASH)
    assert.notMatch(tap, /\p{Cc}/u)
  })

  it.prop("names over 15 bytes become 15 base64url characters", [name, name], ([machine, conn]) => {
    fc.pre(Buffer.byteLength(`${machine}.${conn}`, "utf8") > 15)
    assert.match(tapName(machine, conn), /^[A-Za-z0-9_-]{15}$/)
  })

  it.prop(
    "resolveTapName maps every tap name back to its candidate",
    [fc.array(fc.record({ machine: name, connection: name }), { minLength: 1, maxLength: 8 }), fc.nat()],
    ([candidates, index]) => {
      const candidate = candidates[index % candidates.length]!
      const found = resolveTapName(tapName(candidate.machine, candidate.connection), candidates)
      assert.include(found, candidate)
      for (const other of found) {
        assert.strictEqual(tapName(other.machine, other.connection), tapName(candidate.machine, candidate.connection))
      }
    }
  )
})

describe("text round trips (properties)", () => {
  const eightByteNaa = fc.constantFrom(1, 2, 5, 12, 13, 14, 15)
  const wwn = fc.oneof(
    fc.tuple(eightByteNaa, fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([naa, bytes]) => {
      bytes[0] = (naa << 4) | (bytes[0]! & 0x0f)
      return wwnFromBytes(bytes)
    }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => {
      bytes[0] = 0x60 | (bytes[0]! & 0x0f)
      return wwnFromBytes(bytes)
    })
  )

  it.prop("parseWwn(formatWwn(w)) = w", [wwn], ([w]) => {
    const parsed = parseWwn(formatWwn(w))
    assert.isTrue(Either.isRight(parsed) && wwnEquals(parsed.right, w))
  })

  it.prop("derived WWNs round-trip through text", [uuidBytes, name, name], ([id, machine, vol]) => {
    const w = deriveWwn(makeSeed(id, machine), vol)
    const parsed = parseWwn(formatWwn(w))
    assert.isTrue(Either.isRight(parsed) && wwnEquals(parsed.right, w))
  })

  it.prop("parseWwn never throws", [fc.oneof(fc.string(), fc.hexaString({ maxLength: 80 }))], ([text]) => {
    const result = parseWwn(text)
    assert.isTrue(Either.isLeft(result) || result.right.length === 16)
  })

  it.prop("parseUuid(formatUuid(u)) = u, in every accepted form", [uuidBytes], ([u]) => {
    const text = formatUuid(u)
    for (const form of [text, text.toUpperCase(), `{${text}}`, `urn:uuid:${text}`, text.replaceAll("-", "")]) {
      const parsed = parseUuid(form)
      assert.isTrue(Either.isRight(parsed) && uuidEquals(parsed.right, u), form)
    }
  })

  it.prop("parseUuid never throws", [fc.string({ maxLength: 50 })], ([text]) => {
    const result = parseUuid(text)
    assert.isTrue(Either.isLeft(result) || result.right.length === 16)
  })

  const goNanos = fc.oneof(
    fc.bigInt({ min: 0n, max: MAX_GO_DURATION_NANOS }),
    fc.bigInt({ min: 0n, max: 10n ** 12n }),
    fc.bigInt({ min: 0n, max: 10n ** 6n })
  )

  it.prop("parseDuration(formatGoDuration(d)) = d", [goNanos], ([nanos]) => {
    const text = formatGoDuration(Duration.nanos(nanos))
    const parsed = parseDuration(text)
    assert.isTrue(Either.isRight(parsed), text)
    if (Either.isRight(parsed)) assert.strictEqual(Duration.unsafeToNanos(parsed.right), nanos, text)
  })

  it.prop("formatGoDuration(parseDuration(s)) is a fixed point", [goNanos], ([nanos]) => {
    const text = formatGoDuration(Duration.nanos(nanos))
    assert.strictEqual(formatGoDuration(Either.getOrThrow(parseDuration(text))), text)
  })
})

import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import {
  formatUuid,
  isZeroUuid,
  parseUuid,
  randomUuidV4,
  uuidEquals,
  ZERO_UUID
} from "../../src/domain/Uuid.js"

const CANONICAL = "8b18191a-234f-45ce-b43c-b46e28cd2f70"
const BYTES = Uint8Array.from([
  0x8b, 0x18, 0x19, 0x1a, 0x23, 0x4f, 0x45, 0xce, 0xb4, 0x3c, 0xb4, 0x6e, 0x28, 0xcd, 0x2f, 0x70
])

const parsed = (text: string): string =>
  Either.match(parseUuid(text), { onLeft: (e) => `error: ${e.message}`, onRight: formatUuid })

describe("parseUuid (Go google/uuid Parse)", () => {
  it("parses the canonical form into bytes in text order", () => {
    const result = parseUuid(CANONICAL)
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) assert.deepStrictEqual(Array.from(result.right), Array.from(BYTES))
  })
  it("accepts uppercase and mixed-case hex", () => {
    assert.strictEqual(parsed(CANONICAL.toUpperCase()), CANONICAL)
    assert.strictEqual(parsed("8B18191a-234F-45cE-b43C-B46e28cd2f70"), CANONICAL)
  })
  it("accepts {…} (38 chars)", () => assert.strictEqual(parsed(`{${CANONICAL}}`), CANONICAL))
  it("like Go, does not check the characters around a 38-char form", () => {
    assert.strictEqual(parsed(`x${CANONICAL}y`), CANONICAL)
  })
  it("accepts urn:uuid: (45 chars)", () => assert.strictEqual(parsed(`urn:uuid:${CANONICAL}`), CANONICAL))
  it("accepts the urn prefix in any case", () => assert.strictEqual(parsed(`URN:UUID:${CANONICAL}`), CANONICAL))
  it("accepts 32 hex digits", () => assert.strictEqual(parsed(CANONICAL.replaceAll("-", "")), CANONICAL))
  it("accepts the nil UUID", () => assert.strictEqual(parsed("00000000-0000-0000-0000-000000000000"), formatUuid(ZERO_UUID)))

  it("rejects an empty string by length", () => assert.strictEqual(parsed(""), "error: invalid UUID length: 0"))
  it("rejects 35 chars by length", () => assert.strictEqual(parsed(CANONICAL.slice(1)), "error: invalid UUID length: 35"))
  it("rejects 37 chars by length", () => assert.strictEqual(parsed(CANONICAL + "0"), "error: invalid UUID length: 37"))
  it("counts the length in UTF-8 bytes", () => {
    assert.strictEqual(parsed("é" + CANONICAL.slice(1)), "error: invalid UUID length: 37")
  })
  it("rejects a misplaced hyphen", () => {
    assert.strictEqual(parsed("8b18191a2-34f-45ce-b43c-b46e28cd2f70"), "error: invalid UUID format")
  })
  it("rejects a non-hex digit", () => {
    assert.strictEqual(parsed("8b18191g-234f-45ce-b43c-b46e28cd2f70"), "error: invalid UUID format")
  })
  it("rejects a non-hex digit in the 32-digit form", () => {
    assert.strictEqual(parsed("8b18191a234f45ceb43cb46e28cd2f7z"), "error: invalid UUID format")
  })
  it("rejects a wrong urn prefix, quoting it like Go", () => {
    assert.strictEqual(parsed(`urn:uuix:${CANONICAL}`), "error: invalid urn prefix: \"urn:uuix:\"")
  })
  it("quotes non-printable bytes of a wrong urn prefix", () => {
    assert.strictEqual(parsed(`urn\tuuid:${CANONICAL}`), "error: invalid urn prefix: \"urn\\tuuid:\"")
  })
  it("the error is a tagged error with its data", () => {
    const error = Either.getLeft(parseUuid("nope"))
    assert.isTrue(error._tag === "Some")
    if (error._tag === "Some") {
      assert.strictEqual(error.value._tag, "UuidParseError")
      assert.strictEqual(error.value.input, "nope")
      assert.strictEqual(error.value.problem, "length")
      assert.strictEqual(error.value.length, 4)
    }
  })
})

describe("formatUuid / isZeroUuid / randomUuidV4", () => {
  it("formats lowercase canonical", () => assert.strictEqual(formatUuid(BYTES), CANONICAL))
  it("formats a subarray view correctly", () => {
    const big = new Uint8Array(20)
    big.set(BYTES, 4)
    assert.strictEqual(formatUuid(big.subarray(4)), CANONICAL)
  })
  it("ZERO_UUID is 16 zero bytes and zero", () => {
    assert.strictEqual(ZERO_UUID.length, 16)
    assert.isTrue(isZeroUuid(ZERO_UUID))
    assert.strictEqual(formatUuid(ZERO_UUID), "00000000-0000-0000-0000-000000000000")
  })
  it("a non-nil UUID is not zero", () => assert.isFalse(isZeroUuid(BYTES)))
  it("random UUIDs are version 4, RFC variant, and differ", () => {
    const a = randomUuidV4()
    const b = randomUuidV4()
    assert.strictEqual(a.length, 16)
    assert.strictEqual(a[6]! >> 4, 4)
    assert.strictEqual(a[8]! >> 6, 2)
    assert.match(formatUuid(a), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.isFalse(uuidEquals(a, b))
  })
})

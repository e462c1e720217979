import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { formatWwn, isZeroWwn, parseWwn, wwnFromBytes, wwnType, ZERO_WWN } from "../../src/domain/Wwn.js"

const parsed = (text: string): string =>
  Either.match(parseWwn(text), { onLeft: (e) => `error: ${e.message}`, onRight: formatWwn })

const NAA6 = "0x6" + "0123456789ABCDEF0123456789ABCDE"

describe("parseWwn (identity.md §4)", () => {
  it("the empty string is the zero WWN", () => {
    const result = parseWwn("")
    assert.isTrue(Either.isRight(result) && isZeroWwn(result.right))
  })
  it("parses 0x + 16 hex digits (NAA 5)", () => assert.strictEqual(parsed("0x5525400908FE6258"), "0x5525400908FE6258"))
  it("parses lowercase hex and renders uppercase", () => {
    assert.strictEqual(parsed("0x5525400908fe6258"), "0x5525400908FE6258")
  })
  it("parses without 0x", () => assert.strictEqual(parsed("5525400908FE6258"), "0x5525400908FE6258"))
  it("removes every colon", () => assert.strictEqual(parsed("55:25:40:09:08:fe:62:58"), "0x5525400908FE6258"))
  it("removes colons before the 0x prefix", () => assert.strictEqual(parsed("0:x55:25400908FE6258"), "0x5525400908FE6258"))
  it("accepts NAA types 1, 2, 12, 13, 14, 15 with 8 bytes", () => {
    for (const t of ["1", "2", "C", "D", "E", "F"]) {
      assert.strictEqual(parsed(`0x${t}000000000000001`), `0x${t}000000000000001`)
    }
  })
  it("parses NAA 6 with 16 bytes and renders all 16", () => assert.strictEqual(parsed(NAA6), NAA6))
  it("stores the bytes in a 16-byte buffer", () => {
    const result = parseWwn("0x5525400908FE6258")
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) {
      assert.strictEqual(result.right.length, 16)
      assert.deepStrictEqual(Array.from(result.right.subarray(8)), [0, 0, 0, 0, 0, 0, 0, 0])
      assert.strictEqual(wwnType(result.right), 5)
    }
  })

  const errors: ReadonlyArray<readonly [string, string]> = [
    ["0xg1", "world wide name value \"0xg1\" is invalid: encoding/hex: invalid byte: U+0067 'g'"],
    ["0x1g", "world wide name value \"0x1g\" is invalid: encoding/hex: invalid byte: U+0067 'g'"],
    ["0x123", "world wide name value \"0x123\" is invalid: encoding/hex: odd length hex string"],
    ["0x12g", "world wide name value \"0x12g\" is invalid: encoding/hex: invalid byte: U+0067 'g'"],
    ["0X55", "world wide name value \"0X55\" is invalid: encoding/hex: invalid byte: U+0058 'X'"],
    ["0x0x55", "world wide name value \"0x0x55\" is invalid: encoding/hex: invalid byte: U+0078 'x'"],
    ["0x 5", "world wide name value \"0x 5\" is invalid: encoding/hex: invalid byte: U+0020 ' '"],
    ["0x\u00015", "world wide name value \"0x\u00015\" is invalid: encoding/hex: invalid byte: U+0001"],
    ["0xé0", "world wide name value \"0xé0\" is invalid: encoding/hex: invalid byte: U+00C3 'Ã'"],
    ["0x", "world wide name value \"0x\" should be 8 or 16 bytes long"],
    [":", "world wide name value \":\" should be 8 or 16 bytes long"],
    [
      "0x6000000000000001",
      "world wide name \"0x6000000000000001\" with network address authority type \"6\" is 8 byte(s) long (should be 16)"
    ],
    [
      "0x5525400908FE6258" + "0000000000000000",
      "world wide name \"0x5525400908FE62580000000000000000\" with network address authority type \"5\" is 16 byte(s) long (should be 8)"
    ],
    [
      "0x55254009",
      "world wide name \"0x55254009\" with network address authority type \"5\" is 4 byte(s) long (should be 8)"
    ],
    ["0x3000000000000000", "world wide name \"0x3000000000000000\" has unrecognized network address authority type \"3\""],
    ["0x00", "world wide name \"0x00\" has unrecognized network address authority type \"0\""],
    ["0x7000", "world wide name \"0x7000\" has unrecognized network address authority type \"7\""],
    // 34 valid hex digits overflow the original's buffer (a panic there): an error here.
    [NAA6 + "000", `world wide name value "${NAA6}000" should be 8 or 16 bytes long`],
    // 33 digits: Go reports the odd length before it could overflow.
    [NAA6 + "0", `world wide name value "${NAA6}0" is invalid: encoding/hex: odd length hex string`],
    // An invalid 17th pair is reported before the overflow.
    [NAA6 + "0zz", `world wide name value "${NAA6}0zz" is invalid: encoding/hex: invalid byte: U+007A 'z'`]
  ]
  for (const [text, message] of errors) {
    it(`error: ${message}`, () => assert.strictEqual(parsed(text), `error: ${message}`))
  }

  it("does not crash on very long input", () => {
    assert.isTrue(Either.isLeft(parseWwn("0x" + "5".repeat(1000))))
  })
})

describe("formatWwn / wwnFromBytes / isZeroWwn", () => {
  it("renders the first 8 bytes unless NAA 6", () => {
    assert.strictEqual(formatWwn(wwnFromBytes(Uint8Array.from([0x55, 0x25, 0x40, 0x09, 0x08, 0xfe, 0x62, 0x58]))), "0x5525400908FE6258")
  })
  it("renders the zero WWN as 16 zero digits", () => assert.strictEqual(formatWwn(ZERO_WWN), "0x0000000000000000"))
  it("wwnFromBytes pads to 16 bytes", () => {
    const w = wwnFromBytes(Uint8Array.from([1, 2]))
    assert.strictEqual(w.length, 16)
    assert.deepStrictEqual(Array.from(w.subarray(0, 3)), [1, 2, 0])
  })
  it("isZeroWwn", () => {
    assert.isTrue(isZeroWwn(ZERO_WWN))
    assert.isFalse(isZeroWwn(wwnFromBytes(Uint8Array.from([0, 0, 1]))))
  })
})

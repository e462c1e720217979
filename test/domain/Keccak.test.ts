/** The hashes written out in src/domain/Keccak.ts give node:crypto's bytes. */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import { sha3_224, shake128 } from "../../src/domain/Keccak.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

describe("Keccak", () => {
  it("SHA3-224 of the empty input (FIPS 202 example)", () => {
    expect(hex(sha3_224(new Uint8Array()))).toBe("6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7")
  })

  it("SHAKE128 of the empty input (FIPS 202 example), 32 bytes", () => {
    expect(hex(shake128(new Uint8Array(), 32))).toBe("7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26")
  })

  // Lengths across the rate (144 bytes for SHA3-224, 168 for SHAKE128) and its multiples.
  const input = fc.uint8Array({ maxLength: 400 })

  it("SHA3-224 as node:crypto", () =>
    fc.assert(fc.property(input, (bytes) => {
      expect(hex(sha3_224(bytes))).toBe(createHash("sha3-224").update(bytes).digest("hex"))
    }), { numRuns: 500 }))

  it("SHAKE128 as node:crypto, any output length", () =>
    fc.assert(fc.property(input, fc.integer({ min: 0, max: 400 }), (bytes, length) => {
      expect(hex(shake128(bytes, length))).toBe(createHash("shake128", { outputLength: length }).update(bytes).digest("hex"))
    }), { numRuns: 500 }))

  it("inputs of every length around the block sizes", () => {
    for (let n = 130; n < 350; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff)
      expect(hex(sha3_224(bytes))).toBe(createHash("sha3-224").update(bytes).digest("hex"))
      expect(hex(shake128(bytes, 200))).toBe(createHash("shake128", { outputLength: 200 }).update(bytes).digest("hex"))
    }
  })
})

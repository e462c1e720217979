/**
 * The direct decoder and encoder (src/domain/DirectDecode.ts) agree with Schema's own: on every
 * value they succeed exactly when Schema does, with the same value and key order, and give up
 * otherwise (the caller then reports Schema's issues).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import { Attributes, Definition, HostFile, MachineFile } from "../../src/domain/Config.js"
import { decodeDirect, encodeDirect } from "../../src/domain/DirectDecode.js"
import { interesting, mutate, seedHost, seedMachine } from "../support/ConfigMutation.js"

/** Objects and arrays reachable from `value`. */
const containers = (value: unknown, into = new Set<object>()): Set<object> => {
  if (typeof value === "object" && value !== null && !into.has(value)) {
    into.add(value)
    for (const v of Object.values(value)) containers(v, into)
  }
  return into
}

/**
 * Whether the direct walk and Schema agree on `input`, decoding (or encoding: `cat --format json`
 * encodes merged definitions and the host file); true when both succeed.
 */
const sameAsSchema = (direction: "decode" | "encode") => <A, I>(schema: Schema.Schema<A, I, never>, input: unknown) => {
  const before = JSON.stringify(input)
  const expected = (direction === "decode" ? Schema.decodeUnknownEither : Schema.encodeUnknownEither)(schema as Schema.Schema<unknown, unknown, never>, { errors: "all" })(structuredClone(input))
  const direct = (direction === "decode" ? decodeDirect : encodeDirect)(schema.ast, input)
  // The input is left as it was.
  expect(JSON.stringify(input)).toBe(before)
  if (Either.isLeft(expected)) {
    expect(direct).toBeUndefined()
    return false
  }
  expect(direct).toBeDefined()
  // Same value, same key order (what JSON output and summaries print).
  expect(direct!.value).toStrictEqual(expected.right)
  expect(JSON.stringify(direct!.value)).toBe(JSON.stringify(expected.right))
  // Fresh containers, as Schema's: nothing of the input is shared with the result.
  const shared = [...containers(direct!.value)].filter((c) => containers(input).has(c))
  expect(shared).toEqual([])
  return true
}
const agrees = sameAsSchema("decode")
const encodesAlike = sameAsSchema("encode")

const schemas = [["host file", HostFile], ["machine file", MachineFile], ["definition", Definition], ["attributes", Attributes]] as const

describe("direct decoding agrees with Schema", () => {
  for (const [what, schema] of schemas) {
    const s = schema as unknown as Schema.Schema<unknown, unknown, never>
    it(`${what}: generated files`, () =>
      fc.assert(fc.property(Arbitrary.make(Schema.encodedSchema(s)), (doc) => {
        agrees(s, doc)
      }), { numRuns: 300 }))

    it(`${what}: decoded values given again`, () =>
      fc.assert(fc.property(Arbitrary.make(s), (doc) => {
        agrees(s, doc)
      }), { numRuns: 100 }))

    it(`${what}: random JSON`, () =>
      fc.assert(fc.property(fc.jsonValue(), (doc) => {
        agrees(s, doc)
      }), { numRuns: 200 }))
  }

  for (const [what, schema] of schemas) {
    const s = schema as unknown as Schema.Schema<unknown, unknown, never>
    it(`${what}: encoding values as Schema does`, () =>
      fc.assert(fc.property(Arbitrary.make(s), (value) => {
        expect(encodesAlike(s, value)).toBe(true)
      }), { numRuns: 200 }))

    it(`${what}: encoding what is not a value gives up as Schema fails`, () =>
      fc.assert(fc.property(fc.oneof(fc.jsonValue(), Arbitrary.make(Schema.encodedSchema(s))), (value) => {
        encodesAlike(s, value)
      }), { numRuns: 200 }))
  }

  it("the seed's files with one value replaced: both decode or neither", () => {
    let decoded = 0
    fc.assert(fc.property(fc.nat(), interesting, fc.nat(), interesting, (hp, hv, mp, mv) => {
      if (agrees(HostFile, mutate(seedHost, hp, hv))) decoded++
      if (agrees(MachineFile, mutate(seedMachine, mp, mv))) decoded++
    }), { numRuns: 1000 })
    // Both outcomes occur (about 15% of the files still decode).
    expect(decoded).toBeGreaterThan(50)
    expect(decoded).toBeLessThan(2000)
  })

  it("the seed's files decode directly", () => {
    expect(agrees(HostFile, seedHost)).toBe(true)
    expect(agrees(MachineFile, seedMachine)).toBe(true)
  })

  it("defaults are fresh for every file", () => {
    const a = decodeDirect<MachineFile>(MachineFile.ast, {})!.value
    const b = decodeDirect<MachineFile>(MachineFile.ast, {})!.value
    expect(a).toStrictEqual(b)
    const shared = [...containers(a)].filter((c) => containers(b).has(c))
    expect(shared).toEqual([])
  })
})

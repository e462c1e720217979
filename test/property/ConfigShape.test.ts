/**
 * The configuration's shapes (src/domain/ConfigShape.ts) agree with the Schema built from them:
 * decoding a document in one walk gives exactly what canonicalising it (Config.ts: keys matched
 * case-insensitively, `null` dropped, unknown keys collected) and then Schema's decoder give: the
 * same value, key order and unknown keys, and it gives up exactly when Schema fails. Encoding
 * (`cat --format json`) gives what Schema's encoder gives.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import { Attributes, canonicalize, Definition, HostFile, MachineFile } from "../../src/domain/Config.js"
import { decodeShape, encodeShape, schemaOf, type Shape, type UnknownKey } from "../../src/domain/ConfigShape.js"
import { interesting, mutate, seedHost, seedMachine } from "../support/ConfigMutation.js"

/** Objects and arrays reachable from `value`. */
const containers = (value: unknown, into = new Set<object>()): Set<object> => {
  if (typeof value === "object" && value !== null && !into.has(value)) {
    into.add(value)
    for (const v of Object.values(value)) containers(v, into)
  }
  return into
}

/** Nothing of the input is shared with the result (fresh containers, as Schema's). */
const expectFresh = (result: unknown, input: unknown) => {
  const inputs = containers(input)
  expect([...containers(result)].filter((c) => inputs.has(c))).toEqual([])
}

/**
 * Whether the walk agrees with canonicalising and Schema's decoder on `input`; true when both
 * decode it.
 */
const agrees = (shape: Shape, input: unknown): boolean => {
  const schema = schemaOf(shape) as Schema.Schema<unknown, unknown, never>
  const before = JSON.stringify(input)
  const expectedUnknown: Array<UnknownKey> = []
  const canonical = canonicalize(schema.ast, input, [], expectedUnknown)
  const expected = Schema.decodeUnknownEither(schema, { errors: "all" })(canonical)
  const unknown: Array<UnknownKey> = []
  const direct = decodeShape(shape, input, unknown)
  // The input is left as it was.
  expect(JSON.stringify(input)).toBe(before)
  if (Either.isLeft(expected)) {
    expect(direct).toBeUndefined()
    return false
  }
  expect(direct).toBeDefined()
  // Same value, same key order (what JSON output and summaries print), same warnings.
  expect(direct!.value).toStrictEqual(expected.right)
  expect(JSON.stringify(direct!.value)).toBe(JSON.stringify(expected.right))
  expect(unknown).toStrictEqual(expectedUnknown)
  expectFresh(direct!.value, input)
  return true
}

/** Whether encoding agrees with Schema's encoder on `value`; true when both encode it. */
const encodesAlike = (shape: Shape, value: unknown): boolean => {
  const schema = schemaOf(shape) as Schema.Schema<unknown, unknown, never>
  const expected = Schema.encodeUnknownEither(schema, { errors: "all" })(structuredClone(value))
  const direct = encodeShape(shape, value)
  if (Either.isLeft(expected)) {
    expect(direct).toBeUndefined()
    return false
  }
  expect(direct).toBeDefined()
  expect(JSON.stringify(direct!.value)).toBe(JSON.stringify(expected.right))
  expect(direct!.value).toStrictEqual(expected.right)
  expectFresh(direct!.value, value)
  return true
}

const shapes = [["host file", HostFile], ["machine file", MachineFile], ["definition", Definition], ["attributes", Attributes]] as const

/** A key as a file may spell it: as declared, in another case, or not a key at all. */
const respell = (value: unknown, choices: ReadonlyArray<number>): unknown => {
  let at = 0
  const next = () => choices[at++ % Math.max(1, choices.length)] ?? 0
  const go = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(go)
    if (typeof v !== "object" || v === null) return v
    const out: Record<string, unknown> = {}
    for (const [k, member] of Object.entries(v)) {
      const c = next() % 6
      const key = c === 1 ? k.toUpperCase() : c === 2 ? k.slice(0, 1).toUpperCase() + k.slice(1) : c === 3 ? `${k}x` : k
      out[key] = c === 4 ? null : go(member)
      // A second spelling of the same key, later in the object: the last one wins.
      if (c === 5) out[k.toUpperCase()] = go(member)
    }
    return out
  }
  return go(value)
}

describe("decoding by shape agrees with canonicalising and Schema's decoder", () => {
  for (const [what, shape] of shapes) {
    const schema = schemaOf(shape) as Schema.Schema<unknown, unknown, never>
    it(`${what}: generated files`, () =>
      fc.assert(fc.property(Arbitrary.make(Schema.encodedSchema(schema)), (doc) => {
        agrees(shape, doc)
      }), { numRuns: 300 }))

    it(`${what}: generated files with keys respelled, duplicated, unknown or null`, () => {
      let decoded = 0
      // Bound: numbers within their refinements, so that most files decode.
      fc.assert(fc.property(Arbitrary.make(Schema.encodedBoundSchema(schema)), fc.array(fc.nat(), { minLength: 1 }), (doc, choices) => {
        if (agrees(shape, respell(doc, choices))) decoded++
      }), { numRuns: 300 })
      expect(decoded).toBeGreaterThan(200)
    })

    it(`${what}: decoded values given again`, () =>
      fc.assert(fc.property(Arbitrary.make(schema), (doc) => {
        agrees(shape, doc)
      }), { numRuns: 100 }))

    it(`${what}: random JSON`, () =>
      fc.assert(fc.property(fc.jsonValue(), (doc) => {
        agrees(shape, doc)
      }), { numRuns: 200 }))
  }

  for (const [what, shape] of shapes) {
    const schema = schemaOf(shape) as Schema.Schema<unknown, unknown, never>
    it(`${what}: encoding values as Schema does`, () =>
      fc.assert(fc.property(Arbitrary.make(schema), (value) => {
        expect(encodesAlike(shape, value)).toBe(true)
      }), { numRuns: 200 }))

    it(`${what}: encoding what is not a value gives up as Schema fails`, () =>
      fc.assert(fc.property(fc.oneof(fc.jsonValue(), Arbitrary.make(Schema.encodedSchema(schema))), (value) => {
        encodesAlike(shape, value)
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

  it("the seed's files decode by shape", () => {
    expect(agrees(HostFile, seedHost)).toBe(true)
    expect(agrees(MachineFile, seedMachine)).toBe(true)
  })

  it("a renamed key: its warning names the key in the file, and suggests from the keys in the file", () => {
    const unknown: Array<UnknownKey> = []
    const decoded = decodeShape(MachineFile, { attrs: { spice: { "Port-Pattern": "59{{.x}}", portPatern: "1" } } }, unknown)
    expect(decoded?.value.attrs.spice.portPattern).toBe("59{{.x}}")
    expect(unknown).toStrictEqual([{
      path: ["attrs", "spice", "portPatern"],
      key: "portPatern",
      expected: ["enabled", "port", "port-pattern", "displays"]
    }])
  })

  it("defaults are fresh for every file", () => {
    const a = decodeShape(MachineFile, {})!.value
    const b = decodeShape(MachineFile, {})!.value
    expect(a).toStrictEqual(b)
    expect([...containers(a)].filter((c) => containers(b).has(c))).toEqual([])
  })
})

/**
 * Bad input never crashes: random and mutated configurations always decode to a value or a
 * typed error (ConfigInvalidError), never an exception, and so does everything downstream.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"
import { compose } from "../../src/domain/Merge.js"
import { hostSummary, machineSummary } from "../../src/domain/Summary.js"
import { downstream } from "../support/Downstream.js"

const seedHost = JSON.parse(readFileSync("test/golden/cases/seed-example/etc/machina/machina.conf.json", "utf8"))
const seedMachine = JSON.parse(readFileSync("test/golden/cases/seed-example/etc/machina/machine.conf.d/test-vm.conf.json", "utf8"))

/** Replaces the value at a random path of `doc` with `replacement`. */
const mutate = (doc: unknown, pick: number, replacement: unknown): unknown => {
  const paths: Array<Array<string | number>> = []
  const walk = (v: unknown, path: Array<string | number>) => {
    paths.push(path)
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]))
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...path, k])
  }
  walk(doc, [])
  const path = paths[pick % paths.length]!
  if (path.length === 0) return replacement
  const copy = structuredClone(doc) as any
  let at = copy
  for (const seg of path.slice(0, -1)) at = at[seg]
  at[path[path.length - 1]!] = replacement
  return copy
}

const interesting = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom("", "a b", "../x", "x,y", "${", "$", "0x", "-1", "99999999999", "é", "%n", "\u0000"),
  fc.integer(),
  fc.double(),
  fc.constant(null)
)

const exercise = (hostText: string, machineText: string) => {
  const host = decodeHost(hostText, "h.json")
  const machine = decodeMachine(machineText, "m.json", "test-vm")
  if (Either.isRight(host)) hostSummary(host.right.config)
  if (Either.isRight(host) && Either.isRight(machine)) {
    const composed = compose(host.right, machine.right)
    if (Either.isRight(composed)) {
      machineSummary(composed.right.machine, composed.right.definition)
      downstream(host.right, composed.right)
    } else {
      expect(composed.left._tag).toBe("ConfigInvalidError")
    }
  }
  if (Either.isLeft(host)) expect(host.left._tag).toBe("ConfigInvalidError")
  if (Either.isLeft(machine)) expect(machine.left._tag).toBe("ConfigInvalidError")
}

describe("configuration fuzzing", () => {
  it("random JSON documents", () =>
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (h, m) => exercise(JSON.stringify(h), JSON.stringify(m))), { numRuns: 300 }))

  it("random text", () =>
    fc.assert(fc.property(fc.string(), fc.string(), (h, m) => exercise(h, m)), { numRuns: 200 }))

  it("the seed configuration with one value replaced", () =>
    fc.assert(
      fc.property(fc.nat(), interesting, fc.nat(), interesting, (hp, hv, mp, mv) =>
        exercise(JSON.stringify(mutate(seedHost, hp, hv)), JSON.stringify(mutate(seedMachine, mp, mv)))),
      { numRuns: 1000 }
    ))

  it("the seed configuration truncated", () =>
    fc.assert(fc.property(fc.nat(), (cut) => {
      const text = JSON.stringify(seedMachine, null, 2)
      exercise(JSON.stringify(seedHost), text.slice(0, cut % text.length))
    }), { numRuns: 200 }))
})

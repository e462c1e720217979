/**
 * Bad input never crashes: random and mutated configurations always decode to a value or a
 * typed error (ConfigInvalidError), never an exception, and so does everything downstream.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"
import { compose } from "../../src/domain/Merge.js"
import { hostSummary, machineSummary } from "../../src/domain/Summary.js"
import { interesting, mutate, seedHost, seedMachine } from "../support/ConfigMutation.js"
import { downstream } from "../support/Downstream.js"

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

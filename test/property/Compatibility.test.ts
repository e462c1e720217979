/**
 * The original's decoding (config.md §7) as properties: unknown keys anywhere in a file are
 * ignored (the file decodes to what it decodes to without them) with exactly one warning per key,
 * and trailing data after the first JSON value is ignored with one warning.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"

const seedHost = JSON.parse(readFileSync("test/golden/cases/seed-example/etc/machina/machina.conf.json", "utf8"))
const seedMachine = JSON.parse(readFileSync("test/golden/cases/seed-example/etc/machina/machine.conf.d/test-vm.conf.json", "utf8"))

/** Keys no schema knows (in any letter case): `x-` prefixed. */
const unknownKey = fc.stringMatching(/^x-[a-z]{1,8}$/)

/**
 * Objects of `doc` where a key may be added: objects that are structs, not maps such as `vars`,
 * `storage` or `tag` (whose keys are names).
 */
const structPaths = (doc: unknown): Array<Array<string | number>> => {
  const maps = new Set(["vars", "storage", "network", "mdev", "tag", "processor", "types"])
  const out: Array<Array<string | number>> = []
  const walk = (v: unknown, path: Array<string | number>, isMap: boolean) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i], false))
    else if (v !== null && typeof v === "object") {
      if (!isMap) out.push(path)
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k], !isMap && maps.has(k))
    }
  }
  walk(doc, [], false)
  return out
}

const withKeys = (doc: unknown, additions: ReadonlyArray<[number, string, unknown]>) => {
  const copy = structuredClone(doc) as any
  const paths = structPaths(copy)
  const added = new Set<string>()
  for (const [pick, key, value] of additions) {
    const path = paths[pick % paths.length]!
    let at = copy
    for (const seg of path) at = at[seg]
    const id = JSON.stringify([...path, key])
    if (added.has(id)) continue
    added.add(id)
    at[key] = value
  }
  return { doc: copy, count: added.size }
}

const additions = fc.array(fc.tuple(fc.nat(), unknownKey, fc.jsonValue()), { maxLength: 6 })

describe("decoding like the original", () => {
  it("unknown keys change nothing but add one warning each", () =>
    fc.assert(fc.property(additions, additions, (hostAdds, machineAdds) => {
    const h = withKeys(seedHost, hostAdds)
    const m = withKeys(seedMachine, machineAdds)
    const host = Either.getOrThrow(decodeHost(JSON.stringify(h.doc), "h"))
    const machine = Either.getOrThrow(decodeMachine(JSON.stringify(m.doc), "m", "test-vm"))
    const plainHost = Either.getOrThrow(decodeHost(JSON.stringify(seedHost), "h"))
    const plainMachine = Either.getOrThrow(decodeMachine(JSON.stringify(seedMachine), "m", "test-vm"))
    expect(host.config).toEqual(plainHost.config)
    expect({ ...machine, warnings: [] }).toEqual({ ...plainMachine, warnings: [] })
    expect(host.warnings).toHaveLength(h.count)
    expect(machine.warnings).toHaveLength(m.count)
    for (const w of [...host.warnings, ...machine.warnings]) expect(w.message).toMatch(/^unknown key "x-[a-z]+" \(ignored(; did you mean "[a-z-]+"\?)?\)$/)
  }), { numRuns: 200 }))

  it("data after the first value is ignored with one warning", () =>
    fc.assert(fc.property(fc.string({ minLength: 1 }).filter((s) => s.trim() !== ""), fc.stringMatching(/^[ \n]{0,3}$/), (trailer, gap) => {
      const text = JSON.stringify(seedMachine, null, 2) + gap + "\n" + (/^\s/.test(trailer) ? "x" + trailer : trailer)
      const machine = Either.getOrThrow(decodeMachine(text, "m", "test-vm"))
      expect(machine.definition).toEqual(Either.getOrThrow(decodeMachine(JSON.stringify(seedMachine), "m", "test-vm")).definition)
      expect(machine.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^data after the JSON value at line \d+, column \d+ \(ignored\)$/)])
    }), { numRuns: 200 }))
})

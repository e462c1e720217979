/** Mutated configuration documents for property tests: the seed's files with one value replaced. */
import * as fc from "fast-check"
import { readFileSync } from "node:fs"

export const seedHost: unknown = JSON.parse(readFileSync("test/golden/cases/seed-example/etc/machina/machina.conf.json", "utf8"))
export const seedMachine: unknown = JSON.parse(
  readFileSync("test/golden/cases/seed-example/etc/machina/machine.conf.d/test-vm.conf.json", "utf8")
)

/** Replaces the value at a random path of `doc` with `replacement`. */
export const mutate = (doc: unknown, pick: number, replacement: unknown): unknown => {
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

/** Values that stress decoders: any JSON, awkward text, numbers out of range, null. */
export const interesting = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom("", "a b", "../x", "x,y", "${", "$", "0x", "-1", "99999999999", "é", "%n", "\u0000"),
  fc.integer(),
  fc.double(),
  fc.constant(null)
)

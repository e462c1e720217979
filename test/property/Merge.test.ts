/** Merge laws (config.md §6) over random definitions. */
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import { Definition } from "../../src/domain/Config.js"
import { schemaOf } from "../../src/domain/ConfigShape.js"
import type { Machine } from "../../src/domain/ConfigFiles.js"
import { mergeSources, populate, type Source } from "../../src/domain/Merge.js"
import { ZERO_UUID } from "../../src/domain/Uuid.js"

const name = fc.constantFrom("a", "b", "c", "os", "data", "0", "1")
const volume = fc.record({ name, storage: name, wwn: fc.constant(""), serial: fc.constantFrom("", "S1"), bootable: fc.boolean() })
const connection = fc.record({ name, network: name, ip: fc.constant(""), mac: fc.constantFrom("", "52:54:00:00:00:01") })
const device = fc.record({ name, class: name, id: fc.constant("") })
const base = Arbitrary.make(schemaOf(Definition))
const definition = fc.tuple(base, fc.array(volume, { maxLength: 4 }), fc.array(connection, { maxLength: 3 }), fc.array(device, { maxLength: 3 }))
  .map(([d, volumes, connections, devices]): Definition => ({
    ...d,
    attrs: { ...d.attrs, qmp: { ...d.attrs.qmp, sockets: { names: [...new Set(d.attrs.qmp.sockets.names)], paths: [...new Set(d.attrs.qmp.sockets.paths)] } } },
    volumes,
    connections,
    devices
  }))
const sources = fc.array(definition, { minLength: 1, maxLength: 5 }).map((defs) =>
  defs.map((d, i): Source => ({ definition: d, origin: { file: `f${i}`, path: "$" } }))
)

const machine: Machine = { file: "vm.conf.json", fileName: "vm", name: "vm", description: "", id: "", idBytes: ZERO_UUID, tags: [], definition: Either.getOrThrow(Either.right({} as Definition)), warnings: [] }

describe("merge laws", () => {
  it("first non-zero value wins for every scalar attribute", () =>
    fc.assert(fc.property(sources, (ss) => {
      const m = mergeSources(ss).definition.attrs
      const first = <A>(get: (d: Definition) => A, set: (a: A) => boolean, zero: A) => ss.map((s) => get(s.definition)).find(set) ?? zero
      expect(m.memory.ram).toBe(first((d) => d.attrs.memory.ram, (n) => n > 0, 0))
      expect(m.cpu.cores).toBe(first((d) => d.attrs.cpu.cores, (n) => n > 0, 0))
      expect(m.cpu.processor).toBe(first((d) => d.attrs.cpu.processor, (s) => s !== "", ""))
      expect(m.spice.portPattern).toBe(first((d) => d.attrs.spice.portPattern, (s) => s !== "", ""))
      expect(m.hardware.revision).toBe(first((d) => d.attrs.hardware.revision, (s) => s !== "", ""))
    })))

  it("enabled flags are the OR of all definitions", () =>
    fc.assert(fc.property(sources, (ss) => {
      const m = mergeSources(ss).definition.attrs
      expect(m.qmp.enabled).toBe(ss.some((s) => s.definition.attrs.qmp.enabled))
      expect(m.spice.enabled).toBe(ss.some((s) => s.definition.attrs.spice.enabled))
      expect(m.tpm.enabled).toBe(ss.some((s) => s.definition.attrs.tpm.enabled))
    })))

  it("lists keep exactly the first item per name, in order of first appearance", () =>
    fc.assert(fc.property(sources, (ss) => {
      const merged = mergeSources(ss).definition.volumes
      const all = ss.flatMap((s) => s.definition.volumes)
      const names = [...new Set(all.map((v) => v.name))]
      expect(merged.map((v) => v.name)).toEqual(names)
      for (const v of merged) expect(v).toBe(all.find((x) => x.name === v.name))
    })))

  it("vars: union where the first definition of a key wins", () =>
    fc.assert(fc.property(sources, (ss) => {
      const vars = mergeSources(ss).definition.vars
      for (const s of ss) for (const k of Object.keys(s.definition.vars)) expect(k in vars).toBe(true)
      for (const [k, v] of Object.entries(vars)) expect(v).toBe(ss.find((s) => k in s.definition.vars)!.definition.vars[k])
    })))

  it("is associative: merging a merged tail gives the same result", () =>
    fc.assert(fc.property(sources, (ss) => {
      const [head, ...tail] = ss
      if (tail.length === 0) return
      const tailMerged = mergeSources(tail).definition
      const nested = mergeSources([head!, { definition: tailMerged, origin: { file: "t", path: "$" } }]).definition
      expect(nested).toEqual(mergeSources(ss).definition)
    })))

  it("is idempotent: repeating a source changes nothing", () =>
    fc.assert(fc.property(sources, (ss) => {
      expect(mergeSources([...ss, ...ss]).definition).toEqual(mergeSources(ss).definition)
    })))

  it("populating is stable and only fills what is missing", () =>
    fc.assert(fc.property(sources, (ss) => {
      const d = mergeSources(ss).definition
      const once = populate(machine, d)
      expect(populate(machine, once)).toEqual(once)
      d.volumes.forEach((v, i) => {
        if (v.serial !== "") expect(once.volumes[i]!.serial).toBe(v.serial)
      })
      d.connections.forEach((c, i) => {
        if (c.mac !== "") expect(once.connections[i]!.mac).toBe(c.mac)
      })
    })))
})

import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"
import { compose } from "../../src/domain/Merge.js"
import { provenance, type ProvenanceEntry } from "../../src/domain/Provenance.js"

const seed = "test/golden/cases/seed-example/etc/machina"
const seedHost = () => Either.getOrThrow(decodeHost(readFileSync(`${seed}/machina.conf.json`, "utf8"), "machina.conf.json"))
const seedMachine = () =>
  Either.getOrThrow(decodeMachine(readFileSync(`${seed}/machine.conf.d/test-vm.conf.json`, "utf8"), "test-vm.conf.json", "test-vm"))
const host = (json: unknown) => Either.getOrThrow(decodeHost(JSON.stringify(json), "host.json"))
const machine = (json: unknown, name = "vm") => Either.getOrThrow(decodeMachine(JSON.stringify(json), `${name}.conf.json`, name))

const byPath = (entries: ReadonlyArray<ProvenanceEntry>) => Object.fromEntries(entries.map((e) => [e.path, e]))

describe("provenance", () => {
  it("names the tag, the machine file or derivation for each value of the seed machine", () => {
    const p = Either.getOrThrow(provenance(seedHost(), seedMachine()))
    const at = byPath(p.entries)
    expect(at["$.attrs.memory.ram"]).toEqual({
      path: "$.attrs.memory.ram",
      value: 32768,
      source: { kind: "tag", tag: "vdi-cad" },
      origin: { file: "machina.conf.json", path: "$.tag.vdi-cad.attrs.memory.ram" }
    })
    expect(at["$.vars[\"employee-id\"]"]).toMatchObject({ value: "9000", source: { kind: "machine" }, origin: { file: "test-vm.conf.json" } })
    expect(at["$.attrs.spice.port-pattern"]).toMatchObject({ value: "5${employee-id}", source: { kind: "tag", tag: "vdi-employee" } })
    expect(at["$.attrs.firmware.code"]).toMatchObject({ value: "firmware-code/ovmf-stable202302", source: { kind: "tag", tag: "firmware-202302" } })
    expect(at["$.volumes[2].name"]).toMatchObject({ value: "win10", source: { kind: "tag", tag: "windows-10-media" }, origin: { path: "$.tag.windows-10-media.volumes[0].name" } })
    expect(at["$.connections[0].mac"]).toEqual({ path: "$.connections[0].mac", value: "52:54:00:26:77:fa", source: { kind: "derived" }, origin: undefined })
    expect(at["$.devices[0].id"]).toMatchObject({ value: "3e2cee4d-1002-4989-af98-3e03b8ad3197", source: { kind: "derived" } })
    expect(at["$.privileges.filesystem.group.id"]).toMatchObject({ value: 2584257136, source: { kind: "derived" } })
  })

  it("agrees with compose on every merged value", () => {
    const p = Either.getOrThrow(provenance(seedHost(), seedMachine()))
    expect(p.composed).toEqual(Either.getOrThrow(compose(seedHost(), seedMachine())))
  })

  it("prefers the machine over its tags, and the first tag over later ones", () => {
    const h = host({ tag: { small: { attrs: { memory: { ram: 1024 }, cpu: { cores: 2 } } }, big: { attrs: { memory: { ram: 8192 }, cpu: { cores: 8, threads: 2 } } } } })
    const m = machine({ tags: ["small", "big"], attrs: { cpu: { cores: 4 } }, connections: [{ name: "a", network: "n", mac: "52:54:00:00:00:01" }] })
    const at = byPath(Either.getOrThrow(provenance(h, m)).entries)
    expect(at["$.attrs.memory.ram"]!.source).toEqual({ kind: "tag", tag: "small" })
    expect(at["$.attrs.cpu.cores"]).toMatchObject({ value: 4, source: { kind: "machine" }, origin: { file: "vm.conf.json", path: "$.attrs.cpu.cores" } })
    expect(at["$.attrs.cpu.threads"]!.source).toEqual({ kind: "tag", tag: "big" })
    expect(at["$.connections[0].mac"]).toMatchObject({ value: "52:54:00:00:00:01", source: { kind: "machine" } })
  })

  it("fails as compose does on an undefined tag", () => {
    const r = provenance(host({}), machine({ tags: ["nope"] }))
    expect(Either.isLeft(r) && r.left.issues.map(String)).toEqual(["vm.conf.json: $.tags[0]: tag \"nope\" is not defined in host.json (it defines no tags)"])
  })
})

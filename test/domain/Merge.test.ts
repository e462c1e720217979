import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"
import { compose, composeUnpopulated, populate } from "../../src/domain/Merge.js"
import { machineSummary } from "../../src/domain/Summary.js"

const seed = "test/golden/cases/seed-example/etc/machina"
const seedHost = () => Either.getOrThrow(decodeHost(readFileSync(`${seed}/machina.conf.json`, "utf8"), "machina.conf.json"))
const seedMachine = () =>
  Either.getOrThrow(decodeMachine(readFileSync(`${seed}/machine.conf.d/test-vm.conf.json`, "utf8"), "test-vm.conf.json", "test-vm"))

const host = (json: unknown) => Either.getOrThrow(decodeHost(JSON.stringify(json), "host.json"))
const machine = (json: unknown, name = "vm") => Either.getOrThrow(decodeMachine(JSON.stringify(json), `${name}.conf.json`, name))

describe("merge", () => {
  it("without derived identifiers: the same merge, identifiers left as configured", () => {
    const full = Either.getOrThrow(compose(seedHost(), seedMachine()))
    const bare = Either.getOrThrow(composeUnpopulated(seedHost(), seedMachine()))
    expect(bare.definition.connections).toEqual([{ name: "0", network: "local", ip: "", mac: "" }])
    expect(bare.definition.volumes.map((v) => v.wwn)).toEqual(["", "", ""])
    expect(bare.origins).toEqual(full.origins)
    expect(populate(bare.machine, bare.definition)).toEqual(full.definition)
    // It fails where compose fails: an unknown tag.
    const unknownTag = machine({ tags: ["nope"] })
    expect(Either.getLeft(composeUnpopulated(seedHost(), unknownTag))).toEqual(Either.getLeft(compose(seedHost(), unknownTag)))
    expect(Either.isLeft(compose(seedHost(), unknownTag))).toBe(true)
  })

  it("reproduces the seed walk-through (config.md §6)", () => {
    const c = Either.getOrThrow(compose(seedHost(), seedMachine()))
    const d = c.definition
    expect(d.volumes.map((v) => [v.name, v.storage])).toEqual([["os", "guest-data"], ["virtio-win-latest", "iso-ahci"], ["win10", "iso-scsi"]])
    expect(d.connections).toEqual([{ name: "0", network: "local", ip: "", mac: "52:54:00:26:77:fa" }])
    expect(d.devices).toEqual([{ name: "vgpu", class: "cad-standard", id: "3e2cee4d-1002-4989-af98-3e03b8ad3197" }])
    expect(d.privileges.filesystem.group).toEqual({ name: "machina-test-vm", id: 2584257136 })
    expect(d.attrs.spice).toEqual({ enabled: true, port: 0, portPattern: "5${employee-id}", displays: 1 })
    expect(d.attrs.cpu).toEqual({ processor: "", sockets: 1, cores: 4, threads: 0 })
    expect(d.attrs.firmware.code).toMatchObject({ name: "ovmf-stable202302", storage: "firmware-code", wwn: "", serial: "" })
    expect(c.origins.volumes[0]).toEqual({ file: "machina.conf.json", path: "$.tag.vdi-cad.volumes[0]" })
    expect(c.origins.attrs["spice.port-pattern"]).toEqual({ file: "machina.conf.json", path: "$.tag.vdi-employee.attrs.spice.port-pattern" })
  })

  it("prints the seed summary byte for byte", () => {
    const c = Either.getOrThrow(compose(seedHost(), seedMachine()))
    const expected = readFileSync("test/golden/cases/seed-example/expected/cat.txt", "utf8")
    expect(machineSummary(c.machine, c.definition) + "\n").toBe(expected)
  })

  it("lets the machine beat its tags and earlier tags beat later ones, field by field", () => {
    const h = host({
      tag: {
        a: { attrs: { memory: { ram: 1024 }, cpu: { cores: 2 }, spice: { enabled: true, port: 5900 } }, vars: { x: "a", y: "a" } },
        b: { attrs: { memory: { ram: 2048 }, cpu: { sockets: 2 }, spice: { enabled: false, "port-pattern": "59${n}" } }, vars: { x: "b", z: "b" } }
      }
    })
    const d = Either.getOrThrow(compose(h, machine({ tags: ["a", "b"], attrs: { cpu: { cores: 8 } }, vars: { x: "m" } }))).definition
    expect(d.attrs.memory.ram).toBe(1024)
    expect(d.attrs.cpu).toMatchObject({ sockets: 2, cores: 8 })
    expect(d.attrs.spice).toMatchObject({ enabled: true, port: 5900, portPattern: "59${n}" })
    expect(d.vars).toEqual({ x: "m", y: "a", z: "b" })
  })

  it("ORs enabled flags: a higher-priority false cannot switch a tag's true off", () => {
    const h = host({ tag: { t: { attrs: { qmp: { enabled: true } } } } })
    expect(Either.getOrThrow(compose(h, machine({ tags: ["t"], attrs: { qmp: { enabled: false } } }))).definition.attrs.qmp.enabled).toBe(true)
  })

  it("keeps the first item per name and fills only missing identifiers", () => {
    const h = host({ tag: { t: { volumes: [{ name: "os", storage: "slow" }, { name: "data", storage: "d" }], connections: [{ name: "0", network: "wan" }] } } })
    const d = Either.getOrThrow(compose(h, machine({
      id: "00000000-0000-0000-0000-000000000001",
      tags: ["t"],
      volumes: [{ name: "os", storage: "fast", serial: "MYSERIAL" }],
      connections: [{ name: "0", network: "lan", mac: "52:54:00:00:00:01" }]
    }, "alpha"))).definition
    expect(d.volumes.map((v) => [v.name, v.storage, v.wwn, v.serial])).toEqual([
      ["os", "fast", "0x5525400C18104E5B", "MYSERIAL"],
      ["data", "d", "0x55254007794D2742", "NT5F2JF9P5MBUDU9MJCJQN46B4"]
    ])
    expect(d.connections).toEqual([{ name: "0", network: "lan", ip: "", mac: "52:54:00:00:00:01" }])
  })

  it("unions QMP socket lists from the lowest priority up", () => {
    const h = host({ tag: { a: { attrs: { qmp: { sockets: { names: ["x", "y"] } } } }, b: { attrs: { qmp: { sockets: { names: ["z", "x"] } } } } } })
    const d = Either.getOrThrow(compose(h, machine({ tags: ["a", "b"], attrs: { qmp: { sockets: { names: ["m"] } } } }))).definition
    expect(d.attrs.qmp.sockets.names).toEqual(["z", "x", "y", "m"])
  })

  it("names the unknown tag, the file and the defined tags", () => {
    const result = compose(host({ tag: { b: {}, a: {} } }), machine({ tags: ["a", "nope"] }))
    expect(Either.isLeft(result) && result.left.message).toBe(
      `vm.conf.json: $.tags[1]: tag "nope" is not defined in host.json (defined tags: a, b)`
    )
  })
})

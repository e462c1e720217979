import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { didYouMean, editDistance } from "../../src/domain/Config.js"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"

const issuesOf = <A>(e: Either.Either<A, { issues: ReadonlyArray<{ toString(): string }> }>) =>
  Either.isLeft(e) ? e.left.issues.map((i) => i.toString()) : []

describe("machine files", () => {
  it("decodes the seed machine with defaults and the file-derived name", () => {
    const m = Either.getOrThrow(decodeMachine(
      `{"id":"8B18191A-234F-45CE-B43C-B46E28CD2F70","description":"d","tags":["a"],"vars":{"k":"v"}}`,
      "m.conf.json",
      "test-vm"
    ))
    expect(m.name).toBe("test-vm")
    expect(m.id).toBe("8b18191a-234f-45ce-b43c-b46e28cd2f70")
    expect(m.definition.attrs.memory.ram).toBe(0)
    expect(m.definition.volumes).toEqual([])
  })

  it("matches keys case-insensitively and treats null as absent, like the original", () => {
    const m = Either.getOrThrow(decodeMachine(
      `{"ID":"{8b18191a-234f-45ce-b43c-b46e28cd2f70}","Attrs":{"Memory":{"RAM":512},"spice":{"Port-Pattern":"5900"}},"tags":null}`,
      "m.conf.json",
      "vm"
    ))
    expect(m.id).toBe("8b18191a-234f-45ce-b43c-b46e28cd2f70")
    expect(m.definition.attrs.memory.ram).toBe(512)
    expect(m.definition.attrs.spice.portPattern).toBe("5900")
    expect(m.tags).toEqual([])
  })

  it("reports every problem with file, JSON path and expectation", () => {
    const issues = issuesOf(decodeMachine(
      `{"attrs":{"memory":{"ram":"32G"},"cpu":{"cores":1.5}},"typo":true}`,
      "/etc/machina/machine.conf.d/vm.conf.json",
      "vm"
    ))
    expect(issues).toContain("/etc/machina/machine.conf.d/vm.conf.json: $.attrs.memory.ram: expected number, actual \"32G\"")
    expect(issues).toContain("/etc/machina/machine.conf.d/vm.conf.json: $.attrs.cpu.cores: expected an integer, actual 1.5")
    expect(issues.some((i) => i.includes("$.typo"))).toBe(false)
  })

  it("ignores unknown keys with one warning each, suggesting a close known key", () => {
    const m = Either.getOrThrow(decodeMachine(
      `{"comment":"x","tagz":["a"],"attrs":{"memroy":{"ram":1},"memory":{"ram":2}},"volumes":[{"name":"os","storage":"p","sise":1}],"vars":{"anything":"ok"}}`,
      "f",
      "vm"
    ))
    expect(m.definition.attrs.memory.ram).toBe(2)
    expect(m.tags).toEqual([])
    expect(m.definition.vars).toEqual({ anything: "ok" })
    expect(m.warnings.map(String)).toEqual([
      `f: $.comment: unknown key "comment" (ignored)`,
      `f: $.tagz: unknown key "tagz" (ignored; did you mean "tags"?)`,
      `f: $.attrs.memroy: unknown key "memroy" (ignored; did you mean "memory"?)`,
      `f: $.volumes[0].sise: unknown key "sise" (ignored)`
    ])
  })

  it("suggests only keys that are close", () => {
    expect(didYouMean("tagz", ["name", "tags", "vars"])).toBe("tags")
    expect(didYouMean("Pattren", ["path", "pattern", "type"])).toBe("pattern")
    expect(didYouMean("comment", ["connections", "devices", "name"])).toBeUndefined()
    expect(didYouMean("id", ["ip", "name"])).toBeUndefined()
    expect(editDistance("memroy", "memory")).toBe(1)
  })

  it("reads only the first JSON value, warning about the rest with its line", () => {
    const m = Either.getOrThrow(decodeMachine(`{"attrs":{"memory":{"ram":64}}}\n\n# old notes\n{"name":"x"}`, "f", "vm"))
    expect(m.name).toBe("vm")
    expect(m.definition.attrs.memory.ram).toBe(64)
    expect(m.warnings.map(String)).toEqual(["f: $: data after the JSON value at line 3, column 1 (ignored)"])
    expect(Either.isRight(decodeMachine(`null`, "f", "vm"))).toBe(true)
  })

  it("reports invalid names, identifiers and addresses after decoding", () => {
    const issues = issuesOf(decodeMachine(
      JSON.stringify({
        id: "not-a-uuid",
        tags: ["ok", "bad tag"],
        volumes: [{ name: "a,b", storage: "pool", wwn: "0x12" }],
        connections: [{ name: "0", network: "../etc", mac: "nope" }],
        devices: [{ name: "gpu", class: "c", id: "xyz" }]
      }),
      "f",
      "vm"
    ))
    expect(issues).toEqual([
      "f: $.id: invalid UUID length: 10",
      expect.stringMatching(/^f: \$\.tags\[1\]: tag name "bad tag" is not allowed/),
      expect.stringMatching(/^f: \$\.volumes\[0\]\.name: volume name "a,b" is not allowed/),
      "f: $.volumes[0].wwn: world wide name \"0x12\" with network address authority type \"1\" is 1 byte(s) long (should be 8)",
      expect.stringMatching(/^f: \$\.connections\[0\]\.network: network name "\.\.\/etc" is not allowed/),
      "f: $.connections[0].mac: MAC address \"nope\" must look like 52:54:00:12:34:56",
      "f: $.devices[0].id: invalid UUID length: 3"
    ])
  })

  it("takes a JSON name over the file name, as the original does, and validates it", () => {
    const m = Either.getOrThrow(decodeMachine(`{"name":"other"}`, "f", "vm"))
    expect([m.name, m.fileName]).toEqual(["other", "vm"])
    expect(Either.getOrThrow(decodeMachine(`{"name":""}`, "f", "vm")).name).toBe("vm")
    expect(issuesOf(decodeMachine(`{"name":"a b"}`, "f", "vm"))[0]).toMatch(/^f: \$\.name: machine name "a b" is not allowed/)
  })

  it("rejects malformed JSON with a position", () => {
    expect(issuesOf(decodeMachine(`{"id": }`, "f", "vm"))[0]).toMatch(/^f: \$: invalid JSON \(line 1, column 8\)/)
    expect(issuesOf(decodeMachine(`{\n  "a": 1,\n  "b" 2}`, "f", "vm"))[0]).toBe(`f: $: invalid JSON (line 3, column 7): unexpected "2"`)
    expect(issuesOf(decodeMachine(`{"a": [1, 2`, "f", "vm"))[0]).toBe(`f: $: invalid JSON (line 1, column 12): unexpected end of input`)
    expect(issuesOf(decodeMachine(`{"a":1,}`, "f", "vm"))[0]).toMatch(/^f: \$: invalid JSON \(line 1, column 8\)/)
    expect(issuesOf(decodeMachine(``, "f", "vm"))[0]).toBe("f: $: invalid JSON: the file is empty")
    expect(issuesOf(decodeMachine(`[]`, "f", "vm"))[0]).toMatch(/^f: \$: expected/)
  })
})

describe("host files", () => {
  it("validates pools, networks, mediated devices and tags", () => {
    const issues = issuesOf(decodeHost(
      JSON.stringify({
        storage: { "bad pool": { path: "/x" } },
        network: { lan: { device: "a-very-long-bridge-name", up: "relative/script" } },
        mdev: { gpu: { address: "c1:00.0", types: { "cad standard": "GRID" } } },
        tag: { t: { volumes: [{ name: "", storage: "p" }] } },
        accelerator: "xen"
      }),
      "h"
    ))
    expect(issues).toEqual([expect.stringMatching(/^h: \$\.accelerator: expected "kvm" \| "tcg", actual "xen"/)])
    const issues2 = issuesOf(decodeHost(
      JSON.stringify({
        storage: { "bad pool": { path: "/x" } },
        network: { lan: { device: "a-very-long-bridge-name", up: "relative/script" } },
        mdev: { gpu: { address: "c1:00.0", types: { "cad standard": "GRID" } } },
        tag: { t: { volumes: [{ name: "", storage: "p" }] } }
      }),
      "h"
    ))
    expect(issues2.map((i) => i.split(": ").slice(0, 2).join(": "))).toEqual([
      "h: $.storage[\"bad pool\"]",
      "h: $.network.lan.device",
      "h: $.network.lan.up",
      "h: $.mdev.gpu.address",
      "h: $.mdev.gpu.types[\"cad standard\"]",
      "h: $.tag.t.volumes[0].name"
    ])
  })
})

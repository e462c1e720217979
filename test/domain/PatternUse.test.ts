import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"
import { compose } from "../../src/domain/Merge.js"
import {
  portPatternBuiltinMessage,
  portPatternBuiltins,
  storagePatternIssues,
  unknownStorageVariableMessage,
  unknownStorageVariables
} from "../../src/domain/PatternUse.js"

const host = (json: unknown) => Either.getOrThrow(decodeHost(JSON.stringify(json), "host.json"))
const machine = (json: unknown, name = "vm") => Either.getOrThrow(decodeMachine(JSON.stringify(json), `${name}.conf.json`, name))

const storage = {
  tiered: { path: "/srv", pattern: "${machine-name}/${volume}-${tier}${undefined}.img", type: "raw" },
  legacy: { path: "/srv/legacy", pattern: "$machine-name.raw", type: "raw" },
  fw: { path: "/fw", pattern: "${volume}-${edition}.fd", type: "firmware", readonly: true },
  plain: { path: "/plain", type: "raw" },
  broken: { path: "/b", pattern: "${machine-name/${volume}.raw", type: "raw" },
  unclosed: { path: "/u", pattern: "${volume.raw", type: "raw" },
  badexpr: { path: "/e", pattern: "${volume}-${1 +}.raw", type: "raw" },
  expr: { path: "/x", pattern: "${volume}-${slot * 2}.raw", type: "raw" }
}

describe("storagePatternIssues", () => {
  it("reports each malformed pool pattern at the pool, used or not", () => {
    const issues = storagePatternIssues(host({ storage })).map((i) => i.toString())
    expect(issues).toEqual([
      "host.json: $.storage.broken.pattern: storage pattern \"${machine-name/${volume}.raw\": \"${\" at column 1 is opened " +
      "inside the variable name \"machine-name/${volume\" (close each \"${\" with \"}\" before opening the next)",
      "host.json: $.storage.unclosed.pattern: storage pattern \"${volume.raw\": \"${\" at column 1 is never closed by \"}\"",
      "host.json: $.storage.badexpr.pattern: storage pattern \"${volume}-${1 +}.raw\": syntax error in ${1 +} at column 4: " +
      "expected a number, a variable or \"(\" but found the end"
    ])
  })
  it("has nothing to say about the seed host", () => {
    const seed = readFileSync("test/golden/cases/seed-example/etc/machina/machina.conf.json", "utf8")
    expect(storagePatternIssues(Either.getOrThrow(decodeHost(seed, "machina.conf.json")))).toEqual([])
  })
})

describe("unknownStorageVariables", () => {
  const h = host({ storage, tag: { t: { vars: { tier: "gold" } } } })

  it("lists plain references to undefined variables, once per pool and variable, with their users", () => {
    const m = machine({
      tags: ["t"],
      vars: { "machine-flavour": "x" },
      attrs: { firmware: { code: { name: "code", storage: "fw" }, vars: { name: "vars", storage: "fw" } } },
      volumes: [
        { name: "os", storage: "tiered" },
        { name: "data", storage: "tiered" },
        { name: "old", storage: "legacy" },
        { name: "p", storage: "plain" },
        { name: "b", storage: "broken" },
        { name: "e", storage: "expr" },
        { name: "gone", storage: "no-such-pool" }
      ]
    })
    const found = unknownStorageVariables(h, Either.getOrThrow(compose(h, m)))
    expect(found).toEqual([
      {
        file: "host.json",
        path: "$.storage.fw.pattern",
        pool: "fw",
        pattern: "${volume}-${edition}.fd",
        variable: "edition",
        machine: "vm",
        usedBy: ["firmware.code \"code\"", "firmware.vars \"vars\""]
      },
      {
        file: "host.json",
        path: "$.storage.tiered.pattern",
        pool: "tiered",
        pattern: "${machine-name}/${volume}-${tier}${undefined}.img",
        variable: "undefined",
        machine: "vm",
        usedBy: ["volume \"os\"", "volume \"data\""]
      },
      {
        file: "host.json",
        path: "$.storage.legacy.pattern",
        pool: "legacy",
        pattern: "$machine-name.raw",
        variable: "machine",
        machine: "vm",
        usedBy: ["volume \"old\""],
        suggestion: "machine-name"
      }
    ])
    expect(found.map(unknownStorageVariableMessage)).toEqual([
      "storage pattern \"${volume}-${edition}.fd\" refers to unknown variable \"edition\", which expands to \"\" " +
      "(used by firmware.code \"code\", firmware.vars \"vars\" of machine vm)",
      "storage pattern \"${machine-name}/${volume}-${tier}${undefined}.img\" refers to unknown variable \"undefined\", " +
      "which expands to \"\" (used by volume \"os\", volume \"data\" of machine vm)",
      "storage pattern \"$machine-name.raw\" refers to unknown variable \"machine\", which expands to \"\" " +
      "(used by volume \"old\" of machine vm); did you mean ${machine-name}?"
    ])
  })

  it("is empty when every variable is defined, built-ins included", () => {
    const m = machine({ tags: ["t"], vars: { undefined: "", edition: "4m" }, volumes: [{ name: "os", storage: "tiered" }] })
    expect(unknownStorageVariables(h, Either.getOrThrow(compose(h, m)))).toEqual([])
  })

  it("is empty on the seed example", () => {
    const seed = "test/golden/cases/seed-example/etc/machina"
    const sh = Either.getOrThrow(decodeHost(readFileSync(`${seed}/machina.conf.json`, "utf8"), "machina.conf.json"))
    const sm = Either.getOrThrow(decodeMachine(readFileSync(`${seed}/machine.conf.d/test-vm.conf.json`, "utf8"), "test-vm.conf.json", "test-vm"))
    expect(unknownStorageVariables(sh, Either.getOrThrow(compose(sh, sm)))).toEqual([])
  })
})

describe("portPatternBuiltins", () => {
  const h = host({})
  it("lists storage built-ins a port pattern reads (they expand to nothing there)", () => {
    const m = machine({
      vars: { slot: "01", volume: "7" },
      attrs: {
        spice: { enabled: true, "port-pattern": "59${slot}${machine-id}" },
        agent: { qemu: { enabled: true, "port-pattern": "4${volume}${machine-name}" } }
      }
    })
    const found = portPatternBuiltins(Either.getOrThrow(compose(h, m)))
    expect(found).toEqual([
      { file: "vm.conf.json", path: "$.attrs.agent.qemu.port-pattern", pattern: "4${volume}${machine-name}", variable: "machine-name", machine: "vm" },
      { file: "vm.conf.json", path: "$.attrs.spice.port-pattern", pattern: "59${slot}${machine-id}", variable: "machine-id", machine: "vm" }
    ])
    expect(portPatternBuiltinMessage(found[1]!)).toBe(
      "port pattern \"59${slot}${machine-id}\" refers to \"machine-id\", a storage-pattern built-in that port patterns do not see: " +
        "it expands to \"\" (as in the original) for machine vm; define it in vars or drop it"
    )
  })
  it("ignores disabled features and explicit ports", () => {
    const m = machine({
      attrs: { spice: { enabled: false, "port-pattern": "${machine-id}" }, agent: { qemu: { enabled: true, port: 4000, "port-pattern": "${machine-id}" } } }
    })
    expect(portPatternBuiltins(Either.getOrThrow(compose(h, m)))).toEqual([])
  })
})

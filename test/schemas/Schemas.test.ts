/**
 * The JSON Schemas in `schemas/` (one per command with `--format json`): generated from the
 * Schemas in src/domain/Output.ts, checked in, and checked against real output of the commands
 * (in-process over simulated hosts, every golden case, the golden `--format json` files).
 *
 * Regenerate the files with `MACHINA_SCHEMA_UPDATE=1 npx vitest run test/schemas` and review the diff.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { outputSchemas } from "../../src/domain/Output.js"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as QmpMemory from "../../src/layers/QmpMemory.js"
import { QmpSimulator } from "../../src/layers/QmpMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import * as UnitStoreMemory from "../../src/layers/UnitStoreMemory.js"
import * as QmpOps from "../../src/programs/QmpOps.js"
import { UnitStore } from "../../src/services/UnitStore.js"
import { captureConsole, runCli } from "../support/Cli.js"
import { assertValid, validate } from "../support/JsonSchema.js"

// The golden cases (test/golden/Golden.test.ts describes the layout; importing it would run it here).
const CASES_DIR = "test/golden/cases"
const loadCases = () =>
  readdirSync(CASES_DIR).sort().map((name) => {
    const dir = join(CASES_DIR, name)
    const spec = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")) as { commands: Record<string, string> }
    return { name, dir, commands: spec.commands }
  })

const UPDATE = process.env["MACHINA_SCHEMA_UPDATE"] === "1"
const SCHEMA_DIR = "schemas"

type Name = keyof typeof outputSchemas
const names = Object.keys(outputSchemas) as Array<Name>

/** Titles Effect derives from refinement names (`minLength(1)`, `int`): noise in a shipped file. */
const DERIVED_TITLE = /^(minLength\(\d+\)|int|positive|nonNegative|between\(.*\)|unknown)$/

const tidy = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(tidy)
  if (typeof node !== "object" || node === null) return node
  return Object.fromEntries(Object.entries(node)
    .filter(([k, v]) => !(k === "title" && typeof v === "string" && DERIVED_TITLE.test(v)) && !(k === "$id" && v === "/schemas/unknown"))
    .map(([k, v]) => [k, k === "properties" || k === "$defs" || k === "patternProperties" ? Object.fromEntries(Object.entries(v as object).map(([p, x]) => [p, tidy(x)])) : tidy(v)]))
}

/** The checked-in file's text for `name`, as the generator writes it. */
const generated = (name: Name): string =>
  JSON.stringify(tidy(JSONSchema.make(outputSchemas[name] as Schema.Schema<unknown, unknown>, { target: "jsonSchema2020-12" })), null, 2) + "\n"

const schemaFile = (name: Name) => join(SCHEMA_DIR, `${name}.schema.json`)
const schemaOf = (name: Name) => JSON.parse(readFileSync(schemaFile(name), "utf8")) as Record<string, unknown>

/** Validates `text` (one JSON document) against the checked-in schema of `name`. */
const expectSchema = (name: Name, text: string, what: string): unknown => {
  const doc = JSON.parse(text) as unknown
  assertValid(schemaOf(name), doc, `${what} (schemas/${name}.schema.json)`)
  return doc
}

/**
 * Paths of values that stand for "unset" (`""`, `null`, `0`, `false`, `[]`, `{}`), but for the
 * paths `allowed` matches: counts, flags and lists that are values even when zero or empty.
 */
const unsetValues = (doc: unknown, allowed: RegExp = /^$/): Array<string> => {
  const found: Array<string> = []
  const walk = (v: unknown, path: string) => {
    const empty = v === null || v === "" || v === 0 || v === false ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)
    if (empty && !allowed.test(path)) found.push(path)
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`))
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`)
  }
  walk(doc, "$")
  return found
}

/** A variable's value: set even when empty. */
const VARIABLE = /^\$\[\d+\](\.tag\.[^.]+)?\.vars\.[^.]+$/

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/

describe("schema files", () => {
  for (const name of names) {
    it(`schemas/${name}.schema.json is what src/domain/Output.ts gives (draft 2020-12)`, () => {
      if (UPDATE) writeFileSync(schemaFile(name), generated(name))
      expect(readFileSync(schemaFile(name), "utf8")).toBe(generated(name))
      expect(schemaOf(name)["$schema"]).toBe("https://json-schema.org/draft/2020-12/schema")
    })
  }

  it("every property machina defines is kebab-case", () => {
    const bad: Array<string> = []
    const walk = (node: unknown, path: string) => {
      if (Array.isArray(node)) return node.forEach((x, i) => walk(x, `${path}[${i}]`))
      if (typeof node !== "object" || node === null) return
      for (const [k, v] of Object.entries(node)) {
        if (k === "properties") for (const p of Object.keys(v as object)) if (!KEBAB.test(p)) bad.push(`${path}.properties.${p}`)
        walk(v, `${path}.${k}`)
      }
    }
    for (const name of names) walk(schemaOf(name), name)
    expect(bad).toEqual([])
  })
})

describe("the validator (test/support/JsonSchema.ts)", () => {
  const schema = {
    $defs: { Port: { type: "integer", minimum: 1, maximum: 65535 } },
    type: "object",
    required: ["name", "kind"],
    properties: {
      name: { type: "string", minLength: 1, pattern: "^[a-z]" },
      kind: { type: "string", enum: ["a", "b"] },
      port: { $ref: "#/$defs/Port" },
      at: { type: "string", format: "date-time" },
      list: { type: "array", items: { type: "string" } },
      either: { anyOf: [{ type: "string" }, { type: "integer" }] },
      one: { oneOf: [{ type: "integer" }, { type: "number", minimum: 0 }] }
    },
    additionalProperties: false
  }
  const errors = (doc: unknown) => validate(schema, doc).map((e) => `${e.path}: ${e.message}`)

  it("accepts a matching document", () => {
    expect(errors({ name: "vm", kind: "a", port: 5900, at: "2026-12-03T21:49:58.123456Z", list: ["x"], either: 3, one: -1 })).toEqual([])
  })

  it("rejects wrong documents, naming the path and what was expected", () => {
    expect(errors([])).toEqual(["$: expected object, got array"])
    expect(errors({ kind: "a" })).toEqual([`$: missing required property "name"`])
    expect(errors({ name: "", kind: "a" })).toEqual([`$.name: expected at least 1 character(s)`, `$.name: "" does not match ^[a-z]`])
    expect(errors({ name: "vm", kind: "c" })).toEqual([`$.kind: expected one of ["a","b"], got "c"`])
    expect(errors({ name: "vm", kind: "a", extra: 1 })).toEqual([`$.extra: unexpected property "extra"`])
    expect(errors({ name: "vm", kind: "a", port: 0 })).toEqual(["$.port: 0 is less than 1"])
    expect(errors({ name: "vm", kind: "a", port: 1.5 })).toEqual(["$.port: expected integer, got number"])
    expect(errors({ name: "vm", kind: "a", list: ["x", 2] })).toEqual(["$.list[1]: expected string, got integer"])
    expect(errors({ name: "vm", kind: "a", either: true })).toContain("$.either: matches none of 2 alternatives")
    // 1 is an integer and a non-negative number: oneOf wants exactly one.
    expect(errors({ name: "vm", kind: "a", one: 1 })).toEqual(["$.one: matches 2 of the oneOf alternatives, expected exactly 1"])
  })

  it("checks date-times as RFC 3339 with real calendar values", () => {
    for (const bad of ["2026-12-03", "2026-12-03 21:49:58Z", "2026-02-30T00:00:00Z", "2026-12-03T24:00:00Z", "1764798598", "2026-12-03T21:49:58"]) {
      expect(errors({ name: "vm", kind: "a", at: bad }), bad).toEqual([`$.at: ${JSON.stringify(bad)} is not an RFC 3339 date-time`])
    }
    expect(errors({ name: "vm", kind: "a", at: "2024-02-29T23:59:59+02:00" })).toEqual([])
  })

  it("refuses schemas with keywords it does not implement, instead of passing everything", () => {
    expect(() => validate({ type: "object", dependentRequired: { a: ["b"] } }, {})).toThrow(/unsupported JSON Schema keyword dependentRequired/)
    expect(() => validate({ $ref: "other.json#/x" }, {})).toThrow(/unsupported \$ref/)
  })

  it("rejects documents that break the real schemas", () => {
    const list = schemaOf("list")
    expect(validate(list, [{ name: "vm", unit: "machina-vm.service" }])).toEqual([])
    expect(validate(list, [{ name: "vm", unit: "machina-vm.service", "main-pid": 0 }]).map((e) => e.path)).toEqual([`$[0]["main-pid"]`])
    expect(validate(list, [{ name: "vm", unit: "machina-vm.service", loadState: "loaded" }]).map((e) => e.path)).toEqual(["$[0].loadState"])
    expect(validate(list, [{ name: "vm", unit: "machina-vm.service", since: 1764798598 }]).map((e) => e.path)).toEqual(["$[0].since"])
    expect(validate(list, [{ name: "", unit: "machina-vm.service" }]).map((e) => e.path)).toEqual(["$[0].name"])
    const observe = schemaOf("observe")
    expect(validate(observe, { name: "vm", event: "STOP", timestamp: { seconds: 1, microseconds: 0 } }).length).toBeGreaterThan(0)
    expect(validate(observe, { machine: "vm", event: "STOP" }).length).toBeGreaterThan(0)
    const cat = schemaOf("cat")
    expect(validate(cat, [{ kind: "machine", name: "vm", file: "/etc/machina/machine.conf.d/vm.conf.json", attrs: { cpu: { cores: "4" } } }]).length)
      .toBeGreaterThan(0)
    expect(validate(cat, [{ kind: "machine", name: "vm", file: "/f", attrs: { spice: { portPattern: "5900" } } }]).length).toBeGreaterThan(0)
  })
})

const seedDir = join(CASES_DIR, "seed-example", "etc", "machina")
const seedHost = JSON.parse(readFileSync(join(seedDir, "machina.conf.json"), "utf8")) as Record<string, unknown>
const seedMachine = readFileSync(join(seedDir, "machine.conf.d", "test-vm.conf.json"), "utf8")

describe("real output matches its schema", () => {
  const cases = loadCases()

  it.effect("cat and check of every golden case (all machines, and the host)", () =>
    Effect.gen(function*() {
      let catted = 0
      for (const c of cases) {
        const dir = join(c.dir, "etc/machina")
        const all = yield* runCli(["--config-dir", dir, "cat", "--format", "json"])
        if (all.exitCode === 0) {
          const doc = expectSchema("cat", all.stdout, `${c.name}: cat --format json`)
          expect(unsetValues(doc, VARIABLE), `${c.name}: cat prints no unset values`).toEqual([])
          catted++
        }
        const host = yield* runCli(["--config-dir", dir, "cat", "--format", "json", "system"])
        if (host.exitCode === 0) expect(unsetValues(expectSchema("cat", host.stdout, `${c.name}: cat system`), VARIABLE), c.name).toEqual([])
        const check = yield* runCli(["--config-dir", dir, "check", "--format", "json"])
        if (check.stdout === "") {
          // Nothing to check (no configuration directory): an error on stderr, no document.
          expect(check.exitCode, c.name).toBe(1)
          expect(check.stderr, c.name).toMatch(/^machina: error: /)
          continue
        }
        const report = expectSchema("check", check.stdout, `${c.name}: check --format json`) as { ok: boolean }
        expect(report.ok).toBe(check.exitCode === 0)
        expect(unsetValues(report, /^\$\.(ok|strict|errors|warnings|issues|machines)$|\.unreachable$/), c.name).toEqual([])
      }
      // Most cases are valid configurations: the loop above must not pass by skipping them.
      expect(catted).toBeGreaterThan(cases.length / 2)
    }), 120_000)

  it.effect("the golden --format json outputs", () =>
    Effect.gen(function*() {
      let seen = 0
      for (const c of cases) {
        for (const [file, line] of Object.entries(c.commands)) {
          if (!/--format json|-f json/.test(line) || file.endsWith(".err")) continue
          const command = line.trim().split(/\s+/)[0] as Name
          expect(names, `${c.name}: ${line} has a schema`).toContain(command)
          expectSchema(command, readFileSync(join(c.dir, "expected", file), "utf8"), `${c.name}/expected/${file}`)
          seen++
        }
      }
      expect(seen).toBeGreaterThan(0)
    }))

  it.effect("cat resolves what the text shows: ports, QMP and TPM sockets, image files", () =>
    Effect.gen(function*() {
      const seed = JSON.parse((yield* runCli(["--config-dir", seedDir, "cat", "--format", "json", "test-vm"])).stdout) as Array<Record<string, any>>
      expect(seed[0]!["resolved"]).toMatchObject({
        "agent-port": 49000,
        "spice-port": 59000,
        "qmp-sockets": ["/run/machina/test-vm/systemd.0.qmp.socket", "/run/machina/test-vm/command.0.qmp.socket", "/run/machina/test-vm/command.1.qmp.socket"]
      })
      expect(seed[0]!["resolved"]["files"]).toContainEqual({ use: "volume", volume: "os", storage: "guest-data", path: "/zfs-tank/test-vm/os/test-vm-os.raw" })
      const text = (yield* runCli(["--config-dir", seedDir, "cat", "test-vm"])).stdout
      expect(text).toContain("QEMU Guest Agent Port: 49000")
      expect(text).toContain("Spice Port: 59000")
      const tpmDir = join(CASES_DIR, "tpm-swtpm-units", "etc/machina")
      const sealed = JSON.parse((yield* runCli(["--config-dir", tpmDir, "cat", "--format", "json", "sealed"])).stdout) as Array<Record<string, any>>
      const tpmText = (yield* runCli(["--config-dir", tpmDir, "cat", "sealed"])).stdout
      expect(tpmText).toContain(`TPM Socket Path: ${sealed[0]!["resolved"]["tpm-socket"]}\n`)
    }))

  it.live("list and status over a simulated systemd: kebab-case, ISO 8601, the swtpm unit with role swtpm", () =>
    Effect.gen(function*() {
      const tpmDir = join(CASES_DIR, "tpm-swtpm-units", "etc/machina")
      const units = SystemdMemory.layer({
        units: [
          { name: "machina-win11.service", activeState: "active", description: "win11" },
          { name: "machina-swtpm-win11.service", activeState: "active" },
          { name: "machina-sealed.service", activeState: "failed" }
        ]
      })
      const list = yield* runCli(["--config-dir", tpmDir, "list", "--format", "json"], units)
      expect(list.exitCode).toBe(0)
      const rows = expectSchema("list", list.stdout, "list --format json") as Array<Record<string, unknown>>
      expect(rows.map((r) => r["name"])).toEqual(["misplaced", "sealed", "win11"])
      expect(unsetValues(rows)).toEqual([])
      const status = yield* runCli(["--config-dir", tpmDir, "status", "--format", "json", "win11", "sealed"], units)
      expect(status.exitCode).toBe(3) // sealed is not active
      const entries = expectSchema("status", status.stdout, "status --format json") as Array<Record<string, unknown>>
      expect(entries.map((e) => [e["name"], e["role"], e["unit"]])).toEqual([
        ["win11", "qemu", "machina-win11.service"],
        ["win11", "swtpm", "machina-swtpm-win11.service"],
        ["sealed", "qemu", "machina-sealed.service"],
        ["sealed", "swtpm", "machina-swtpm-sealed.service"]
      ])
      expect(unsetValues(entries)).toEqual([])
      expect(entries[0]!["since"]).toBe(entries[0]!["active-enter-timestamp"])
      expect(Date.parse(entries[0]!["since"] as string)).toBeGreaterThan(Date.parse("2020-01-01T00:00:00Z"))
    }))

  it.effect("plan: created, then changed with guest-visible changes", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore()
      const layer = (host: unknown) =>
        Layer.mergeAll(
          ConfigStoreMemory.layer({ location: "/etc/machina", host, machines: { "test-vm": seedMachine } }),
          SystemdMemory.layer({ units: [] }),
          Layer.succeed(UnitStore, store)
        )
      const created = yield* runCli(["plan", "--format", "json"], layer(seedHost))
      expect(created.exitCode).toBe(2)
      expect(expectSchema("plan", created.stdout, "plan (created)")).toMatchObject({ changes: true, machines: [{ name: "test-vm", status: "created" }] })
      expect((yield* runCli(["generate", "test-vm"], layer(seedHost))).exitCode).toBe(0)
      const edited = structuredClone(seedHost) as any
      edited.tag["vdi-cad"].attrs.memory.ram = 16384
      edited.tag["vdi-cad"].connections.push({ name: "1", network: "local" })
      const changed = yield* runCli(["plan", "--format", "json"], layer(edited))
      const doc = expectSchema("plan", changed.stdout, "plan (changed)") as any
      expect(doc.machines[0]["guest-changes"].length).toBeGreaterThan(0)
      // An added device has no "before": omitted, not "".
      const added = doc.machines[0]["guest-changes"].find((c: any) => c.kind === "device-added")
      expect(added).toBeDefined()
      expect(added).not.toHaveProperty("before")
    }))

  it.effect("query and observe over simulated QEMU", () =>
    Effect.gen(function*() {
      const sim = yield* QmpSimulator
      const sockets = (m: string) => [`/run/machina/${m}/command.0.qmp.socket`, `/run/machina/${m}/command.1.qmp.socket`]
      const vm = yield* sim.addMachine({ sockets: sockets("test-vm"), guest: { onPowerdown: "poweroff" } })
      yield* sim.addMachine({ sockets: sockets("other") })
      const targets = [{ machine: "test-vm", sockets: sockets("test-vm") }, { machine: "other", sockets: sockets("other") }]
      for (const kind of ["pci", "cpu"] as const) {
        const c = captureConsole()
        yield* QmpOps.query(targets, kind, { format: "json" }).pipe(Effect.withConsole(c.console))
        expect(Object.keys(expectSchema("query", c.out.join("\n"), `query ${kind}`) as object)).toEqual(["test-vm", "other"])
      }
      const c = captureConsole()
      const fiber = yield* Effect.fork(QmpOps.observe([targets[0]!], { format: "json" }).pipe(Effect.withConsole(c.console)))
      yield* TestClock.adjust("1500 millis")
      yield* vm.powerOff
      yield* Fiber.join(fiber)
      expect(c.out.length).toBeGreaterThan(0)
      for (const line of c.out) expect(unsetValues(expectSchema("observe", line, "observe line"), /\.data\./)).toEqual([])
      expect(JSON.parse(c.out[0]!)).toMatchObject({ name: "test-vm", event: "SHUTDOWN", timestamp: "1970-01-01T00:00:01.500000Z" })
    }).pipe(Effect.provide(QmpMemory.layer)))
})

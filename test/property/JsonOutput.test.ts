/**
 * `cat --format json` over random valid machines: the document matches schemas/cat.schema.json,
 * carries no unset value, and resolves what the text shows (ports, sockets, image files).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import { runCli } from "../support/Cli.js"
import { commandSchema, validate } from "../support/JsonSchema.js"
import { ARBITRARY_HOST, machineArb } from "../support/MachineArbitrary.js"

const schema = commandSchema("cat")

/** Paths of `""`, `null`, `0`, `false`, `[]` and `{}` in `doc`, but for variables' values. */
const unsetValues = (doc: unknown): Array<string> => {
  const found: Array<string> = []
  const walk = (v: unknown, path: string) => {
    const empty = v === null || v === "" || v === 0 || v === false ||
      (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && Object.keys(v).length === 0)
    if (empty && !/^\$\[\d+\]\.vars\./.test(path)) found.push(path)
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`))
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`)
  }
  walk(doc, "$")
  return found
}

interface Resolved {
  readonly "qmp-sockets"?: ReadonlyArray<string>
  readonly "tpm-socket"?: string
  readonly "agent-port"?: number
  readonly "spice-port"?: number
  readonly files?: ReadonlyArray<{ readonly use: string; readonly storage?: string; readonly path?: string }>
}

describe("cat --format json over random machines", () => {
  it("matches its schema, omits unset values and resolves ports, sockets and files", async () => {
    await fc.assert(
      fc.asyncProperty(machineArb({ maxVolumes: 6 }), async (m) => {
        const layer = ConfigStoreMemory.layer({ location: "/etc/machina", host: ARBITRARY_HOST, machines: { [m.name]: m.json } })
        const r = await Effect.runPromise(runCli(["cat", "--format", "json", m.name], layer))
        expect(r.exitCode, r.stderr).toBe(0)
        const doc = JSON.parse(r.stdout) as Array<Record<string, unknown>>
        expect(validate(schema, doc)).toEqual([])
        expect(unsetValues(doc)).toEqual([])
        const machine = doc[0]!
        expect(machine["name"]).toBe(m.name)
        const attrs = m.json["attrs"] as Record<string, any>
        const resolved = (machine["resolved"] ?? {}) as Resolved
        expect(resolved["agent-port"]).toBe(attrs["agent"].qemu.enabled ? 4000 : undefined)
        expect(resolved["spice-port"]).toBe(attrs["spice"].enabled ? 5901 : undefined)
        expect(resolved["tpm-socket"]).toBe(attrs["tpm"].enabled ? `/run/machina/${m.name}/tpm.socket` : undefined)
        const names: ReadonlyArray<string> = attrs["qmp"].sockets.names
        expect(resolved["qmp-sockets"]).toEqual(
          attrs["qmp"].enabled
            ? ["systemd.0", "command.0", "command.1", ...names].map((n) => `/run/machina/${m.name}/${n}.qmp.socket`)
            : undefined
        )
        const volumes = m.json["volumes"] as ReadonlyArray<unknown>
        const firmware = attrs["firmware"] === undefined ? 0 : attrs["firmware"].vars === undefined ? 1 : 2
        expect(resolved.files?.length ?? 0).toBe(volumes.length + firmware)
        for (const f of resolved.files ?? []) {
          const pool = ARBITRARY_HOST.storage[f.storage as keyof typeof ARBITRARY_HOST.storage]
          expect(f.path?.startsWith(`${pool.path}/`), `${f.path} is in ${pool.path}`).toBe(true)
        }
      }),
      { numRuns: 40 }
    )
  }, 120_000)
})

/** The conventions of every `--format json` document (src/domain/OutputValues.ts, Output.ts). */
import { describe, expect, it } from "@effect/vitest"
import { defined, isoFromMicros, isoFromSeconds, omitUnset } from "../../src/domain/OutputValues.js"

describe("timestamps", () => {
  it("microseconds since the epoch become ISO 8601 in UTC; 0 (unset) becomes nothing", () => {
    expect(isoFromMicros(0)).toBeUndefined()
    expect(isoFromMicros(1_764_798_598_000_000)).toBe("2025-12-03T21:49:58Z")
    expect(isoFromMicros(1_764_798_598_000_042)).toBe("2025-12-03T21:49:58.000042Z")
    expect(isoFromMicros(1_764_798_598_123_456)).toBe("2025-12-03T21:49:58.123456Z")
  })

  it("QEMU's seconds and microseconds; -1 (QEMU's no time) becomes nothing", () => {
    expect(isoFromSeconds(5, 6)).toBe("1970-01-01T00:00:05.000006Z")
    expect(isoFromSeconds(5, 0)).toBe("1970-01-01T00:00:05Z")
    expect(isoFromSeconds(-1, -1)).toBeUndefined()
  })
})

describe("unset fields", () => {
  it("omitUnset drops Go's zero values at every depth, keeping what is set", () => {
    expect(omitUnset({
      name: "vm",
      description: "",
      attrs: { cpu: { sockets: 0, cores: 4 }, tpm: { enabled: false, socket: { path: "" } }, qmp: { enabled: true } },
      volumes: [{ name: "os", wwn: "", bootable: false }],
      connections: [],
      id: null
    })).toEqual({ name: "vm", attrs: { cpu: { cores: 4 }, qmp: { enabled: true } }, volumes: [{ name: "os" }] })
  })

  it("keeps what `keep` accepts as written: a variable set to the empty string is set", () => {
    const vars = (path: ReadonlyArray<string>) => path.join(".") === "vars" || (path[0] === "tag" && path[2] === "vars")
    expect(omitUnset({ vars: { a: "", b: "1" }, tag: { t: { vars: { c: "" } } } }, vars)).toEqual({ vars: { a: "", b: "1" }, tag: { t: { vars: { c: "" } } } })
    expect(omitUnset({ vars: {} }, vars)).toEqual({})
    // Elsewhere a key named vars is pruned like any other (attrs.firmware.vars is a volume, a pool may be called vars).
    expect(omitUnset({ attrs: { firmware: { vars: { name: "", bootable: false } } }, storage: { vars: { readonly: false, path: "/p" } } }, vars))
      .toEqual({ storage: { vars: { path: "/p" } } })
  })

  it("defined drops undefined and empty strings only: counts and flags stay", () => {
    expect(defined({ a: undefined, b: "", c: 0, d: false, e: "x" })).toEqual({ c: 0, d: false, e: "x" })
  })
})

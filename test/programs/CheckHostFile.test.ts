/**
 * `check` with a host file that has problems still checks every machine: invalid named entries
 * (a pool, a tag) are reported and left out, machines that use none of them are checked against
 * the rest, the others are noted per machine; a host file that is not JSON leaves every machine
 * checked on its own. The golden cases check-host-file-* hold the stderr; here the notes
 * (stdout), the JSON report and the salvage itself.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { join } from "node:path"
import { salvageHost } from "../../src/domain/ConfigFiles.js"
import { issue } from "../../src/domain/ConfigIssue.js"
import { runCli } from "../support/Cli.js"

const caseDir = (name: string) => join("test/golden/cases", name, "etc/machina")

const check = (name: string, ...args: Array<string>) =>
  Effect.map(runCli(["--config-dir", caseDir(name), "check", ...args]), (r) => ({
    ...r,
    stdout: r.stdout.split(caseDir(name)).join("/etc/machina"),
    stderr: r.stderr.split(caseDir(name)).join("/etc/machina")
  }))

describe("check with an invalid host file", () => {
  it.effect("invalid entries: the machines that use them are noted, the others checked against the rest", () =>
    Effect.gen(function*() {
      const r = yield* check("check-host-file-invalid-entry")
      expect(r.exitCode).toBe(1)
      expect(r.stdout).toBe(
        "/etc/machina/machine.conf.d/tagged.conf.json: $: note: not merged with its tags or checked against the host: it uses tag \"broken\", " +
          "which is invalid in /etc/machina/machina.conf.json (see its errors)\n" +
          "/etc/machina/machine.conf.d/web.conf.json: $: note: not checked against the host: it uses storage pool \"disks\", " +
          "which is invalid in /etc/machina/machina.conf.json (see its errors)\n"
      )
      // rescue was checked against what is left of the host: its unknown network is an error.
      expect(r.stderr).toContain("/etc/machina/machine.conf.d/rescue.conf.json: $.connections[0].network: network \"wan\" is not defined")

      const json = yield* check("check-host-file-invalid-entry", "--format", "json")
      expect(json.exitCode).toBe(1)
      const report = JSON.parse(json.stdout) as { ok: boolean; machines: Array<string>; issues: Array<{ severity: string; file: string; path: string }> }
      expect(report.ok).toBe(false)
      expect(report.machines).toEqual(["bad", "rescue", "tagged", "web"])
      expect(report.issues.map((i) => `${i.severity} ${i.file.replace("/etc/machina/", "")} ${i.path}`)).toEqual([
        "error machina.conf.json $.storage.disks.readonly",
        "error machina.conf.json $.tag.broken.attrs.memory.ram",
        "error machine.conf.d/bad.conf.json $.id",
        "error machine.conf.d/rescue.conf.json $.connections[0].network",
        "info machine.conf.d/tagged.conf.json $",
        "info machine.conf.d/web.conf.json $"
      ])
    }))

  it.effect("a host file that is not JSON: every machine is checked on its own and noted", () =>
    Effect.gen(function*() {
      const r = yield* check("check-host-file-unusable")
      expect(r.exitCode).toBe(1)
      expect(r.stdout).toBe(
        "/etc/machina/machine.conf.d/web.conf.json: $: note: not merged with its tags or checked against the host: " +
          "the host file /etc/machina/machina.conf.json cannot be used (see its errors)\n"
      )
      expect(r.stderr).toContain("/etc/machina/machine.conf.d/bad.conf.json: $.id: invalid UUID length: 10")
    }))
})

describe("salvageHost", () => {
  const text = JSON.stringify({ Storage: { disks: { type: 1 }, iso: { type: "iso-ahci" } }, tag: { "a b": {} }, accelerator: "tcg" })
  it("leaves out the named entries the problems are in (keys matched as the decoder does)", () => {
    const salvaged = salvageHost(text, "/h.json", [issue("/h.json", "$.storage.disks.type", "x"), issue("/h.json", "$.tag[\"a b\"]", "y")])
    expect(salvaged?.dropped).toEqual([{ section: "storage", name: "disks" }, { section: "tag", name: "a b" }])
    expect(Object.keys(salvaged!.host.config.storage)).toEqual(["iso"])
    expect(salvaged!.host.config.accelerator).toBe("tcg")
  })
  it("gives up on a problem outside every named entry, or a file that is not JSON", () => {
    expect(salvageHost(text, "/h.json", [issue("/h.json", "$.accelerator", "x")])).toBeUndefined()
    expect(salvageHost("{", "/h.json", [issue("/h.json", "$", "x")])).toBeUndefined()
  })
})

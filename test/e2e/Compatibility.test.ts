/**
 * The built `machina` executable on a host configured for the original: a machine file whose JSON
 * `name` differs from its file name, unknown keys and trailing data. Exit statuses are the
 * process's own (README "Exit statuses"), warnings go to stderr once, and `prepare`/`teardown`
 * (what units run as ExecStartPre/ExecStopPost, with the effective name) find the machine by
 * either name and use the effective name for its runtime directory.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseValid } from "../support/JsonSchema.js"

const bundle = resolve("dist/machina.cjs")
let dir: string
let env: NodeJS.ProcessEnv
let trailingLine: number

const machina = (...args: ReadonlyArray<string>) => {
  const r = spawnSync(process.execPath, [bundle, ...args], { env, encoding: "utf8", timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("a host written for the original, through the built executable", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "machina-compat-e2e-"))
    mkdirSync(join(dir, "etc/machine.conf.d"), { recursive: true })
    writeFileSync(join(dir, "etc/machina.conf.json"), JSON.stringify({
      Storage: { disks: { path: join(dir, "images"), pattern: "${machine-name}.raw", type: "raw" } },
      notes: "unknown to machina"
    }))
    const json = JSON.stringify({ Name: "web", ID: "6a1d2c3e-0b4f-4a5e-9c7d-8e9f0a1b2c3d", attrs: { memory: { ram: 256 } }, volumes: [{ name: "os", storage: "disks" }], tagz: [] }, null, 1)
    trailingLine = json.split("\n").length + 1
    writeFileSync(join(dir, "etc/machine.conf.d/old-file.conf.json"), `${json}\n--- appended by an editor\n`)
    env = { ...process.env, MACHINA_RUN_DIR: join(dir, "run"), MACHINA_CONFIG_DIR: join(dir, "etc"), MACHINA_UNIT_DIR: join(dir, "units") }
    mkdirSync(join(dir, "units"))
  })

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it("generate writes the unit of the effective name by either name, warning once per problem", () => {
    for (const arg of ["old-file", "web"]) {
      const r = machina("generate", "--no-reload", arg)
      expect(r.status).toBe(0)
      const lines = r.stderr.trimEnd().split("\n")
      expect(lines).toEqual([
        `${join(dir, "etc/machina.conf.json")}: $.notes: unknown key "notes" (ignored)`,
        `${join(dir, "etc/machine.conf.d/old-file.conf.json")}: $: data after the JSON value at line ${trailingLine}, column 1 (ignored)`,
        `${join(dir, "etc/machine.conf.d/old-file.conf.json")}: $.tagz: unknown key "tagz" (ignored; did you mean "tags"?)`
      ])
    }
    const unit = readFileSync(join(dir, "units/machina-web.service"), "utf8")
    expect(unit).toMatch(/^-name web \\$/m)
    expect(unit).toMatch(/filename=.*\/images\/web\.raw/)
    expect(unit).toMatch(/^ExecStartPre=machina prepare web$/m)
    expect(existsSync(join(dir, "units/machina-old-file.service"))).toBe(false)
  })

  it("prepare and teardown (as the unit runs them) find the machine by its effective name", () => {
    const prepared = machina("prepare", "web")
    expect(prepared.status).toBe(0)
    expect(statSync(join(dir, "run/web")).mode & 0o777).toBe(0o700)
    expect(machina("teardown", "old-file").status).toBe(0)
  })

  it("exit statuses: check 0 with warnings, 1 with --strict, 2 for usage, 1 for a missing machine", () => {
    const check = machina("check")
    expect(check.status).toBe(0)
    expect(check.stdout).toMatch(/no errors, 3 warning\(s\)\n$/)
    expect(check.stdout).toMatch(/old-file\.conf\.json: \$\.name: note: machine web is named by its "name" key/)
    const strict = machina("check", "--strict")
    expect(strict.status).toBe(1)
    expect(strict.stderr).toMatch(/machina: check: 0 error\(s\), 3 warning\(s\) \(--strict: warnings fail\)\n$/)
    const json = parseValid<{ ok: boolean; issues: Array<{ severity: string }> }>("check", machina("check", "--strict", "--format", "json").stdout)
    expect(json.ok).toBe(false)
    expect(json.issues.map((i: { severity: string }) => i.severity)).toEqual(["warning", "warning", "warning", "info"])
    expect(machina("check", "--no-such-option").status).toBe(2)
    expect(machina("args").status).toBe(2)
    expect(machina("args", "missing").status).toBe(1)
  })
})

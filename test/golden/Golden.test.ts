/**
 * Golden files, libvirt style: one folder per case under `cases/` holding a host configuration
 * root (`etc/machina/...`), a `case.json` mapping each expected file to the command that must
 * print it, and the expected bytes in `expected/`. `<name>.err` files hold the expected stderr of
 * a command that must fail (non-zero exit); other files hold the expected stdout of a command
 * that must succeed, and `<name>.stderr` beside one the warnings it must print (without it,
 * stderr must be empty).
 *
 * Regenerate with `MACHINA_GOLDEN_UPDATE=1 npx vitest run test/golden` and review the diff.
 * Files in a case that no command uses make the suite fail, so fixtures cannot rot.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { runCli } from "../support/Cli.js"

export const CASES_DIR = "test/golden/cases"
const UPDATE = process.env["MACHINA_GOLDEN_UPDATE"] === "1"

export interface GoldenCase {
  readonly name: string
  readonly dir: string
  readonly description: string
  /** Expected file name (in `expected/`) → command line (without `machina`). */
  readonly commands: Readonly<Record<string, string>>
}

export const loadCases = (): ReadonlyArray<GoldenCase> =>
  readdirSync(CASES_DIR).sort().map((name) => {
    const dir = join(CASES_DIR, name)
    const spec = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")) as { description: string; commands: Record<string, string> }
    return { name, dir, description: spec.description, commands: spec.commands }
  })

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

/** Runs one command of a case in-process; paths of the case folder print as on a host. */
export const runCase = (c: GoldenCase, commandLine: string) =>
  Effect.gen(function*() {
    const confDir = join(c.dir, "etc/machina")
    const result = yield* runCli(["--config-dir", confDir, ...commandLine.split(/\s+/).filter((w) => w !== "")])
    const hostify = (s: string) => s.split(confDir).join("/etc/machina")
    return { ...result, stdout: hostify(result.stdout), stderr: hostify(result.stderr) }
  })

const cases = loadCases()

describe("golden cases", () => {
  for (const c of cases) {
    describe(c.name, () => {
      for (const [file, commandLine] of Object.entries(c.commands)) {
        it.effect(`${commandLine} → expected/${file}`, () =>
          Effect.gen(function*() {
            const result = yield* runCase(c, commandLine)
            const expectedPath = join(c.dir, "expected", file)
            const failing = file.endsWith(".err")
            const actual = failing ? result.stderr : result.stdout
            const warningsPath = `${expectedPath}.stderr`
            if (UPDATE) {
              mkdirSync(join(c.dir, "expected"), { recursive: true })
              writeFileSync(expectedPath, actual)
              if (!failing && result.stderr !== "") writeFileSync(warningsPath, result.stderr)
              else if (existsSync(warningsPath)) rmSync(warningsPath)
            }
            if (failing) {
              expect(result.exitCode, `exit status of: machina ${commandLine}`).not.toBe(0)
            } else {
              const expectedWarnings = existsSync(warningsPath) ? readFileSync(warningsPath, "utf8") : ""
              expect(result.stderr, `stderr of: machina ${commandLine}`).toBe(expectedWarnings)
              expect(result.exitCode).toBe(0)
            }
            expect(existsSync(expectedPath), `${expectedPath} exists`).toBe(true)
            expect(actual).toBe(readFileSync(expectedPath, "utf8"))
          }))
      }
    })
  }

  it("every file in every case is used by a command", () => {
    const unused: Array<string> = []
    for (const c of cases) {
      const lines = Object.values(c.commands)
      const named = new Set(lines.flatMap((l) => l.split(/\s+/)))
      const mentionsAllMachines = lines.some((l) => /^(check|list)\b/.test(l.trim()))
      for (const path of filesUnder(c.dir)) {
        const rel = relative(c.dir, path)
        const machine = /^etc\/machina\/machine\.conf\.d\/(.+)\.conf\.json$/.exec(rel)?.[1]
        const used = rel === "case.json" ||
          rel === "etc/machina/machina.conf.json" ||
          (machine !== undefined && (mentionsAllMachines || named.has(machine))) ||
          (rel.startsWith("expected/") && rel.slice("expected/".length).replace(/\.stderr$/, "") in c.commands)
        if (!used) unused.push(path)
      }
    }
    expect(unused).toEqual([])
  })

  it("has the two seed fixtures", () => {
    expect(cases.map((c) => c.name)).toEqual(expect.arrayContaining(["seed-example", "seed-page-2023.04"]))
  })
})

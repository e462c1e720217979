/**
 * The README's command table stays true: it names every command `machina help` knows (Help.ts
 * COMMANDS) and nothing else, each with an example (`machina <command> ...` in its row), and its
 * exit-status table lists every status the help documents.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { COMMANDS, EXIT_STATUSES } from "../../src/programs/Help.js"
import { REPO } from "../support/Bundle.js"

const readme = readFileSync(join(REPO, "README.md"), "utf8")

/** The rows of the first table after `heading` whose header starts with `firstColumn`. */
const tableAfter = (heading: string, firstColumn: string): ReadonlyArray<ReadonlyArray<string>> => {
  const lines = readme.slice(readme.indexOf(heading)).split("\n")
  const start = lines.findIndex((l) => l.startsWith(`| ${firstColumn} |`))
  expect(start, `a table headed "${firstColumn}" after ${heading}`).toBeGreaterThan(-1)
  const rows: Array<ReadonlyArray<string>> = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break
    // Cells are split on "|" not escaped as "\|".
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|")))
  }
  return rows
}

/** The commands a row documents: the first word of each code span in its first cell. */
const commandsOf = (cell: string): ReadonlyArray<string> => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.split(" ")[0]!)

describe("README command table", () => {
  const rows = tableAfter("## Commands", "command")

  it("names every command of machina help, and only those", () => {
    const documented = rows.flatMap((r) => commandsOf(r[0]!))
    expect([...documented].sort()).toEqual(COMMANDS.map((c) => c.name).sort())
    expect(new Set(documented).size, "each command in one row").toBe(documented.length)
  })

  it("gives an example of every command in its row", () => {
    for (const row of rows) {
      const text = row.join(" ")
      for (const command of commandsOf(row[0]!)) {
        expect(text, `an example \`machina ${command} ...\` in the row of ${command}`).toMatch(new RegExp("`([A-Z_]+=\\S+ )*(sudo )?machina " + command.replace(/-/g, "\\-") + "[ `]"))
      }
    }
  })

  it("lists every exit status the help documents", () => {
    const statuses = tableAfter("## Commands", "status").map((r) => Number(r[0]))
    for (const [status] of EXIT_STATUSES) expect(statuses, `exit status ${status}`).toContain(status)
  })
})

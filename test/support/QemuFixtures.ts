/**
 * Test helpers for QEMU generation: decode host and machine JSON text, compose, generate.
 */
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"
import type { ConfigInvalidError } from "../../src/domain/ConfigIssue.js"
import { compose } from "../../src/domain/Merge.js"
import { type QemuOption, renderArgs } from "../../src/domain/qemu/Options.js"
import { generate } from "../../src/domain/qemu/Pipeline.js"

export const HOST_FILE = "machina.conf.json"

/** The machine file path used in messages: `machine.conf.d/<name>.conf.json`. */
export const machineFile = (name: string): string => `machine.conf.d/${name}.conf.json`

/** Decodes, composes and generates; decode and compose problems are thrown (test bugs). */
export const generateFromText = (
  hostJson: string,
  machineJson: string,
  name: string
): Either.Either<ReadonlyArray<QemuOption>, ConfigInvalidError> => {
  const host = decodeHost(hostJson, HOST_FILE)
  if (Either.isLeft(host)) throw new Error(`host file invalid:\n${host.left.message}`)
  const machine = decodeMachine(machineJson, machineFile(name), name)
  if (Either.isLeft(machine)) throw new Error(`machine file invalid:\n${machine.left.message}`)
  const composed = compose(host.right, machine.right)
  if (Either.isLeft(composed)) throw new Error(`compose failed:\n${composed.left.message}`)
  return generate(host.right, composed.right)
}

/** Same, from JSON values. */
export const generateFromJson = (host: unknown, machine: unknown, name: string) =>
  generateFromText(JSON.stringify(host), JSON.stringify(machine), name)

/** The options, or a thrown error listing the issues. */
export const optionsOf = (result: Either.Either<ReadonlyArray<QemuOption>, ConfigInvalidError>): ReadonlyArray<QemuOption> => {
  if (Either.isLeft(result)) throw new Error(`generation failed:\n${result.left.message}`)
  return result.right
}

/** The `machina args` text (with its final newline). */
export const argsOf = (result: Either.Either<ReadonlyArray<QemuOption>, ConfigInvalidError>): string =>
  renderArgs(optionsOf(result)) + "\n"

/** The issue lines, or a thrown error when generation succeeded. */
export const issuesOf = (result: Either.Either<ReadonlyArray<QemuOption>, ConfigInvalidError>): ReadonlyArray<string> => {
  if (Either.isRight(result)) throw new Error(`generation succeeded:\n${renderArgs(result.right)}`)
  return result.left.issues.map((i) => i.toString())
}

/** The project's copy of the seed fixtures: the golden cases `seed-example` and `seed-page-2023.04`. */
export const FIXTURES = fileURLToPath(new URL("../golden/cases", import.meta.url))

export interface FixtureCase {
  readonly hostJson: string
  readonly machineJson: string
  readonly name: string
}

/** A fixture folder laid out as on a host: `etc/machina/machina.conf.json` and one machine file. */
export const readFixture = (folder: string, name: string): FixtureCase => ({
  hostJson: fs.readFileSync(path.join(folder, "etc/machina/machina.conf.json"), "utf8"),
  machineJson: fs.readFileSync(path.join(folder, `etc/machina/machine.conf.d/${name}.conf.json`), "utf8"),
  name
})

/** The QEMU options inside a unit's `ExecStart=` (one per line), as `machina args` prints them. */
export const execStartArgs = (unit: string): string => {
  const lines = unit.split("\n")
  const start = lines.findIndex((l) => l.startsWith("ExecStart="))
  const out: Array<string> = []
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!
    out.push(line)
    if (!line.endsWith(" \\")) break
  }
  return out.join("\n") + "\n"
}

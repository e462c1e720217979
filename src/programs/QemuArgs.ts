/**
 * `args`: the QEMU command line of machines, and what `generate`, `plan` and `run` build on:
 * every named machine loaded, merged and turned into QEMU options. Every machine is built and
 * validated before anything is printed (two writable volumes on one file are an error). Apart
 * from Generate.ts so that `args`, an interactive command, loads only what it uses.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Host } from "../domain/ConfigFiles.js"
import { type ConfigIssue, invalid, issue } from "../domain/ConfigIssue.js"
import { compose, type Composed } from "../domain/Merge.js"
import { QEMU_EXECUTABLE, type QemuOption, renderArgs, toArgv } from "../domain/qemu/Options.js"
import { generate as generateQemu, type GenerateOptions } from "../domain/qemu/Pipeline.js"
import { duplicateWritableFiles } from "../domain/VolumeFiles.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { installedBinDir } from "./Installation.js"
import { store } from "./Workspace.js"

export interface Built {
  readonly composed: Composed
  readonly options: ReadonlyArray<QemuOption>
}

/**
 * Loads, merges and generates every named machine, collecting the problems of all of them; fails
 * with every problem found, so nothing is printed or written for a half-valid set.
 */
export const buildAll = (
  names: ReadonlyArray<string>,
  given: GenerateOptions = {},
  adjust: (composed: Composed) => Composed = (c) => c
) =>
  Effect.gen(function*() {
    const options: GenerateOptions = given.binDir === undefined ? { ...given, binDir: installedBinDir() } : given
    const s = yield* store
    const host: Host = yield* s.loadHost
    const problems: Array<ConfigIssue> = []
    const built: Array<Built> = []
    yield* Effect.forEach(names, validateMachineName, { discard: true })
    for (const name of names) {
      const machine = yield* Effect.either(s.loadMachine(name))
      if (Either.isLeft(machine)) {
        const e = machine.left
        problems.push(...(e._tag === "ConfigInvalidError" ? e.issues : [issue(e._tag === "ConfigReadError" ? e.file : name, "$", e._tag === "ConfigReadError" ? e.reason : e.message)]))
        continue
      }
      const composed = compose(host, machine.right)
      if (Either.isLeft(composed)) {
        problems.push(...composed.left.issues)
        continue
      }
      const adjusted = adjust(composed.right)
      const generated = generateQemu(host, adjusted, options)
      const duplicates = duplicateWritableFiles(host, adjusted)
      if (Either.isLeft(generated)) problems.push(...generated.left.issues)
      problems.push(...duplicates)
      if (Either.isRight(generated) && duplicates.length === 0) built.push({ composed: adjusted, options: generated.right })
    }
    if (problems.length > 0) return yield* invalid(problems)
    return { host, built: built as ReadonlyArray<Built>, store: s, binDir: options.binDir }
  })

/** Prints one block per machine; a `----<name>----` header only when there are several. */
export const printBlocks = (blocks: ReadonlyArray<{ name: string; text: string }>) =>
  Effect.forEach(blocks, ({ name, text }, i) =>
    Console.log((i > 0 ? "\n" : "") + (blocks.length > 1 ? `----${name}----\n` : "") + text), { discard: true })

const machines = Args.text({ name: "machines" }).pipe(Args.atLeast(1))

/** A word as a POSIX shell reads it back unchanged: bare when safe, else in single quotes. */
export const shellQuote = (word: string): string =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`

const shell = Options.boolean("shell").pipe(
  Options.withDescription("Print one line to paste into a shell: the QEMU binary, then every argument, quoted.")
)

export const args = Command.make("args", { shell, machines }, ({ machines, shell }) =>
  Effect.gen(function*() {
    const { built } = yield* buildAll(machines)
    yield* printBlocks(built.map((b) => ({
      name: b.composed.machine.name,
      text: shell ? [QEMU_EXECUTABLE, ...toArgv(b.options)].map(shellQuote).join(" ") : renderArgs(b.options)
    })))
  })).pipe(Command.withDescription("Displays the QEMU arguments for virtual machines."))


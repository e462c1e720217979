/**
 * `args` and `generate`: the QEMU command line and the systemd unit of machines.
 * Every machine is built and validated before anything is printed or written; `generate` writes
 * each unit atomically, says which were created, changed or unchanged, and reloads systemd.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Host } from "../domain/ConfigFiles.js"
import { type ConfigIssue, invalid, issue } from "../domain/ConfigIssue.js"
import { compose, type Composed } from "../domain/Merge.js"
import { QEMU_EXECUTABLE, type QemuOption, renderArgs, toArgv } from "../domain/qemu/Options.js"
import { generate as generateQemu, type GenerateOptions } from "../domain/qemu/Pipeline.js"
import { renderMachineUnit, unitName } from "../domain/Unit.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { all, machinesArg, resolve } from "./Targets.js"
import { lazy, reloadUnits, serviceOr, store, systemd } from "./Workspace.js"

export interface Built {
  readonly composed: Composed
  readonly options: ReadonlyArray<QemuOption>
}

/**
 * Loads, merges and generates every named machine, collecting the problems of all of them; fails
 * with every problem found, so nothing is printed or written for a half-valid set.
 */
export const buildAll = (names: ReadonlyArray<string>, options: GenerateOptions = {}) =>
  Effect.gen(function*() {
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
      const generated = generateQemu(host, composed.right, options)
      if (Either.isLeft(generated)) problems.push(...generated.left.issues)
      else built.push({ composed: composed.right, options: generated.right })
    }
    if (problems.length > 0) return yield* invalid(problems)
    return { host, built: built as ReadonlyArray<Built> }
  })

/** Prints one block per machine; a `----<name>----` header only when there are several. */
const printBlocks = (blocks: ReadonlyArray<{ name: string; text: string }>) =>
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

const preview = Options.boolean("preview").pipe(Options.withDescription("Print the units instead of writing them."))
const noReload = Options.boolean("no-reload").pipe(Options.withDescription("Do not ask systemd to reload its units after writing."))
const unitDir = Options.text("unit-dir").pipe(
  Options.withDescription("Where units are written (default /etc/systemd/system)."),
  Options.withFallbackConfig(Config.string("MACHINA_UNIT_DIR")),
  Options.optional
)

const unitStoreModules = lazy(() => Promise.all([import("../services/UnitStore.js"), import("../layers/UnitStoreFs.js")]))

/** The UnitStore: one provided by the caller wins, else the unit directory on disk. */
const unitStore = (dir: Option.Option<string>) =>
  Effect.flatMap(unitStoreModules, ([{ UnitStore }, UnitStoreFs]) =>
    serviceOr(UnitStore, UnitStoreFs.make({ directory: Option.getOrUndefined(dir) })))

export const generate = Command.make("generate", { preview, noReload, unitDir, all, machines: machinesArg }, ({ all, machines, noReload, preview, unitDir }) =>
  Effect.gen(function*() {
    const { built } = yield* buildAll(yield* resolve("generate", machines, all))
    const units = built.map((b) => ({
      name: unitName(b.composed.machine.name),
      content: renderMachineUnit({ name: b.composed.machine.name, options: b.options })
    }))
    if (preview) {
      return yield* printBlocks(built.map((b, i) => ({ name: b.composed.machine.name, text: units[i]!.content.replace(/\n$/, "") })))
    }
    const target = yield* unitStore(unitDir)
    const results = yield* target.writeAll(units)
    for (const r of results) yield* Console.log(`${r.path}: ${r.status}`)
    if (noReload || results.every((r) => r.status === "unchanged")) return
    if (yield* reloadUnits(yield* systemd, "units written")) yield* Console.log("systemd: units reloaded")
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription("Generates systemd unit configuration files from /etc/machina/machine.conf.d/*.conf.json.")
  )

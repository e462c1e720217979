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
import { type QemuOption, renderArgs } from "../domain/qemu/Options.js"
import { generate as generateQemu, type GenerateOptions } from "../domain/qemu/Pipeline.js"
import { machineUnitFiles } from "../domain/MachineUnits.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { hostUsers, lazy, reloadUnits, serviceOr, store, systemd } from "./Workspace.js"

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

export const args = Command.make("args", { machines }, ({ machines }) =>
  Effect.gen(function*() {
    const { built } = yield* buildAll(machines)
    yield* printBlocks(built.map((b) => ({ name: b.composed.machine.name, text: renderArgs(b.options) })))
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

export const generate = Command.make("generate", { preview, noReload, unitDir, machines }, ({ machines, noReload, preview, unitDir }) =>
  Effect.gen(function*() {
    const { built, host } = yield* buildAll(machines)
    const perMachine = built.map((b) => machineUnitFiles(host, b.composed, b.options))
    const units = perMachine.flat()
    if (preview) {
      // A machine with one unit keeps the original's preview; a second unit (swtpm) adds blocks
      // headed by the unit names.
      return yield* printBlocks(perMachine.flatMap((files, i) => {
        const name = built[i]!.composed.machine.name
        return files.length === 1
          ? [{ name, text: files[0]!.content.replace(/\n$/, "") }]
          : files.map((f) => ({ name: f.name, text: f.content.replace(/\n$/, "") }))
      }))
    }
    // systemd resolves Group= before running any command of the unit: the machine's group must
    // exist on the host before an unprivileged machine starts.
    for (const b of built) {
      const { privileges } = b.composed.definition
      if (privileges.user === "") continue
      const group = privileges.filesystem.group
      const users = yield* hostUsers
      if ((yield* users.ensureGroup(group.name, group.id)) === "created") {
        yield* Console.log(`group ${group.name} (${group.id}): created`)
      }
    }
    const target = yield* unitStore(unitDir)
    const results = yield* target.writeAll(units)
    for (const r of results) yield* Console.log(`${r.path}: ${r.status}`)
    if (noReload || results.every((r) => r.status === "unchanged")) return
    if (yield* reloadUnits(yield* systemd, "units written")) yield* Console.log("systemd: units reloaded")
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription("Generates systemd unit configuration files from /etc/machina/machine.conf.d/*.conf.json.")
  )

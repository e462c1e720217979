/**
 * `args` and `generate`: the QEMU command line and the systemd unit of machines.
 * Every machine is built and validated before anything is printed or written (two writable
 * volumes on one file are an error); `generate` then checks the machines it writes against every
 * machine of the host and prints collisions and machines without id as warnings, writes each unit
 * atomically, says which were created, changed or unchanged, and reloads systemd.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Host } from "../domain/ConfigFiles.js"
import { type ConfigIssue, invalid, issue } from "../domain/ConfigIssue.js"
import { compose, type Composed } from "../domain/Merge.js"
import { type QemuOption, renderArgs } from "../domain/qemu/Options.js"
import { generate as generateQemu, type GenerateOptions } from "../domain/qemu/Pipeline.js"
import { posixJoin } from "../domain/Pattern.js"
import { configDropIn, configDropInName } from "../domain/Unit.js"
import type { UnitFile } from "../services/UnitStore.js"
import { hookExecutable, installedBinDir } from "./Installation.js"
import { duplicateWritableFiles } from "../domain/VolumeFiles.js"
import { collisionsInvolving } from "../domain/Collisions.js"
import { asWarning, type ConfigWarning } from "../domain/ConfigIssue.js"
import { machineWarnings } from "../domain/MachineWarnings.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { hostUsers, lazy, quietStore, reloadUnits, serviceOr, store, systemd, warn } from "./Workspace.js"
import { machineUnitFiles } from "../domain/MachineUnits.js"

export interface Built {
  readonly composed: Composed
  readonly options: ReadonlyArray<QemuOption>
}

/**
 * Loads, merges and generates every named machine, collecting the problems of all of them; fails
 * with every problem found, so nothing is printed or written for a half-valid set.
 */
export const buildAll = (names: ReadonlyArray<string>, given: GenerateOptions = {}) =>
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
      const generated = generateQemu(host, composed.right, options)
      const duplicates = duplicateWritableFiles(host, composed.right)
      if (Either.isLeft(generated)) problems.push(...generated.left.issues)
      problems.push(...duplicates)
      if (Either.isRight(generated) && duplicates.length === 0) built.push({ composed: composed.right, options: generated.right })
    }
    if (problems.length > 0) return yield* invalid(problems)
    return { host, built: built as ReadonlyArray<Built>, store: s, binDir: options.binDir }
  })

/**
 * What `generate` reports but does not refuse (machines that never run together may share a
 * port): collisions between the machines written and every machine of the host, and machines
 * without an id. Machines of the host that do not load or merge are left to `check`.
 */
export const hostWideWarnings = (host: Host, built: ReadonlyArray<Built>) =>
  Effect.gen(function*() {
    const s = yield* quietStore
    const written = new Map(built.map((b) => [b.composed.machine.file, b.composed]))
    const all: Array<Composed> = []
    for (const file of yield* Effect.orElseSucceed(s.listMachines, (): ReadonlyArray<string> => [])) {
      const mine = written.get(s.machineFile(file))
      if (mine !== undefined) {
        all.push(mine)
        written.delete(s.machineFile(file))
        continue
      }
      const loaded = yield* Effect.either(s.loadMachine(file))
      if (Either.isLeft(loaded)) continue
      const composed = compose(host, loaded.right)
      if (Either.isRight(composed)) all.push(composed.right)
    }
    all.push(...written.values())
    const names = new Set(built.map((b) => b.composed.machine.name))
    return [
      ...built.flatMap((b) => machineWarnings(host, b.composed)),
      ...collisionsInvolving(all, names, host).map(asWarning)
    ] as ReadonlyArray<ConfigWarning>
  })

/** Prints one block per machine; a `----<name>----` header only when there are several. */
const printBlocks = (blocks: ReadonlyArray<{ name: string; text: string }>) =>
  Effect.forEach(blocks, ({ name, text }, i) =>
    Console.log((i > 0 ? "\n" : "") + (blocks.length > 1 ? `----${name}----\n` : "") + text), { discard: true })

const machines = Args.text({ name: "machines" }).pipe(Args.atLeast(1))

/** No single configuration directory lets the units' hooks find the configuration at boot. */
export class BootConfigError extends Schema.TaggedError<BootConfigError>()("BootConfigError", { problem: Schema.String }) {
  override get message(): string {
    return `generate: ${this.problem}; nothing was written. Give the configuration directory with --config-dir DIR (recorded in the units).`
  }
}

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
    const { binDir, built, host, store: s } = yield* buildAll(machines)
    yield* warn(yield* hostWideWarnings(host, built))
    const executable = hookExecutable(binDir)
    const perMachine = built.map((b) => machineUnitFiles(host, b.composed, b.options, executable))
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
    // The hooks run by systemd at boot must read this same configuration: a directory other than
    // /etc/machina goes into a drop-in beside each unit (the unit text itself stays the same).
    const boot = s.bootConfig
    if (boot !== undefined && "problem" in boot) return yield* new BootConfigError({ problem: boot.problem })
    const target = yield* unitStore(unitDir)
    const dropIns: Array<UnitFile> = []
    const stale: Array<string> = []
    for (const b of built) {
      const name = configDropInName(b.composed.machine.name)
      if (boot !== undefined) dropIns.push({ name, content: configDropIn(boot.directory) })
      else if (Option.isSome(yield* target.read(name))) stale.push(name)
    }
    const results = yield* target.writeAll([...units, ...dropIns])
    for (const r of results) yield* Console.log(`${r.path}: ${r.status}`)
    for (const name of stale) {
      if (yield* target.remove(name)) yield* Console.log(`${posixJoin(target.directory, name)}: removed`)
    }
    if (noReload || (stale.length === 0 && results.every((r) => r.status === "unchanged"))) return
    if (yield* reloadUnits(yield* systemd, "units written")) yield* Console.log("systemd: units reloaded")
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription("Generates systemd unit configuration files from /etc/machina/machine.conf.d/*.conf.json.")
  )

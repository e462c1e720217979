/**
 * `generate`: the systemd units of machines (`args`, the QEMU command line, is QemuArgs.ts).
 * Every machine is built and validated before anything is printed or written (two writable
 * volumes on one file are an error); `generate` then checks the machines it writes against every
 * machine of the host and prints collisions and machines without id as warnings, writes each unit
 * atomically, says which were created, changed or unchanged, and reloads systemd.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Schema from "effect/Schema"
import type { Host } from "../domain/ConfigFiles.js"
import { compose, type Composed } from "../domain/Merge.js"
import { posixJoin } from "../domain/GoText.js"
import { configDropIn, configDropInName, unitName } from "../domain/Unit.js"
import type { UnitFile } from "../services/UnitStore.js"
import { hookExecutable } from "./Installation.js"
import { type Built, buildAll, printBlocks } from "./QemuArgs.js"
import { collisionsInvolving } from "../domain/Collisions.js"
import { asWarning, type ConfigWarning } from "../domain/ConfigIssue.js"
import { machineWarnings } from "../domain/MachineWarnings.js"
import { hostUsers, lazy, quietStore, reloadUnits, serviceOr, systemd, warn } from "./Workspace.js"
import { machineUnitFiles } from "../domain/MachineUnits.js"
import { type MachinePlan, planMachine, planSummaryLine } from "../domain/Plan.js"
import type { SystemdShape } from "../services/Systemd.js"
import type { UnitStoreShape } from "../services/UnitStore.js"
import { all, machinesArg, resolve } from "./Targets.js"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

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

/** No single configuration directory lets the units' hooks find the configuration at boot. */
export class BootConfigError extends LazyTaggedError<BootConfigError>()("BootConfigError", { problem: Schema.String }) {
  override get message(): string {
    return `generate: ${this.problem}; nothing was written. Give the configuration directory with --config-dir DIR (recorded in the units).`
  }
}

const preview = Options.boolean("preview").pipe(Options.withDescription("Print the units instead of writing them."))
const noReload = Options.boolean("no-reload").pipe(Options.withDescription("Do not ask systemd to reload its units after writing."))
export const unitDir = Options.text("unit-dir").pipe(
  Options.withDescription("Where units are written (default /etc/systemd/system)."),
  Options.withFallbackConfig(Config.string("MACHINA_UNIT_DIR")),
  Options.optional
)

const unitStoreModules = lazy(() => Promise.all([import("../services/UnitStore.js"), import("../layers/UnitStoreFs.js")]))

/** The UnitStore: one provided by the caller wins, else the unit directory on disk. */
export const unitStore = (dir: Option.Option<string>) =>
  Effect.flatMap(unitStoreModules, ([{ UnitStore }, UnitStoreFs]) =>
    serviceOr(UnitStore, UnitStoreFs.make({ directory: Option.getOrUndefined(dir) })))

/** A machine's plan against the unit directory, with the unit text that would be written. */
export interface PlannedUnit {
  readonly plan: MachinePlan
  /** Full path of the unit file. */
  readonly path: string
  /** The generated unit (undefined for an orphaned unit). */
  readonly content: string | undefined
}

/** Plans every built machine against the units on disk (nothing is written). */
export const planBuilt = (target: UnitStoreShape, built: ReadonlyArray<Built>, host: Host, executable?: string | undefined) =>
  Effect.forEach(built, (b) =>
    Effect.gen(function*() {
      const name = b.composed.machine.name
      const unit = unitName(name)
      const content = machineUnitFiles(host, b.composed, b.options, executable)[0]!.content
      const current = Option.getOrUndefined(yield* target.read(unit))
      return {
        plan: planMachine({ machine: name, unit, current, next: content, nextOptions: b.options }),
        path: `${target.directory.replace(/\/+$/, "")}/${unit}`,
        content
      } satisfies PlannedUnit
    }))

/** systemd's active states in which the machine's QEMU runs (or is about to, or still does). */
const RUNNING_STATES: ReadonlySet<string> = new Set(["active", "activating", "reloading", "deactivating"])

/**
 * Which of `units` systemd says are running; `undefined` (and a warning) when systemd cannot be
 * asked, in which case callers must assume any of them may be.
 */
export const runningUnits = (sd: Effect.Effect<SystemdShape, unknown, Scope.Scope>, units: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (units.length === 0) return new Set<string>() as ReadonlySet<string>
    const statuses = yield* Effect.either(Effect.flatMap(sd, (s) => s.units(units)))
    if (Either.isLeft(statuses)) {
      const e = statuses.left as { readonly message?: string }
      yield* Console.error(`machina: warning: cannot tell which machines are running (${e.message ?? String(e)})`)
      return undefined
    }
    return new Set(statuses.right.filter((u) => RUNNING_STATES.has(u.activeState)).map((u) => u.name)) as ReadonlySet<string>
  })

/** `generate` will not change what a running guest sees without `--yes` (or a yes at the terminal). */
export class GuestHardwareChangeRefusedError extends LazyTaggedError<GuestHardwareChangeRefusedError>()(
  "GuestHardwareChangeRefusedError",
  { machines: Schema.Array(Schema.String), reason: Schema.String }
) {
  override get message(): string {
    return `not writing units: the guest-visible hardware of running machine(s) ${this.machines.join(", ")} would change (${this.reason}); ` +
      "review with `machina plan`, then pass --yes"
  }
}

const promptModule = lazy(() => import("@effect/cli/Prompt"))

/** Asks at the terminal; refuses without one. */
const confirmChange = (machines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) {
      return yield* new GuestHardwareChangeRefusedError({ machines, reason: "not asking: standard input is not a terminal" })
    }
    const Prompt = yield* promptModule
    const yes = yield* Prompt.run(Prompt.confirm({ message: `Change the hardware of running machine(s) ${machines.join(", ")}?`, initial: false })).pipe(
      Effect.catchAll(() => Effect.succeed(false))
    )
    if (!yes) return yield* new GuestHardwareChangeRefusedError({ machines, reason: "not confirmed" })
  })

const yes = Options.boolean("yes").pipe(
  Options.withDescription("Write units even when the guest-visible hardware of a running machine changes.")
)

export const generate = Command.make(
  "generate",
  { preview, noReload, unitDir, yes, all, machines: machinesArg },
  ({ all, machines, noReload, preview, unitDir, yes }) =>
  Effect.gen(function*() {
    const { binDir, built, host, store: s } = yield* buildAll(yield* resolve("generate", machines, all))
    yield* warn(yield* hostWideWarnings(host, built))
    const executable = hookExecutable(binDir)
    const perMachine = built.map((b) => machineUnitFiles(host, b.composed, b.options, executable))
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
    const planned = yield* planBuilt(target, built, host, executable)
    const visible = planned.filter((p) => p.plan.status === "changed" && p.plan.guestChanges.length > 0)
    if (visible.length > 0 && !yes) {
      const running = yield* runningUnits(systemd, visible.map((p) => p.plan.unit))
      const concerned = visible.filter((p) => running === undefined || running.has(p.plan.unit))
      if (concerned.length > 0) {
        for (const p of concerned) {
          yield* Console.error(planSummaryLine(p.plan, p.path))
          for (const c of p.plan.guestChanges) yield* Console.error(`  ${c.text}`)
        }
        yield* confirmChange(concerned.map((p) => p.plan.machine))
      }
    }
    const dropIns: Array<UnitFile> = []
    const stale: Array<string> = []
    for (const b of built) {
      const name = configDropInName(b.composed.machine.name)
      if (boot !== undefined) dropIns.push({ name, content: configDropIn(boot.directory) })
      else if (Option.isSome(yield* target.read(name))) stale.push(name)
    }
    // The QEMU units first (one plan line each), then companion units (swtpm) and drop-ins.
    const results = yield* target.writeAll([
      ...planned.map((p) => ({ name: p.plan.unit, content: p.content! })),
      ...perMachine.flatMap((files) => files.slice(1)),
      ...dropIns
    ])
    for (const [i, r] of results.entries()) {
      const plan = planned[i]?.plan
      yield* Console.log(plan === undefined ? `${r.path}: ${r.status}` : planSummaryLine({ ...plan, status: r.status }, r.path))
    }
    for (const name of stale) {
      if (yield* target.remove(name)) yield* Console.log(`${posixJoin(target.directory, name)}: removed`)
    }
    if (noReload || (stale.length === 0 && results.every((r) => r.status === "unchanged"))) return
    if (yield* reloadUnits(yield* systemd, "units written")) yield* Console.log("systemd: units reloaded")
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription("Generates systemd unit configuration files from /etc/machina/machine.conf.d/*.conf.json.")
  )

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
import type * as Scope from "effect/Scope"
import * as Schema from "effect/Schema"
import type { Host } from "../domain/ConfigFiles.js"
import { type ConfigIssue, invalid, issue } from "../domain/ConfigIssue.js"
import { compose, type Composed } from "../domain/Merge.js"
import { type QemuOption, renderArgs } from "../domain/qemu/Options.js"
import { generate as generateQemu, type GenerateOptions } from "../domain/qemu/Pipeline.js"
import { type MachinePlan, planMachine, planSummaryLine } from "../domain/Plan.js"
import { renderMachineUnit, unitName } from "../domain/Unit.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import type { SystemdShape } from "../services/Systemd.js"
import type { UnitStoreShape } from "../services/UnitStore.js"
import { lazy, reloadUnits, serviceOr, store, systemd } from "./Workspace.js"

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
  options: GenerateOptions = {},
  adjust: (composed: Composed) => Composed = (c) => c
) =>
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
      const adjusted = adjust(composed.right)
      const generated = generateQemu(host, adjusted, options)
      if (Either.isLeft(generated)) problems.push(...generated.left.issues)
      else built.push({ composed: adjusted, options: generated.right })
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
export const planBuilt = (target: UnitStoreShape, built: ReadonlyArray<Built>) =>
  Effect.forEach(built, (b) =>
    Effect.gen(function*() {
      const name = b.composed.machine.name
      const unit = unitName(name)
      const content = renderMachineUnit({ name, options: b.options })
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
export class GuestHardwareChangeRefusedError extends Schema.TaggedError<GuestHardwareChangeRefusedError>()(
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
  Options.withAlias("y"),
  Options.withDescription("Write units even when the guest-visible hardware of a running machine changes.")
)

export const generate = Command.make("generate", { preview, noReload, unitDir, yes, machines }, ({ machines, noReload, preview, unitDir, yes }) =>
  Effect.gen(function*() {
    const { built } = yield* buildAll(machines)
    if (preview) {
      return yield* printBlocks(built.map((b) => ({
        name: b.composed.machine.name,
        text: renderMachineUnit({ name: b.composed.machine.name, options: b.options }).replace(/\n$/, "")
      })))
    }
    const target = yield* unitStore(unitDir)
    const planned = yield* planBuilt(target, built)
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
    const results = yield* target.writeAll(planned.map((p) => ({ name: p.plan.unit, content: p.content! })))
    for (const [i, r] of results.entries()) {
      const plan = planned[i]!.plan
      yield* Console.log(planSummaryLine({ ...plan, status: r.status }, r.path))
    }
    if (noReload || results.every((r) => r.status === "unchanged")) return
    if (yield* reloadUnits(yield* systemd, "units written")) yield* Console.log("systemd: units reloaded")
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription("Generates systemd unit configuration files from /etc/machina/machine.conf.d/*.conf.json.")
  )

/**
 * `plan [machines...]`: what `generate` would change, before anything is written.
 *
 * Per machine: created / changed / unchanged / orphaned (a `machina-*.service` in the unit
 * directory whose machine file is gone; only looked for when no machine is named, or for a named
 * machine whose file is gone but whose unit is there), the unit diff, and the guest-visible
 * changes. Exit 0 when nothing would change, 2 when something would (like `terraform plan
 * -detailed-exitcode`), 1 on errors. `--hardware-revision` plans a switch to another revision.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Composed } from "../domain/Merge.js"
import { resolveRevision } from "../domain/qemu/HardwareRevision.js"
import type { PlanDocument, PlanEntry } from "../domain/Output.js"
import { defined } from "../domain/OutputValues.js"
import { planChanges, planMachine, planSummaryLine, renderDiff } from "../domain/Plan.js"
import { UNIT_PREFIX, UNIT_SUFFIX, unitName } from "../domain/Unit.js"
import { AlreadyReported } from "./Failures.js"
import { hookExecutable } from "./Installation.js"
import { type PlannedUnit, planBuilt, unitDir, unitStore } from "./Generate.js"
import { buildAll } from "./QemuArgs.js"
import { format } from "./Root.js"
import { qemuInfo, store } from "./Workspace.js"

/** The exit status when something would change. */
export const EXIT_CHANGES = 2

const machines = Args.text({ name: "machines" }).pipe(Args.repeated)

const hardwareRevision = Options.text("hardware-revision").pipe(
  Options.withDescription("Plan as if every machine pinned this hardware revision (what switching to it would change)."),
  Options.optional
)

/**
 * The composed machine with `attrs.hardware.revision` replaced, and the machine type set to
 * `machineType` when the machine pins none (what `pin-hardware` would record).
 */
export const withRevision = (revision: string, machineType?: string) => (c: Composed): Composed => ({
  ...c,
  definition: {
    ...c.definition,
    attrs: {
      ...c.definition.attrs,
      hardware: {
        revision,
        machineType: c.definition.attrs.hardware.machineType !== "" ? c.definition.attrs.hardware.machineType : machineType ?? ""
      }
    }
  }
})

/** The installed QEMU's newest q35 type when `revision` pins machine types (undefined if it cannot be found: generation then says what is missing). */
const machineTypeFor = (revision: string) =>
  Effect.gen(function*() {
    const r = resolveRevision(revision)
    if (Either.isLeft(r) || !r.right.pinsMachineType) return undefined
    const found = yield* Effect.either(Effect.flatMap(qemuInfo, (q) => q.newestQ35MachineType))
    return Either.getOrUndefined(found)
  })

/** The machine a `machina-<x>.service` belongs to: `x`, or `m` for a companion `machina-swtpm-<m>.service`. */
const ownerOf = (unit: string, machines: ReadonlySet<string>): string | undefined => {
  const x = unit.slice(UNIT_PREFIX.length, unit.length - UNIT_SUFFIX.length)
  if (machines.has(x)) return x
  for (const companion of ["swtpm-"]) {
    if (x.startsWith(companion) && machines.has(x.slice(companion.length))) return x.slice(companion.length)
  }
  return undefined
}

/** Plans the named machines (all when none is named), orphaned units included. */
export const planAll = (names: ReadonlyArray<string>, options: { readonly unitDir: Option.Option<string>; readonly revision: Option.Option<string> }) =>
  Effect.gen(function*() {
    const s = yield* store
    const existing = new Set(yield* s.listMachines)
    const target = yield* unitStore(options.unitDir)
    const onDisk = yield* target.list(UNIT_PREFIX)
    const all = names.length === 0
    // A named machine whose file is gone but whose unit is on disk is orphaned, not an error.
    const gone = all ? [] : names.filter((n) => !existing.has(n) && onDisk.includes(unitName(n)))
    const toBuild = all ? [...existing].sort() : names.filter((n) => !gone.includes(n))
    const adjust = Option.isSome(options.revision)
      ? withRevision(options.revision.value, yield* machineTypeFor(options.revision.value))
      : (c: Composed) => c
    const { binDir, built, host } = yield* buildAll(toBuild, {}, adjust)
    const planned: Array<PlannedUnit> = [...(yield* planBuilt(target, built, host, hookExecutable(binDir)))]
    const orphans = all ? onDisk.filter((u) => ownerOf(u, existing) === undefined) : gone.map(unitName)
    for (const unit of orphans) {
      const current = Option.getOrUndefined(yield* target.read(unit))
      const machine = unit.slice(UNIT_PREFIX.length, unit.length - UNIT_SUFFIX.length)
      planned.push({
        plan: planMachine({ machine, unit, current, next: undefined }),
        path: `${target.directory.replace(/\/+$/, "")}/${unit}`,
        content: undefined
      })
    }
    return planned as ReadonlyArray<PlannedUnit>
  })

/** The text of one machine's plan: the summary line, the unit diff, the guest-visible changes. */
export const renderPlan = (p: PlannedUnit): string => {
  let out = planSummaryLine(p.plan, p.path) + "\n"
  if (p.plan.status === "unchanged") return out
  const diff = renderDiff(p.plan.diff)
  if (diff !== "") {
    out += `--- ${p.plan.status === "created" ? "/dev/null" : p.path}\n`
    out += `+++ ${p.plan.status === "orphaned" ? "/dev/null" : p.path}\n`
    out += diff
  }
  if (p.plan.guestChanges.length > 0) {
    out += "guest-visible changes:\n"
    for (const c of p.plan.guestChanges) out += `  ${c.text}\n`
  } else if (p.plan.status === "changed") {
    out += "guest-visible changes: none\n"
  }
  return out
}

/** The `--format json` document (Output.ts `PlanDocument`). */
export const planDocument = (planned: ReadonlyArray<PlannedUnit>): PlanDocument => ({
  changes: planned.some((p) => planChanges(p.plan)),
  machines: planned.map(({ path, plan }): PlanEntry => ({
    name: plan.machine,
    unit: plan.unit,
    path,
    status: plan.status,
    diff: plan.diff,
    "guest-changes": plan.guestChanges.map((c) => defined({ kind: c.kind, subject: c.subject, before: c.before, after: c.after, text: c.text }))
  }))
})

export const command = Command.make(
  "plan",
  { format, unitDir, hardwareRevision, machines },
  ({ format, hardwareRevision, machines, unitDir }) =>
    Effect.gen(function*() {
      const planned = yield* planAll(machines, { unitDir, revision: hardwareRevision })
      if (format === "json") yield* Console.log(JSON.stringify(planDocument(planned), null, 2))
      else {
        for (const [i, p] of planned.entries()) yield* Console.log((i > 0 && planned[i - 1]!.plan.status !== "unchanged" ? "\n" : "") + renderPlan(p).replace(/\n$/, ""))
      }
      const changing = planned.filter((p) => planChanges(p.plan)).length
      if (changing > 0) {
        return yield* new AlreadyReported({ exitCode: EXIT_CHANGES, summary: `${changing} unit(s) would change` })
      }
    })
).pipe(Command.withDescription("Shows what generate would change (unit diff and guest-visible hardware) without writing anything; exit status 2 when something would change."))

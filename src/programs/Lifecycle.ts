/**
 * `status`, `enable`, `disable`, `start`, `stop`: the machines' systemd units, driven over D-Bus.
 * Jobs are waited for (bounded) and their results reported; any failure makes the exit status
 * non-zero.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { formatGoDuration, roundDuration } from "../domain/Duration.js"
import type { StatusEntry } from "../domain/Output.js"
import { defined, isoFromMicros } from "../domain/OutputValues.js"
import type { JobOperation, SystemdError, UnitStatus } from "../services/Systemd.js"
import { AlreadyReported } from "./Failures.js"
import { sinceMicros, stateText } from "./List.js"
import { durationValue, format } from "./Root.js"
import { unitName as unitNameOf } from "../domain/Unit.js"
import { all, confirmAll, machinesArg, resolve, yes } from "./Targets.js"
import { during, reloadUnits, store, swtpmUnitsOf, systemd } from "./Workspace.js"


/**
 * The units of the named machines (file or effective names), after checking every one has a
 * valid configuration file, before touching systemd. A unit is named by the effective name.
 */
const unitsOf = (names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const s = yield* store
    const units: Array<string> = []
    for (const name of names) units.push(unitNameOf((yield* s.loadMachine(name)).name))
    return units
  })


const timeout = Options.text("timeout").pipe(
  Options.withDescription("How long to wait for each job, e.g. 2m or 90s."),
  Options.withDefault("2m"),
  Options.mapEffect(durationValue)
)

/** A job failure with what to do next: generate a missing unit; a timed-out job goes on. */
export const explain = (e: SystemdError, machine: string, operation: JobOperation): string => {
  if (e._tag === "SystemdUnitNotFoundError") return `${e.message}; create the unit with: machina generate ${machine}`
  if (e._tag === "SystemdTimeoutError") {
    return `${e.message}; the ${operation} job goes on in systemd (see: machina status ${machine})`
  }
  return e.message
}

const PROGRESSIVE: Readonly<Record<JobOperation, string>> = { start: "starting", stop: "stopping", restart: "restarting" }
const WAITING_FOR: Readonly<Record<JobOperation, string>> = {
  start: "waiting for the start job",
  // The stop job runs the unit's ExecStop: ACPI power-off, then quit at its deadline.
  stop: "waiting for the guest to power off",
  restart: "waiting for the guest to power off and start again"
}

const jobCommand = (operation: JobOperation, verb: string, done: string, description: string) =>
  Command.make(operation, { timeout, all, yes, machines: machinesArg }, (o) =>
    Effect.gen(function*() {
      const { timeout } = o
      const machines = yield* resolve(operation, o.machines, o.all)
      if (o.all && operation !== "start") {
        yield* confirmAll(operation, `${verb[0]!.toUpperCase()}${verb.slice(1)} all ${machines.length} machines (${machines.join(", ")})?`, machines, o.yes)
      }
      const units = yield* unitsOf(machines)
      const sd = yield* systemd
      const results = yield* Effect.forEach(
        machines,
        (name, i) =>
          sd[operation](units[i]!, { timeout }).pipe(
            Effect.either,
            Effect.tap((r) =>
              Either.isRight(r) && r.right === "done"
                ? Console.log(`${name}: ${done}`)
                : Console.error(`${name}: failed to ${verb}: ${Either.isLeft(r) ? explain(r.left, name, operation) : `job ${r.right}`}`)
            ),
            // On a terminal: what is waited for and how long is left (the result prints above it).
            (job) => during({ what: `${PROGRESSIVE[operation]} ${name}: ${WAITING_FOR[operation]}`, timeout }, job)
          ),
        { concurrency: "unbounded" }
      )
      const failed = results.filter((r) => Either.isLeft(r) || r.right !== "done").length
      if (failed > 0) return yield* new AlreadyReported({ exitCode: 1, summary: `${failed} machine(s) failed to ${verb}` })
    }).pipe(Effect.scoped)
  ).pipe(Command.withDescription(description))

export const start = jobCommand("start", "start", "started", "Starts the systemd units for virtual machines.")
export const stop = jobCommand("stop", "stop", "stopped", "Stops the systemd units for virtual machines.")
export const restart = jobCommand("restart", "restart", "restarted", "Restarts the systemd units for virtual machines.")

/** `kill`: SIGKILL to the machine's processes through systemd (`KillUnit`), for a hung QEMU. */
export const kill = Command.make("kill", { all, yes, machines: machinesArg }, (o) =>
  Effect.gen(function*() {
    const machines = yield* resolve("kill", o.machines, o.all)
    if (o.all) yield* confirmAll("kill", `Kill all ${machines.length} machines (${machines.join(", ")})?`, machines, o.yes)
    const units = yield* unitsOf(machines)
    const sd = yield* systemd
    const statuses = yield* sd.units(units)
    let failed = 0
    for (const [i, name] of machines.entries()) {
      const u = statuses[i]!
      if (u.activeState !== "active" && u.activeState !== "activating" && u.activeState !== "deactivating" && u.activeState !== "reloading") {
        failed++
        yield* Console.error(`${name} is not running (${u.name} is ${u.activeState === "" ? "unknown" : u.activeState})`)
        continue
      }
      const r = yield* Effect.either(sd.kill(units[i]!, 9))
      if (Either.isRight(r)) yield* Console.log(`${name}: killed (SIGKILL)`)
      else {
        failed++
        yield* Console.error(`${name}: failed to kill: ${r.left.message}`)
      }
    }
    if (failed > 0) return yield* new AlreadyReported({ exitCode: 1, summary: `${failed} machine(s) not killed` })
  }).pipe(Effect.scoped)).pipe(Command.withDescription("Kills the QEMU processes of virtual machines (SIGKILL through systemd)."))

const describeChanges = (changes: ReadonlyArray<{ type: string; file: string; destination: string }>) =>
  Effect.forEach(changes, (c) =>
    Console.log(c.type === "symlink" ? `Created symlink ${c.file} → ${c.destination}.` : c.type === "unlink" ? `Removed ${c.file}.` : `${c.type} ${c.file} ${c.destination}`), { discard: true })

export const enable = Command.make("enable", { all, machines: machinesArg }, (o) =>
  Effect.gen(function*() {
    const machines = yield* resolve("enable", o.machines, o.all)
    const units = yield* unitsOf(machines)
    const sd = yield* systemd
    const result = yield* sd.enable(units)
    yield* describeChanges(result.changes)
    if (result.changes.length > 0) yield* reloadUnits(sd, "unit files changed")
    if (!result.carriesInstallInfo) yield* Console.error("machina: warning: the units have no [Install] section; nothing was enabled")
  }).pipe(Effect.scoped)).pipe(Command.withDescription("Enables the systemd units for virtual machines."))

export const disable = Command.make("disable", { all, machines: machinesArg }, (o) =>
  Effect.gen(function*() {
    const machines = yield* resolve("disable", o.machines, o.all)
    const units = yield* unitsOf(machines)
    const sd = yield* systemd
    const changes = yield* sd.disable(units)
    yield* describeChanges(changes)
    if (changes.length > 0) yield* reloadUnits(sd, "unit files changed")
  }).pipe(Effect.scoped)).pipe(Command.withDescription("Disables the systemd units for virtual machines."))

const formatSince = (u: UnitStatus, nowMicros: number): string => {
  const since = sinceMicros(u)
  if (since <= 0) return ""
  const ago = roundDuration(Duration.micros(BigInt(Math.max(0, Math.round(nowMicros - since)))), Duration.seconds(1))
  return `since ${new Date(since / 1000).toISOString().replace(/\.\d+Z$/, "Z")} (${formatGoDuration(ago)} ago)`
}

/** One unit of `status --format json` (Output.ts `StatusEntry`). */
export const statusEntry = (machine: string, role: "qemu" | "swtpm", u: UnitStatus): StatusEntry =>
  defined({
    name: machine,
    unit: u.name,
    role,
    "load-state": u.loadState,
    "active-state": u.activeState,
    "sub-state": u.subState,
    "main-pid": u.mainPid > 0 ? u.mainPid : undefined,
    result: u.result,
    "unit-description": u.description,
    since: isoFromMicros(sinceMicros(u)),
    "active-enter-timestamp": isoFromMicros(u.activeEnterTimestamp),
    "active-exit-timestamp": isoFromMicros(u.activeExitTimestamp),
    "inactive-enter-timestamp": isoFromMicros(u.inactiveEnterTimestamp),
    "inactive-exit-timestamp": isoFromMicros(u.inactiveExitTimestamp)
  })

export const status = Command.make("status", { format, all, machines: machinesArg }, (o) =>
  Effect.gen(function*() {
    const { format } = o
    const machines = yield* resolve("status", o.machines, o.all)
    const qemuUnits = yield* unitsOf(machines)
    const swtpm = yield* swtpmUnitsOf(machines)
    // Each machine's QEMU unit, then its swtpm unit when it has one.
    const owners: Array<string> = []
    const roles: Array<"qemu" | "swtpm"> = []
    const units: Array<string> = []
    machines.forEach((m, i) => {
      owners.push(m)
      roles.push("qemu")
      units.push(qemuUnits[i]!)
      if (swtpm[i] !== undefined) {
        owners.push(m)
        roles.push("swtpm")
        units.push(swtpm[i]!)
      }
    })
    const sd = yield* systemd
    const statuses = yield* sd.units(units)
    const now = Date.now() * 1000
    if (format === "json") {
      yield* Console.log(JSON.stringify(statuses.map((u, i) => statusEntry(owners[i]!, roles[i]!, u)), null, 2))
    } else {
      for (const [i, u] of statuses.entries()) {
        const parts = [`${owners[i]}: ${u.name}`, u.loadState, stateText(u)]
        if (u.mainPid > 0) parts.push(`pid ${u.mainPid}`)
        if (u.result !== "" && u.result !== "success") parts.push(`result ${u.result}`)
        const since = formatSince(u, now)
        if (since !== "") parts.push(since)
        yield* Console.log(parts.join("  "))
      }
    }
    // The exit status does not depend on the output format.
    const notRunning = statuses.filter((u) => u.activeState !== "active").length
    if (notRunning > 0) return yield* new AlreadyReported({ exitCode: 3, summary: `${notRunning} unit(s) not active` })
  }).pipe(Effect.scoped)).pipe(Command.withDescription("Displays the systemd unit status for virtual machines."))

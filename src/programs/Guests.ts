/**
 * Commands that talk to running guests over QMP: `shutdown`, `observe`, `query pci|cpu`.
 * Sockets per qmp.md §2: `--system` uses the socket reserved for systemd, everything else tries
 * the two command sockets in order. Failures make the exit status non-zero.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Composed } from "../domain/Merge.js"
import { clientSocketPaths } from "../domain/Paths.js"
import type { Qmp } from "../services/Qmp.js"
import type * as QmpOps from "./QmpOps.js"
import { qemuExited, qemuProcessesOf } from "./Occupancy.js"
import { durationValue, format } from "./Root.js"
import { unitName } from "../domain/Unit.js"
import { AlreadyReported } from "./Failures.js"
import { all, confirmAll, machinesArg, resolve, yes } from "./Targets.js"
import { composeAll, lazy, progress, runDir, serviceOr, systemd } from "./Workspace.js"

/**
 * Why a machine whose QMP socket is missing is not running, from its unit's state:
 * `machina-test-vm.service is inactive`. Undefined when systemd cannot say (not reachable, or the
 * unit is active and QEMU was not started by it).
 */
export const unitWhyDown = (machine: string): Effect.Effect<string | undefined> =>
  Effect.scoped(Effect.flatMap(systemd, (sd) => sd.units([unitName(machine)]))).pipe(
    Effect.map(([u]) =>
      u === undefined || u.activeState === "active" || u.activeState === ""
        ? undefined
        : u.loadState === "not-found"
        ? `${u.name} does not exist; run: machina generate ${machine}`
        : `${u.name} is ${u.activeState}`),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * A QEMU of the machine that runs, when its QMP socket cannot be reached: systemd's `$MAINPID`
 * (set for ExecStop only while the main process runs, so only with `--system`), else a process
 * serving its systemd QMP socket, else the main PID of its active unit. Undefined when none.
 */
export const runningPid = (machine: string, system: boolean): Effect.Effect<number | undefined> =>
  Effect.gen(function*() {
    const mainPid = Number(process.env["MAINPID"] ?? "")
    if (system && Number.isInteger(mainPid) && mainPid > 0) return mainPid
    const serving = yield* Effect.orElseSucceed(qemuProcessesOf(machine), () => [])
    if (serving[0] !== undefined) return serving[0]
    const unit = yield* Effect.scoped(Effect.flatMap(systemd, (sd) => sd.units([unitName(machine)]))).pipe(
      Effect.map(([u]) => u),
      Effect.orElseSucceed(() => undefined)
    )
    return unit !== undefined && unit.activeState === "active" && unit.mainPid > 0 ? unit.mainPid : undefined
  })

export const targetsOf = (machines: ReadonlyArray<Composed>, system: boolean): ReadonlyArray<QmpOps.QmpTarget> =>
  machines.map((c) => ({
    machine: c.machine.name,
    sockets: c.definition.attrs.qmp.enabled ? clientSocketPaths(c.machine.name, system, runDir()) : undefined,
    whyDown: unitWhyDown(c.machine.name),
    runningPid: runningPid(c.machine.name, system)
  }))

const qmpModules = lazy(() => Promise.all([import("../services/Qmp.js"), import("../layers/QmpUnixSocket.js"), import("./QmpOps.js")]))

/** Runs a QMP operation with the Qmp service: provided (simulated host, tests) or unix sockets. */
const withQmp = <A, E>(operation: (ops: typeof QmpOps) => Effect.Effect<A, E, Qmp>) =>
  Effect.flatMap(qmpModules, ([{ Qmp }, QmpUnixSocket, ops]) =>
    Effect.flatMap(serviceOr(Qmp, QmpUnixSocket.make), (qmp) => Effect.provideService(operation(ops), Qmp, qmp)))

const machines = Args.text({ name: "machines" }).pipe(Args.atLeast(1))

const system = Options.boolean("system").pipe(Options.withDescription("Use the QMP socket reserved for systemd (the unit's ExecStop)."))
const wait = Options.boolean("wait").pipe(Options.withDescription("Wait until the machines have stopped."))
const timeout = Options.text("timeout").pipe(
  Options.withDescription("Send QUIT after this long (implies --wait), e.g. 1m25s or \"85s\"."),
  Options.mapEffect(durationValue),
  Options.optional
)
const repeat = Options.text("repeat").pipe(
  Options.withDescription("Repeat the ACPI power-off request this often while waiting; 0 sends it once."),
  Options.withDefault("5s"),
  Options.mapEffect(durationValue)
)
const grace = Options.text("grace").pipe(
  Options.withDescription("After QUIT, how long to wait for QEMU to exit before reporting failure."),
  Options.withDefault("10s"),
  Options.mapEffect(durationValue)
)

export const shutdown = Command.make("shutdown", { system, wait, timeout, repeat, grace, all, yes, machines: machinesArg }, (o) =>
  Effect.gen(function*() {
    const names = yield* resolve("shutdown", o.machines, o.all)
    if (o.all) yield* confirmAll("shutdown", `Shut down all ${names.length} machines (${names.join(", ")})?`, names, o.yes)
    const { machines } = yield* composeAll(names)
    const hasTimeout = Option.isSome(o.timeout) && Duration.greaterThan(o.timeout.value, Duration.zero)
    const { during } = yield* progress
    yield* withQmp((ops) => ops.shutdown(targetsOf(machines, o.system), {
      during,
      wait: o.wait || hasTimeout,
      timeout: hasTimeout ? o.timeout : Option.none(),
      repeat: o.repeat,
      grace: o.grace,
      ...(o.system ? { exited: qemuExited } : {})
    })).pipe(
      // Scripts tell graceful from forced by the status; systemd's ExecStop (--system) keeps 0.
      Effect.catchTag("ShutdownFailedError", (e): Effect.Effect<void, AlreadyReported | QmpOps.ShutdownFailedError> =>
        e.forcedOnly
          ? o.system ? Effect.void : Effect.zipRight(Console.error(`machina: ${e.message}`), new AlreadyReported({ exitCode: 4, summary: e.message }))
          : Effect.fail(e))
    )
  })).pipe(Command.withDescription("Sends a shutdown command to one or more virtual machines."))

export const reset = Command.make("reset", { machines }, (o) =>
  Effect.gen(function*() {
    const { machines } = yield* composeAll(o.machines)
    yield* withQmp((ops) => ops.reset(targetsOf(machines, false)))
  })).pipe(Command.withDescription("Resets virtual machines at once, as the reset button does (QMP system_reset)."))

export const observe = Command.make("observe", { format, machines }, (o) =>
  Effect.gen(function*() {
    const { machines } = yield* composeAll(o.machines)
    yield* withQmp((ops) => ops.observe(targetsOf(machines, false), { format: o.format }))
  })).pipe(Command.withDescription("Reports QMP events for virtual machines."))

const queryCommand = (kind: QmpOps.QueryKind, description: string) =>
  Command.make(kind, { format, machines }, (o) =>
    Effect.gen(function*() {
      const { machines } = yield* composeAll(o.machines)
      yield* withQmp((ops) => ops.query(targetsOf(machines, false), kind, { format: o.format }))
    })).pipe(Command.withDescription(description))

export const query = Command.make("query").pipe(
  Command.withDescription("Queries virtual machines via the QMP protocol."),
  Command.withSubcommands([
    queryCommand("pci", "Describes the PCI Bus in running virtual machines."),
    queryCommand("cpu", "Describes the virtual CPUs present in running virtual machines.")
  ])
)

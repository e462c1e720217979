/**
 * Commands that talk to running guests over QMP: `shutdown`, `observe`, `query pci|cpu`.
 * Sockets per qmp.md §2: `--system` uses the socket reserved for systemd, everything else tries
 * the two command sockets in order. Failures make the exit status non-zero. The programs behind
 * them are in Shutdown.ts (no @effect/cli, for the hook fast path).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import type * as QmpOps from "./QmpOps.js"
import { durationValue, format } from "./Root.js"
import { DEFAULT_GRACE, DEFAULT_REPEAT, shutdownAll, targetsOf, withQmp } from "./Shutdown.js"
import { all, confirmAll, machinesArg, resolve, yes } from "./Targets.js"
import { composeAll } from "./Workspace.js"

export { DEFAULT_GRACE, DEFAULT_REPEAT, runningPid, shutdownAll, targetsOf, unitWhyDown, withQmp } from "./Shutdown.js"

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
  Options.withDefault(DEFAULT_REPEAT),
  Options.mapEffect(durationValue)
)
const grace = Options.text("grace").pipe(
  Options.withDescription("After QUIT, how long to wait for QEMU to exit before reporting failure."),
  Options.withDefault(DEFAULT_GRACE),
  Options.mapEffect(durationValue)
)

export const shutdown = Command.make("shutdown", { system, wait, timeout, repeat, grace, all, yes, machines: machinesArg }, (o) =>
  Effect.gen(function*() {
    const names = yield* resolve("shutdown", o.machines, o.all)
    if (o.all) yield* confirmAll("shutdown", `Shut down all ${names.length} machines (${names.join(", ")})?`, names, o.yes)
    yield* shutdownAll(names, o)
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

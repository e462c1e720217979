/**
 * `prepare` and `teardown` (cli.md §3.11–3.12), run by the unit as ExecStartPre and ExecStopPost.
 * The programs are in Preparation.ts (no @effect/cli, so the hook fast path can run them).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { prepareAll, teardownAll } from "./Preparation.js"

export {
  candidatesFor,
  ensureRuntimeDir,
  prepareAll,
  prepareMachine,
  prepareSwtpm,
  RuntimeDirError,
  teardownAll,
  teardownMachine
} from "./Preparation.js"

const machines = Args.text({ name: "machines" }).pipe(Args.atLeast(1))

const swtpm = Options.boolean("swtpm").pipe(
  Options.withDescription("Prepare the machines' software TPM (the swtpm unit's ExecStartPre) instead of QEMU.")
)

export const prepare = Command.make("prepare", { swtpm, machines }, ({ machines, swtpm }) => prepareAll(machines, swtpm)).pipe(
  Command.withDescription("Prepares the host environment for a virtual machine to start.")
)

export const teardown = Command.make("teardown", { machines }, ({ machines }) => teardownAll(machines)).pipe(
  Command.withDescription("Removes host resources prepared for a virtual machine.")
)

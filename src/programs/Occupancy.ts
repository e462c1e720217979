/**
 * Who has a machine right now: its systemd unit, another machina holding its lock (a `run`, a
 * `prepare` or `teardown` in progress), or a QEMU process of its own. `run`, and `prepare` and
 * `teardown` when a person runs them, refuse to touch a machine something else has, so a second
 * QEMU never starts on the same sockets and a running machine's devices are never torn down.
 *
 * The unit's own hooks (ExecStartPre=`machina prepare`, ExecStopPost=`machina teardown`) run while
 * the unit is activating or deactivating; they are recognised by running inside the unit's own
 * control group (systemd puts every process of a service, hooks included, in
 * `/system.slice/machina-<name>.service`; nothing outside the unit can be there), so they proceed.
 *
 * And `shutdown --system` (the unit's ExecStop) asks here whether the machine's QEMU has exited
 * already (the guest powered itself off): then there is nothing to shut down, and it succeeds.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"
import { qmpSocketPath, runtimeDirOf, SYSTEM_SOCKETS } from "../domain/Paths.js"
import { escapeValue } from "../domain/qemu/Options.js"
import { unitName } from "../domain/Unit.js"
import { lockHolder, processes, runDir, systemd } from "./Workspace.js"

export class MachineBusyError extends LazyTaggedError<MachineBusyError>()("MachineBusyError", (S) => ({
  command: S.String,
  machine: S.String,
  reason: S.String,
  hint: S.String
})) {
  override get message(): string {
    return `${this.command} ${this.machine}: refused: ${this.reason}; nothing was changed.\n${this.hint}`
  }
}

/** The argument of a QEMU that serves `socket` as a chardev: its `path=` parameter, as rendered. */
export const socketArgument = (socket: string): string => `path=${escapeValue(socket)}`

/** The machine's QEMU processes, found by the systemd QMP socket every generated command line serves. */
export const qemuProcessesOf = (machine: string) =>
  Effect.flatMap(processes, (p) => p.withArgument(socketArgument(qmpSocketPath(machine, SYSTEM_SOCKETS[0], runDir()))))

/** Whether this process runs inside the control group of `machine`'s own unit (a hook of it). */
export const insideOwnUnit = (machine: string) =>
  Effect.map(Effect.flatMap(processes, (p) => p.ownCgroup), (cgroup) =>
    Option.isSome(cgroup) && cgroup.value.split("/").includes(unitName(machine)))

/** Unit states in which the unit owns the machine (`activating` includes a pending auto-restart). */
const BUSY_STATES = new Set(["active", "activating", "deactivating", "reloading", "refreshing"])

/**
 * Fails with `MachineBusyError` when the machine's unit is active (or starting, stopping, about to
 * restart), another machina holds its lock, or a QEMU of it runs. A host without a system bus has
 * no units: that check is skipped there. `prepare`/`teardown` run by the unit itself pass.
 */
export const ensureFree = (command: "run" | "prepare" | "teardown", machine: string, options: { readonly qmp: boolean }) =>
  Effect.gen(function*() {
    if (command !== "run" && (yield* insideOwnUnit(machine))) return
    const unit = unitName(machine)
    const busy = (reason: string, hint: string) => new MachineBusyError({ command, machine, reason, hint })
    const state = yield* Effect.either(Effect.scoped(Effect.flatMap(systemd, (sd) => sd.units([unit]))))
    if (Either.isLeft(state) && state.left._tag !== "SystemdBusUnavailableError") return yield* state.left
    if (Either.isRight(state)) {
      const u = state.right[0]!
      if (BUSY_STATES.has(u.activeState)) {
        const pid = u.mainPid > 0 ? `, pid ${u.mainPid}` : ""
        return yield* busy(
          `its unit ${unit} is ${u.activeState} (${u.subState}${pid})`,
          command === "run"
            ? `The machine runs under systemd: use "machina status ${machine}", or "machina stop ${machine}" first to run it by hand.`
            : `systemd runs the unit's own prepare and teardown; stop the unit first: "machina stop ${machine}".`
        )
      }
    }
    const holder = yield* lockHolder(machine)
    if (Option.isSome(holder)) {
      return yield* busy(
        `another machina (pid ${holder.value}) holds the machine`,
        `It is running or preparing the machine (e.g. "machina run ${machine}"); wait for it to finish, or stop its QEMU.`
      )
    }
    if (options.qmp) {
      const running = yield* qemuProcessesOf(machine)
      if (running.length > 0) {
        return yield* busy(
          `a QEMU of this machine is running (pid ${running.join(", ")}) on ${runtimeDirOf(machine, runDir())}`,
          `Shut it down first: "machina shutdown --wait ${machine}".`
        )
      }
    }
  })

/**
 * For `shutdown --system` when the systemd QMP socket cannot be reached (or the machine has no
 * QMP): `Some(how)` when the machine's QEMU has already exited, `None` when it (or possibly it)
 * still runs. Without QMP only systemd's `$EXIT_CODE` can tell.
 *
 * systemd runs ExecStop also after the main process exited on its own (the guest powered off, or
 * QEMU crashed); it then passes `$EXIT_CODE`/`$EXIT_STATUS` and no `$MAINPID` (which it sets only
 * while the main process runs). Independently of systemd, no process may serve the socket.
 */
export const qemuExited = (machine: string, qmp: boolean) =>
  Effect.gen(function*() {
    const env = process.env
    if ((env["MAINPID"] ?? "") !== "") return Option.none<string>()
    const code = env["EXIT_CODE"] ?? ""
    const status = env["EXIT_STATUS"] ?? ""
    // Without QMP there is no socket to look for: only systemd's word counts.
    if (!qmp && code === "") return Option.none<string>()
    const running = qmp ? yield* qemuProcessesOf(machine) : []
    if (running.length > 0) return Option.none<string>()
    return Option.some(
      code !== "" ? `main process ${code}${status !== "" ? `, status=${status}` : ""}` : "no QEMU process serves its QMP socket"
    )
  })

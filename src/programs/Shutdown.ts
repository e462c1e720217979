/**
 * The QMP side of the guest commands, without @effect/cli (the hook fast path, Hooks.ts, runs
 * `shutdown --system` with it): the sockets of each machine (qmp.md §2: `--system` uses the
 * socket reserved for systemd, everything else tries the two command sockets in order), the Qmp
 * service, and the `shutdown` program. The commands are in Guests.ts.
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { statSync } from "node:fs"
import type { Composed } from "../domain/Merge.js"
import { clientSocketPaths } from "../domain/Paths.js"
import { exitedLine } from "../domain/QmpMessage.js"
import { unitName } from "../domain/Unit.js"
import type { Qmp } from "../services/Qmp.js"
import { AlreadyReported } from "./Failures.js"
import { qemuExited, qemuProcessesOf } from "./Occupancy.js"
import type * as QmpOps from "./QmpOps.js"
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

const qmpService = lazy(() => import("../services/Qmp.js"))
const qmpModules = lazy(() => Promise.all([import("../services/Qmp.js"), import("../layers/QmpUnixSocket.js"), import("./QmpOps.js")]))

/** Runs a QMP operation with the Qmp service: provided (simulated host, tests) or unix sockets. */
export const withQmp = <A, E>(operation: (ops: typeof QmpOps) => Effect.Effect<A, E, Qmp>) =>
  Effect.flatMap(qmpModules, ([{ Qmp }, QmpUnixSocket, ops]) =>
    Effect.flatMap(serviceOr(Qmp, QmpUnixSocket.make), (qmp) => Effect.provideService(operation(ops), Qmp, qmp)))

/** `--repeat` and `--grace` when not given. */
export const DEFAULT_REPEAT = "5s"
export const DEFAULT_GRACE = "10s"

export interface ShutdownOptions {
  /** `--system`: the socket reserved for systemd (the unit's ExecStop). */
  readonly system: boolean
  readonly wait: boolean
  /** `--timeout`: QUIT after this long; a positive timeout implies waiting. */
  readonly timeout: Option.Option<Duration.Duration>
  readonly repeat: Duration.Duration
  readonly grace: Duration.Duration
}

/** Whether no file is at `path` (ENOENT); any other outcome is left to the QMP client to report. */
const noFileAt = (path: string): boolean => {
  try {
    statSync(path)
    return false
  } catch (e) {
    return (e as { code?: unknown }).code === "ENOENT"
  }
}

/**
 * `shutdown --system` of machines whose QEMU has provably exited: every QMP socket file is gone
 * (QEMU removes them; the QMP client would fail on the first with "not found") and
 * `qemuExited` agrees, as the QMP client's path would find. Their lines are printed and true
 * returned, without loading the QMP client: its modules and Effect's streams made the hook systemd
 * runs after every machine stop about 7 ms slower (their code cache alone was 160 KB). False,
 * having printed nothing, when any machine needs the client.
 */
const allExited = (machines: ReadonlyArray<Composed>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    for (const target of targetsOf(machines, true)) {
      if (target.sockets === undefined || target.sockets.length === 0 || !target.sockets.every(noFileAt)) return false
      const exited = yield* qemuExited(target.machine, true)
      if (Option.isNone(exited)) return false
      lines.push(`${target.machine}: ${exitedLine(exited.value)}`)
    }
    yield* Effect.forEach(lines, (line) => Console.log(line), { discard: true })
    return true
  })

/** `shutdown [--system] [--wait] [--timeout D] [--repeat D] [--grace D] MACHINES...` (names resolved). */
export const shutdownAll = (names: ReadonlyArray<string>, o: ShutdownOptions) =>
  Effect.gen(function*() {
    // Names and QMP settings are all it needs: no derived identifiers (no hashing).
    const { machines } = yield* composeAll(names, { identities: false })
    // A QMP service given by the caller (a simulated host, tests) is asked as it is.
    if (o.system && Option.isNone(yield* Effect.serviceOption((yield* qmpService).Qmp)) && (yield* allExited(machines))) return
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
  })

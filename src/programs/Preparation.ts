/**
 * `prepare` and `teardown`: host resources a machine needs while it runs (cli.md §3.11–3.12),
 * run by the unit as ExecStartPre and ExecStopPost. Both take the machine's lock, so they never
 * overlap for one machine. Run by hand, both refuse (changing nothing) while the machine's unit is
 * active or another machina or QEMU has the machine (`Occupancy.ts`); the unit's own hooks pass.
 * `prepare` makes the runtime directory (mode 0700: it holds the QMP
 * sockets) and creates the mediated devices; for an unprivileged machine it also creates its taps
 * and grants its group access to its files (Privileges.ts). `teardown` removes every device (and
 * undoes the grants), reports every failure and exits non-zero if any.
 *
 * No @effect/cli here: the hook fast path (Hooks.ts) runs these without the command tree; the
 * commands are in Prepare.ts.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"
import { constants as fsConstants } from "node:fs"
import { access, chmod, chown, lstat, mkdir } from "node:fs/promises"
import type { Host } from "../domain/ConfigFiles.js"
import type { Composed } from "../domain/Merge.js"
import { posixJoin } from "../domain/GoText.js"
import { runtimeDirOf, swtpmSetupDir, tpmSocketPath } from "../domain/Paths.js"
import { authorityDirOf, SWTPM_LOCALCA_EXECUTABLE, swtpmSetupFiles, tpmStateOf } from "../domain/TpmState.js"
import type { MdevCandidate } from "../services/Mdev.js"
import { AlreadyReported } from "./Failures.js"
import { ensureFree } from "./Occupancy.js"
import { grantMachine, machineUser, revokeMachine, writePrivateFile } from "./Privileges.js"
import { composeAll, mdev, runDir, withHostLock } from "./Workspace.js"

export class RuntimeDirError extends LazyTaggedError<RuntimeDirError>()("RuntimeDirError", (S) => ({
  path: S.String,
  reason: S.String
})) {
  override get message(): string {
    return `cannot prepare runtime directory ${this.path}: ${this.reason}`
  }
}

/** Host mdev entries offering a class, in PCI address order (config.md §3.4). */
export const candidatesFor = (host: Host, deviceClass: string): ReadonlyArray<MdevCandidate> =>
  Object.values(host.config.mdev)
    .filter((m) => Object.prototype.hasOwnProperty.call(m.types, deviceClass))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
    .map((m) => ({ address: m.address, typeName: m.types[deviceClass]! }))

/** Creates `<run>/<machine>` owned by us with mode 0700 (or tightens it when systemd made it). */
export const ensureRuntimeDir = (machine: string) =>
  Effect.tryPromise({
    try: async () => {
      const dir = runtimeDirOf(machine, runDir())
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const st = await lstat(dir)
      if (!st.isDirectory()) throw new Error("exists but is not a directory")
      await chmod(dir, 0o700)
      return dir
    },
    catch: (e) => new RuntimeDirError({ path: runtimeDirOf(machine, runDir()), reason: e instanceof Error ? e.message : String(e) })
  })

/** Prepares one machine: runtime directory, then each mediated device (first failure stops). */
export const prepareMachine = (host: Host, c: Composed, options: { readonly runtimeDir: boolean }) =>
  Effect.gen(function*() {
    const name = c.machine.name
    if (options.runtimeDir) yield* ensureRuntimeDir(name)
    const devices = yield* mdev
    for (const d of c.definition.devices) {
      const outcome = yield* devices.ensure({ id: d.id, deviceName: d.name, deviceClass: d.class, candidates: candidatesFor(host, d.class) })
      yield* Console.log(
        outcome._tag === "Created"
          ? `${name}: device ${d.name}: created mediated device ${outcome.id} (${outcome.type} on ${outcome.address})`
          : `${name}: device ${d.name}: mediated device ${outcome.id} already present`
      )
    }
    if (c.definition.privileges.user !== "") yield* grantMachine(host, c)
    yield* waitForSwtpm(host, c)
  })

/** With a generated swtpm unit, QEMU must not start before swtpm listens (bounded wait). */
const waitForSwtpm = (host: Host, c: Composed) =>
  Effect.gen(function*() {
    const { tpm } = c.definition.attrs
    if (!tpm.enabled || tpmStateOf(host, c) === undefined) return
    const socket = tpmSocketPath(c.machine.name, tpm.socket.path, runDir())
    const deadline = Date.now() + SWTPM_WAIT_MS
    while (!(yield* Effect.promise(() => lstat(socket).then((st) => st.isSocket(), () => false)))) {
      if (Date.now() > deadline) return yield* new RuntimeDirError({ path: socket, reason: `swtpm did not create its socket within ${SWTPM_WAIT_MS / 1000} s` })
      yield* Effect.sleep(50)
    }
    yield* Console.log(`${c.machine.name}: swtpm listening on ${socket}`)
  })

const SWTPM_WAIT_MS = 10_000

/** The default search path of systemd's services, for a `prepare` run without PATH. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"

/** The first executable `program` in PATH's absolute entries (as swtpm_setup is found), or undefined. */
const findInPath = async (program: string): Promise<string | undefined> => {
  for (const dir of (process.env["PATH"] || DEFAULT_PATH).split(":")) {
    if (!dir.startsWith("/")) continue
    const candidate = posixJoin(dir, program)
    if (await access(candidate, fsConstants.X_OK).then(() => true, () => false)) return candidate
  }
  return undefined
}

/**
 * `prepare --swtpm`: the runtime directory and the TPM state directory, owned by the machine's
 * user, and swtpm_setup's configuration in the runtime directory (TpmState.ts `swtpmSetupFiles`),
 * written afresh on every start. swtpm_localca makes the certificate authority's folder in the
 * state directory itself, as the machine's user, when swtpm_setup first needs it.
 */
export const prepareSwtpm = (host: Host, c: Composed) =>
  Effect.gen(function*() {
    const name = c.machine.name
    const dir = yield* ensureRuntimeDir(name)
    const state = tpmStateOf(host, c)
    if (state === undefined) return yield* new RuntimeDirError({ path: name, reason: "tpm.data does not name a storage pool of type \"tpm-data\"" })
    const user = c.definition.privileges.user === "" ? undefined : yield* machineUser(c)
    const gid = c.definition.privileges.filesystem.group.id
    const setupDir = swtpmSetupDir(name, runDir())
    const authority = authorityDirOf(state)
    const localca = yield* Effect.promise(() => findInPath(SWTPM_LOCALCA_EXECUTABLE))
    if (localca === undefined) {
      return yield* new RuntimeDirError({ path: setupDir, reason: `${SWTPM_LOCALCA_EXECUTABLE} is not in PATH (Debian: apt install swtpm-tools)` })
    }
    const files = swtpmSetupFiles({ dir: setupDir, authority, localca })
    if (Either.isLeft(files)) return yield* new RuntimeDirError({ path: setupDir, reason: files.left })
    // What is made here belongs to the machine's user (root's own machine: root).
    const own = (path: string) => (user === undefined ? Promise.resolve() : chown(path, user.uid, gid))
    let at = dir
    yield* Effect.tryPromise({
      try: async () => {
        await own(dir)
        at = state.path
        if (!state.managed) {
          await mkdir(state.path, { recursive: true, mode: 0o700 })
          await own(state.path)
        }
        at = setupDir
        await mkdir(setupDir, { recursive: true, mode: 0o700 })
        await own(setupDir)
        for (const f of files.right) {
          at = posixJoin(setupDir, f.name)
          await writePrivateFile(at, f.content, user === undefined ? undefined : { uid: user.uid, gid })
        }
      },
      catch: (e) => new RuntimeDirError({ path: at, reason: e instanceof Error ? e.message : String(e) })
    })
    yield* Console.log(`${name}: TPM state in ${state.path}`)
  })

/** Tears one machine down: every device is tried; returns the failure lines. */
export const teardownMachine = (c: Composed) =>
  Effect.gen(function*() {
    const name = c.machine.name
    const devices = yield* mdev
    const failures: Array<string> = []
    for (const d of c.definition.devices) {
      const removed = yield* Effect.either(devices.remove(d.id))
      if (Either.isLeft(removed)) {
        const line = `${name}: device ${d.name}: failed to remove mediated device ${d.id}: ${removed.left.message}`
        failures.push(line)
        yield* Console.error(line)
      } else if (removed.right) {
        yield* Console.log(`${name}: device ${d.name}: removed mediated device ${d.id}`)
      }
    }
    if (c.definition.privileges.user !== "") failures.push(...(yield* revokeMachine(c)))
    return failures
  })

/**
 * `prepare [--swtpm] MACHINES...`: loads them all first (nothing is done on a bad file), then
 * each one: with `swtpm`, its TPM state (the swtpm unit's ExecStartPre); else, refusing while
 * the machine is in use, its host resources under its lock.
 */
export const prepareAll = (names: ReadonlyArray<string>, swtpm: boolean) =>
  Effect.gen(function*() {
    const { host, machines: composed } = yield* composeAll(names)
    for (const c of composed) {
      if (swtpm) yield* prepareSwtpm(host, c)
      else {
        yield* ensureFree("prepare", c.machine.name, { qmp: c.definition.attrs.qmp.enabled })
        yield* withHostLock(c.machine.name, prepareMachine(host, c, { runtimeDir: true }))
      }
    }
  })

/** `teardown MACHINES...`: refuses while any is in use; then every resource of every machine is tried. */
export const teardownAll = (names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { machines: composed } = yield* composeAll(names)
    for (const c of composed) yield* ensureFree("teardown", c.machine.name, { qmp: c.definition.attrs.qmp.enabled })
    let failed = 0
    for (const c of composed) failed += (yield* withHostLock(c.machine.name, teardownMachine(c))).length
    if (failed > 0) return yield* new AlreadyReported({ exitCode: 1, summary: `${failed} resource(s) could not be released` })
  })

/**
 * What `prepare` does as root for an unprivileged machine (`privileges.user`), and what
 * `teardown` undoes:
 * - the runtime directory (QMP sockets) is owned by the user and the machine's group, so QEMU can
 *   create its sockets there while root's `shutdown`/`query` still reach them;
 * - the files QEMU writes (raw disks, firmware variables) and the vfio group nodes of its mediated
 *   devices get the machine's group with read and write access; their previous group and mode
 *   are recorded in `<run>/.grants/<machine>.json` (root-only) and restored by `teardown`;
 * - its taps are created owned by the user (QEMU opens them with `script=no`) and attached to
 *   their bridges, and deleted by `teardown`.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Host } from "../domain/ConfigFiles.js"
import { tapName } from "../domain/Identity.js"
import type { Composed } from "../domain/Merge.js"
import { runtimeDirOf } from "../domain/Paths.js"
import type { machineFiles as MachineFiles } from "../domain/qemu/Pipeline.js"
import type { HostUser } from "../services/HostUsers.js"
import { hostUsers, lazy, netLinks, runDir, sysfsRoot } from "./Workspace.js"

/**
 * The files of a machine (the QEMU translation pipeline), loaded when first needed: only an
 * unprivileged machine's prepare and checks use it, and the pipeline's modules build their error
 * classes when they load.
 */
const pipeline = lazy(() => import("./MachineFiles.js"))
const machineFilesOf = (host: Host, c: Composed): Effect.Effect<ReturnType<typeof MachineFiles>> =>
  Effect.map(pipeline, (p) => p.machineFiles(host, c))

export class AccessGrantError extends LazyTaggedError<AccessGrantError>()("AccessGrantError", (S) => ({
  machine: S.String,
  path: S.String,
  reason: S.String
})) {
  override get message(): string {
    return `${this.machine}: cannot give its group access to ${this.path}: ${this.reason}`
  }
}

/** One file whose group and mode prepare changed. */
interface Grant {
  readonly path: string
  readonly gid: number
  readonly mode: number
}

const grantsFile = (machine: string): string => path.join(runDir(), ".grants", `${machine}.json`)

const readGrants = async (machine: string): Promise<Array<Grant>> => {
  try {
    return JSON.parse(await fs.readFile(grantsFile(machine), "utf8")) as Array<Grant>
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return []
    throw e
  }
}

/**
 * Writes a file of the runtime directory whole: mode 0600, given to `owner` (before it appears)
 * when there is one, then renamed over `file`, so a reader sees the old content or the new.
 */
export const writePrivateFile = async (file: string, content: string, owner?: { readonly uid: number; readonly gid: number }): Promise<void> => {
  const tmp = `${file}.${process.pid}.tmp`
  await fs.writeFile(tmp, content, { mode: 0o600 })
  if (owner !== undefined) await fs.chown(tmp, owner.uid, owner.gid)
  await fs.rename(tmp, file)
}

const writeGrants = async (machine: string, grants: ReadonlyArray<Grant>): Promise<void> => {
  const file = grantsFile(machine)
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  await writePrivateFile(file, JSON.stringify(grants) + "\n")
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The vfio group node (`/dev/vfio/<n>`) of a mediated device, when the device exists. */
const vfioNodeOf = async (id: string): Promise<string | undefined> => {
  try {
    const group = await fs.readlink(path.join(sysfsRoot(), "bus", "mdev", "devices", id, "iommu_group"))
    return path.join("/dev/vfio", path.basename(group))
  } catch {
    return undefined
  }
}

/** The user an unprivileged machine runs as; fails clearly when the host has no such user. */
export const machineUser = (c: Composed) => Effect.flatMap(hostUsers, (users) => users.lookup(c.definition.privileges.user))

/** Prepare's part for an unprivileged machine (see the module comment). */
export const grantMachine = (host: Host, c: Composed) =>
  Effect.gen(function*() {
    const name = c.machine.name
    const user: HostUser = yield* machineUser(c)
    const gid = c.definition.privileges.filesystem.group.id
    const dir = runtimeDirOf(name, runDir())
    yield* Effect.tryPromise({
      try: () => fs.chown(dir, user.uid, gid),
      catch: (e) => new AccessGrantError({ machine: name, path: dir, reason: reason(e) })
    })
    const targets: Array<string> = (yield* machineFilesOf(host, c)).filter((f) => f.writable).map((f) => f.path)
    for (const d of c.definition.devices) {
      const node = yield* Effect.promise(() => vfioNodeOf(d.id))
      if (node !== undefined) targets.push(node)
    }
    const who = { uid: user.uid, gids: [gid, user.gid] }
    for (const target of [...new Set(targets)]) {
      yield* Effect.tryPromise({
        try: async () => {
          // Root follows the path: the machine's user must not be able to swap a symlink into it
          // (pointing at, say, /etc/shadow) before the next prepare.
          const writable = await writableAncestor(target, who)
          if (writable !== undefined) throw new Error(`directory ${writable} is writable by the machine's user or group; refusing to grant access through it`)
          const st = await fs.stat(target)
          const grants = await readGrants(name)
          // Recorded once: a second prepare (a restart without teardown) keeps the original.
          if (!grants.some((g) => g.path === target)) {
            grants.push({ path: target, gid: st.gid, mode: st.mode & 0o7777 })
            await writeGrants(name, grants)
          }
          await fs.chown(target, -1, gid)
          await fs.chmod(target, (st.mode & 0o7777) | 0o060)
        },
        catch: (e) => new AccessGrantError({ machine: name, path: target, reason: reason(e) })
      })
      yield* Console.log(`${name}: ${target}: group ${gid} may read and write`)
    }
    const links = yield* netLinks
    for (const conn of c.definition.connections) {
      const network = host.config.network[conn.network]
      if (network === undefined) continue
      const tap = tapName(name, conn.name)
      yield* links.createTap(tap, { uid: user.uid, gid })
      yield* links.attach(tap, network.device)
      yield* Console.log(`${name}: ${tap}: created for ${user.name}, enabled on ${network.device}`)
    }
  })

/** Teardown's part for an unprivileged machine: every step is tried; returns the failure lines. */
export const revokeMachine = (c: Composed) =>
  Effect.gen(function*() {
    const name = c.machine.name
    const failures: Array<string> = []
    const fail = (line: string) => Effect.sync(() => failures.push(line)).pipe(Effect.zipRight(Console.error(line)))
    const links = yield* netLinks
    for (const conn of c.definition.connections) {
      const tap = tapName(name, conn.name)
      const removed = yield* Effect.either(links.remove(tap))
      if (Either.isLeft(removed)) yield* fail(`${name}: ${tap}: failed to delete: ${removed.left.message}`)
      else if (removed.right) yield* Console.log(`${name}: ${tap}: deleted`)
    }
    const grants = yield* Effect.either(Effect.tryPromise(() => readGrants(name)))
    if (Either.isLeft(grants)) {
      yield* fail(`${name}: cannot read ${grantsFile(name)}: ${reason(grants.left.error)}`)
      return failures
    }
    const kept: Array<Grant> = []
    for (const g of grants.right) {
      const restored = yield* Effect.either(Effect.tryPromise(async () => {
        await fs.chown(g.path, -1, g.gid)
        await fs.chmod(g.path, g.mode)
      }))
      if (Either.isRight(restored)) yield* Console.log(`${name}: ${g.path}: group ${g.gid} and mode ${g.mode.toString(8).padStart(4, "0")} restored`)
      else if ((restored.left.error as NodeJS.ErrnoException).code !== "ENOENT") {
        kept.push(g)
        yield* fail(`${name}: ${g.path}: failed to restore group and mode: ${reason(restored.left.error)}`)
      }
    }
    yield* Effect.promise(() => (kept.length > 0 ? writeGrants(name, kept) : fs.rm(grantsFile(name), { force: true })))
    return failures
  })

/**
 * The first directory on the way to `target` (its parents, and symlinked files' link directory)
 * that `who` could write to, ignoring sticky directories such as /tmp (whose entries only their
 * owners may replace); undefined when there is none.
 */
const writableAncestor = async (target: string, who: { uid: number; gids: ReadonlyArray<number> }): Promise<string | undefined> => {
  for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
    const st = await fs.stat(dir)
    if ((st.mode & 0o1000) === 0 && permits(st, who, 2)) return dir
    if (dir === path.dirname(dir)) return undefined
  }
}

/** Whether `who` may access a node with the given permission bits (4 read, 2 write, 1 search), ACLs aside. */
const permits = (st: { uid: number; gid: number; mode: number }, who: { uid: number; gids: ReadonlyArray<number> }, bits: number): boolean => {
  const shift = st.uid === who.uid ? 6 : who.gids.includes(st.gid) ? 3 : 0
  return ((st.mode >> shift) & bits) === bits
}

/**
 * Why an unprivileged machine's QEMU could not reach its files, one line per problem (empty when
 * every file is reachable): every parent directory must be searchable by the user or the
 * machine's group, read-only files readable; writable files only need to exist (prepare gives
 * the group read and write access). `user` is undefined when the host has no such user: then
 * only the machine's group counts. POSIX ACLs are not consulted.
 */
export const unreachableFiles = (host: Host, c: Composed, user: HostUser | undefined) =>
  Effect.flatMap(machineFilesOf(host, c), (files) => Effect.promise(async () => {
    const gid = c.definition.privileges.filesystem.group.id
    const who = { uid: user?.uid ?? -1, gids: user === undefined ? [gid] : [gid, user.gid] }
    const problems: Array<string> = []
    for (const f of files) {
      let st: { uid: number; gid: number; mode: number }
      try {
        st = await fs.stat(f.path)
      } catch (e) {
        problems.push(`${f.what}: ${f.path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : reason(e)}`)
        continue
      }
      let blocked: string | undefined
      for (let dir = path.dirname(f.path); ; dir = path.dirname(dir)) {
        const d = await fs.stat(dir).catch(() => undefined)
        if (d !== undefined && !permits(d, who, 1)) blocked = dir
        if (dir === path.dirname(dir)) break
      }
      if (blocked !== undefined) problems.push(`${f.what}: ${f.path}: directory ${blocked} is not searchable by the machine's user or group`)
      else if (!f.writable && !permits(st, who, 4)) problems.push(`${f.what}: ${f.path}: not readable by the machine's user or group`)
    }
    return problems
  }))

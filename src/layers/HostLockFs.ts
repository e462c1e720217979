/**
 * `HostLock` with lock files: `<runtimeDir>/.locks/<machine>.lock` (folder 0700, file 0600),
 * holding `{"pid","start","token","machine","acquiredAt"}`.
 *
 * - Taking: the record is written to a private temporary file, then hard-linked to the lock path
 *   (atomic, fails if the lock exists), so a lock file is never seen half-written.
 * - Waiting: polls until free, bounded by `timeout`.
 * - Stale locks: a holder whose PID is gone, or whose PID now belongs to a process started at
 *   another time (PID reuse, checked via /proc/<pid>/stat), is broken by renaming its file away
 *   and removing it only if it is still the record judged stale.
 * - Releasing: on scope exit, the file is removed if it still carries our token.
 */
import { randomBytes } from "../domain/NodeBuiltins.js"
import * as fs from "node:fs/promises"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { HostLock, HostLockIoError, HostLockTimeoutError } from "../services/HostLock.js"
import type { HostLockShape } from "../services/HostLock.js"
import { traced } from "./Traced.js"

export interface Options {
  /** The runtime directory. Default `/run/machina`. */
  readonly runtimeDir?: string
  /** Bound on waiting for a held lock. Default 30 s. */
  readonly timeout?: Duration.DurationInput
  /** Poll interval while waiting. Default 50 ms. */
  readonly pollInterval?: Duration.DurationInput
}

interface Holder {
  readonly pid: number
  readonly start: string | null
  readonly token: string
}

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** A file name for any machine name: keeps `[A-Za-z0-9_.-]`, escapes the rest as `%XX`. */
export const lockFileName = (machine: string): string =>
  `${Array.from(new TextEncoder().encode(machine), (byte) => {
    const c = String.fromCharCode(byte)
    return /[A-Za-z0-9_.-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }).join("")}.lock`

/** The process's start time (clock ticks since boot, /proc/<pid>/stat field 22), if readable. */
const startTimeOf = (pid: number): string | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null
  } catch {
    return null
  }
}

const isAlive = (holder: Holder): boolean => {
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    if (errnoOf(error) !== "EPERM") return false
  }
  const start = startTimeOf(holder.pid)
  return holder.start === null || start === null || start === holder.start
}

const parseHolder = (text: string): Holder | undefined => {
  try {
    const value = JSON.parse(text) as Partial<Holder>
    return typeof value.pid === "number" && Number.isInteger(value.pid) && value.pid > 0 && typeof value.token === "string"
      ? { pid: value.pid, start: typeof value.start === "string" ? value.start : null, token: value.token }
      : undefined
  } catch {
    return undefined
  }
}

export const make = (options: Options = {}): Effect.Effect<HostLockShape> =>
  Effect.sync(() => {
    const runtimeDir = path.resolve(options.runtimeDir ?? "/run/machina")
    const locksDir = path.join(runtimeDir, ".locks")
    const timeout = Duration.decode(options.timeout ?? "30 seconds")
    const pollInterval = Duration.decode(options.pollInterval ?? "50 millis")

    const io = <A>(operation: string, file: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) => new HostLockIoError({ operation, path: file, detail: describe(cause), cause })
      })

    /** Reads a lock file; undefined when it does not exist. */
    const readLock = (file: string) =>
      Effect.tryPromise({ try: () => fs.readFile(file, "utf8"), catch: (cause) => cause }).pipe(
        Effect.catchAll((cause) =>
          errnoOf(cause) === "ENOENT"
            ? Effect.succeed(undefined)
            : Effect.fail(new HostLockIoError({ operation: "read", path: file, detail: describe(cause), cause }))
        )
      )

    /** Creates the lock file atomically; false when it already exists. */
    const tryCreate = (file: string, record: string, token: string) =>
      io("create", file, async () => {
        const temp = `${file}.${process.pid}.${token}.tmp`
        await fs.writeFile(temp, record, { mode: 0o600, flag: "wx" })
        try {
          await fs.link(temp, file)
          return true
        } catch (error) {
          if (errnoOf(error) === "EEXIST") return false
          throw error
        } finally {
          await fs.unlink(temp).catch(() => undefined)
        }
      })

    /** Removes a stale lock if it still holds exactly the record judged stale. */
    const breakStale = (file: string, observed: string, token: string) =>
      io("break stale", file, async () => {
        const aside = `${file}.stale.${token}`
        try {
          await fs.rename(file, aside)
        } catch (error) {
          if (errnoOf(error) === "ENOENT") return
          throw error
        }
        const moved = await fs.readFile(aside, "utf8").catch(() => undefined)
        if (moved !== observed) {
          // Someone replaced the stale lock meanwhile: put theirs back.
          await fs.link(aside, file).catch(() => undefined)
        }
        await fs.unlink(aside).catch(() => undefined)
      })

    const release = (file: string, token: string) =>
      readLock(file).pipe(
        Effect.flatMap((text) =>
          text !== undefined && parseHolder(text)?.token === token
            ? io("remove", file, () => fs.unlink(file))
            : Effect.void
        ),
        Effect.catchAll((error) => Effect.logWarning(error.message))
      )

    const acquire = traced("HostLock.acquire")(function* (machine: string) {
      const file = path.join(locksDir, lockFileName(machine))
      yield* io("create folder for", file, async () => {
        await fs.mkdir(runtimeDir, { recursive: true, mode: 0o755 })
        await fs.mkdir(locksDir, { recursive: true, mode: 0o700 })
        await fs.chmod(locksDir, 0o700)
      })
      const token = randomBytes(12).toString("hex")
      const record = JSON.stringify({
        pid: process.pid,
        start: startTimeOf(process.pid),
        token,
        machine,
        acquiredAt: new Date().toISOString()
      })
      const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(timeout)
      let holderPid: number | undefined
      for (;;) {
        const taken = yield* Effect.uninterruptible(
          tryCreate(file, record, token).pipe(
            Effect.tap((ok) => (ok ? Effect.addFinalizer(() => release(file, token)) : Effect.void))
          )
        )
        if (taken) return
        if ((yield* Clock.currentTimeMillis) >= deadline) {
          return yield* new HostLockTimeoutError({
            machine,
            path: file,
            timeoutMillis: Duration.toMillis(timeout),
            ...(holderPid === undefined ? {} : { holderPid })
          })
        }
        const text = yield* readLock(file)
        if (text === undefined) continue
        const holder = parseHolder(text)
        holderPid = holder?.pid
        if (holder === undefined || !isAlive(holder)) {
          yield* breakStale(file, text, token)
          continue
        }
        yield* Effect.sleep(pollInterval)
      }
    })

    const holder = (machine: string) =>
      Effect.map(readLock(path.join(locksDir, lockFileName(machine))), (text) => {
        const h = text === undefined ? undefined : parseHolder(text)
        return h !== undefined && h.pid !== process.pid && isAlive(h) ? Option.some(h.pid) : Option.none<number>()
      })

    return { acquire, holder } satisfies HostLockShape
  })

export const layer = (options: Options = {}): Layer.Layer<HostLock> => Layer.effect(HostLock, make(options))

/**
 * UnitStore over a real directory (default `/etc/systemd/system`).
 *
 * Each file is replaced atomically: its new text goes to a hidden temporary file in the same
 * directory (`.<name>.<random>.tmp`: systemd ignores it, it does not end in `.service`), created
 * exclusively with mode 0644 (set explicitly, whatever the umask), flushed with fsync, then renamed
 * over the unit file; the directory is fsynced afterwards so the rename survives a crash. A failure
 * at any step removes the temporary file. A file whose current bytes equal the new text is left
 * alone (status `unchanged`, not even its mode or time stamps change).
 *
 * Unlike the original (create + truncate + write in place), a crash or a full disk can therefore
 * never leave a truncated unit behind. One consequence: a unit file that is a symbolic link is
 * replaced by a regular file rather than written through.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "../domain/NodeBuiltins.js"
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink } from "node:fs/promises"
import { UNIT_DIR } from "../domain/Paths.js"
import { posixJoin } from "../domain/GoText.js"
import { checkUnitFileName } from "../domain/Unit.js"
import {
  UnitDirectoryMissingError,
  UnitFileError,
  type UnitFile,
  UnitNameInvalidError,
  UnitStore,
  type UnitStoreShape,
  type UnitWriteResult
} from "../services/UnitStore.js"
import { traced } from "./Traced.js"

export interface Options {
  /** The unit directory. Default `/etc/systemd/system`. */
  readonly directory?: string | undefined
  /**
   * Test-only: runs after a temporary file is complete and flushed, just before it is renamed over
   * the unit file. Rejecting simulates a failure at that point (the temporary file is removed and
   * the write fails with that error as its cause).
   */
  readonly beforeRename?: ((temporary: string, target: string) => Promise<void>) | undefined
}

const FILE_MODE = 0o644

/** A short human text for a Node file-system error. */
export const describeFsError = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException
  switch (err?.code) {
    case "ENOENT":
      return "no such file or directory"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory"
    case "ENOTDIR":
      return "not a directory"
    case "ENOSPC":
      return "no space left on device"
    case "EROFS":
      return "read-only file system"
    case "EDQUOT":
      return "disk quota exceeded"
    default:
      return err instanceof Error ? err.message : String(e)
  }
}

/** `<unit>.d/<name>.conf`: a drop-in of a unit (systemd.unit(5)), written and removed like units. */
const DROP_IN = /^([^/]+)\.d\/([A-Za-z0-9_.@-]+\.conf)$/

/** The folder of a drop-in name, relative to the unit directory; undefined for a unit file name. */
export const dropInFolder = (name: string): string | undefined => {
  const m = DROP_IN.exec(name)
  return m === null ? undefined : `${m[1]}.d`
}

/** Checks one unit file name, or drop-in name `<unit>.d/<name>.conf`. */
export const validateUnitName = (name: string): Effect.Effect<string, UnitNameInvalidError> => {
  const dropIn = DROP_IN.exec(name)
  const reason = checkUnitFileName(dropIn === null ? name : dropIn[1]!)
  return reason === undefined ? Effect.succeed(name) : Effect.fail(new UnitNameInvalidError({ name, reason }))
}

/** Checks every name of a batch before anything is written; a name given twice is refused. */
export const validateUnitFiles = (units: ReadonlyArray<UnitFile>): Effect.Effect<void, UnitNameInvalidError> =>
  Effect.gen(function*() {
    const seen = new Set<string>()
    for (const unit of units) {
      yield* validateUnitName(unit.name)
      if (seen.has(unit.name)) {
        return yield* new UnitNameInvalidError({
          name: unit.name,
          reason: `unit name ${JSON.stringify(unit.name)} is given more than once`
        })
      }
      seen.add(unit.name)
    }
  })

/** A unit file name `<prefix>...service`, not hidden. */
export const matchesUnitPrefix = (name: string, prefix: string): boolean =>
  !name.startsWith(".") && name.startsWith(prefix) && name.endsWith(".service") && name.length > prefix.length + ".service".length

/** The current bytes of a file, or undefined when it does not exist. */
const readIfExists = async (file: string): Promise<Buffer | undefined> => {
  try {
    return await readFile(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}

/** Writes `content` to a fresh temporary file beside `target` and renames it over `target`. */
const replaceAtomically = async (
  unitDirectory: string,
  name: string,
  target: string,
  content: Buffer,
  beforeRename: Options["beforeRename"]
): Promise<void> => {
  const folder = dropInFolder(name)
  const directory = folder === undefined ? unitDirectory : posixJoin(unitDirectory, folder)
  if (folder !== undefined) await mkdir(directory, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e
  })
  const temporary = posixJoin(directory, `.${name.slice(name.lastIndexOf("/") + 1)}.${randomBytes(6).toString("hex")}.tmp`)
  let created = false
  try {
    const handle = await open(temporary, "wx", FILE_MODE)
    created = true
    try {
      await handle.writeFile(content)
      await handle.chmod(FILE_MODE)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (beforeRename !== undefined) await beforeRename(temporary, target)
    await rename(temporary, target)
    created = false
  } finally {
    if (created) await unlink(temporary).catch(() => undefined)
  }
  // Make the rename durable; a directory that cannot be fsynced is not an error worth failing for.
  const dir = await open(directory, "r").catch(() => undefined)
  if (dir !== undefined) {
    await dir.sync().catch(() => undefined)
    await dir.close().catch(() => undefined)
  }
}

export const make = (options: Options = {}): Effect.Effect<UnitStoreShape, UnitDirectoryMissingError> =>
  Effect.gen(function*() {
    const directory = options.directory ?? UNIT_DIR
    const isDirectory = yield* Effect.promise(() => stat(directory).then((s) => s.isDirectory(), () => false))
    if (!isDirectory) return yield* new UnitDirectoryMissingError({ directory })
    const pathOf = (name: string) => posixJoin(directory, name)

    const read = traced("UnitStore.read")(function*(unitName: string) {
      yield* validateUnitName(unitName)
      const file = pathOf(unitName)
      const bytes = yield* Effect.tryPromise({
        try: () => readIfExists(file),
        catch: (cause) => new UnitFileError({ file, operation: "read", reason: describeFsError(cause), cause })
      })
      return bytes === undefined ? Option.none() : Option.some(bytes.toString("utf8"))
    })

    const writeOne = traced("UnitStore.writeOne")(function*(unit: UnitFile) {
      const file = pathOf(unit.name)
      const content = Buffer.from(unit.content, "utf8")
      const fail = (cause: unknown) =>
        new UnitFileError({ file, operation: "write", reason: describeFsError(cause), cause })
      const current = yield* Effect.tryPromise({ try: () => readIfExists(file), catch: fail })
      if (current !== undefined && current.equals(content)) {
        return { name: unit.name, path: file, status: "unchanged" } satisfies UnitWriteResult
      }
      yield* Effect.tryPromise({
        try: () => replaceAtomically(directory, unit.name, file, content, options.beforeRename),
        catch: fail
      })
      return {
        name: unit.name,
        path: file,
        status: current === undefined ? "created" : "changed"
      } satisfies UnitWriteResult
    })

    const writeAll = traced("UnitStore.writeAll")(function*(units: ReadonlyArray<UnitFile>) {
      yield* validateUnitFiles(units)
      return yield* Effect.forEach(units, writeOne)
    })

    const remove = traced("UnitStore.remove")(function*(unitName: string) {
      yield* validateUnitName(unitName)
      const file = pathOf(unitName)
      return yield* Effect.tryPromise({
        try: () =>
          unlink(file).then(
            async () => {
              // An emptied drop-in folder goes too (a folder that still holds files stays).
              const folder = dropInFolder(unitName)
              if (folder !== undefined) await rmdir(pathOf(folder)).catch(() => undefined)
              return true
            },
            (e: NodeJS.ErrnoException) => {
              if (e.code === "ENOENT") return false
              throw e
            }
          ),
        catch: (cause) => new UnitFileError({ file, operation: "remove", reason: describeFsError(cause), cause })
      })
    })

    const list = traced("UnitStore.list")(function*(prefix: string) {
      const names = yield* Effect.tryPromise({
        try: () => readdir(directory),
        catch: (cause) => new UnitFileError({ file: directory, operation: "list", reason: describeFsError(cause), cause })
      })
      return names.filter((n) => matchesUnitPrefix(n, prefix)).sort()
    })

    return { directory, read, writeAll, remove, list } satisfies UnitStoreShape
  })

export const layer = (options: Options = {}): Layer.Layer<UnitStore, UnitDirectoryMissingError> =>
  Layer.effect(UnitStore, make(options))

/** ConfigFiles on the local filesystem: versions are SHA-256 hashes, writes are temp + rename. */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { nodeCrypto, randomBytes } from "../domain/NodeBuiltins.js"
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { ConfigConflictError, ConfigFiles, type ConfigFilesShape, ConfigWriteError } from "../services/ConfigFiles.js"
import { traced } from "./Traced.js"

export const versionOf = (bytes: Uint8Array | string): string => nodeCrypto().createHash("sha256").update(bytes).digest("hex")

const reason = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException
  switch (err?.code) {
    case "ENOENT":
      return "directory not found"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory, expected a file"
    case "ENOSPC":
      return "no space left on device"
    default:
      return err instanceof Error ? err.message : String(e)
  }
}

const current = async (file: string): Promise<{ bytes: Buffer; version: string } | null> => {
  try {
    const bytes = await readFile(file)
    return { bytes, version: versionOf(bytes) }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null
    throw e
  }
}

class Conflict {
  constructor(readonly actual: string | null) {}
}

const writeFile = async (file: string, text: string, expected: string | null): Promise<string> => {
  const now = await current(file)
  if ((now?.version ?? null) !== expected) throw new Conflict(now?.version ?? null)
  const mode = now === null ? 0o644 : (await stat(file)).mode & 0o7777
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`)
  const handle = await open(temporary, "wx", mode)
  try {
    try {
      await handle.writeFile(text, "utf8")
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (expected === null) {
      // link() fails when the name exists: a file created meanwhile is never replaced.
      try {
        await link(temporary, file)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Conflict((await current(file))?.version ?? null)
        throw e
      }
    } else {
      // Checked again just before the rename, to keep the window for a lost update small.
      const again = await current(file)
      if ((again?.version ?? null) !== expected) throw new Conflict(again?.version ?? null)
      await rename(temporary, file)
    }
  } finally {
    await unlink(temporary).catch(() => undefined)
  }
  return versionOf(text)
}

export const make: Effect.Effect<ConfigFilesShape> = Effect.sync(() => ({
  read: traced("ConfigFiles.read")(function*(file: string) {
    const now = yield* Effect.tryPromise({ try: () => current(file), catch: (e) => new ConfigWriteError({ file, reason: reason(e) }) })
    return { file, text: now === null ? "" : now.bytes.toString("utf8"), version: now?.version ?? null }
  }),
  write: traced("ConfigFiles.write")(function*(file: string, text: string, expected: string | null) {
    return yield* Effect.tryPromise({
      try: () => writeFile(file, text, expected),
      catch: (e) =>
        e instanceof Conflict
          ? new ConfigConflictError({ file, expected, actual: e.actual })
          : new ConfigWriteError({ file, reason: reason(e) })
    })
  })
}))

export const layer: Layer.Layer<ConfigFiles> = Layer.effect(ConfigFiles, make)

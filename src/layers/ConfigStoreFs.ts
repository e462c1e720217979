/** ConfigStore over a configuration directory (`/etc/machina` layout). */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { randomBytes } from "node:crypto"
import { open, readdir, readFile, rename, stat, unlink } from "node:fs/promises"
import { decodeHost, decodeMachine, HOST_FILE, MACHINE_DIR, MACHINE_SUFFIX, machineNameOfFile } from "../domain/ConfigFiles.js"
import { checkName } from "../domain/Names.js"
import { CONF_DIR } from "../domain/Paths.js"
import { posixJoin } from "../domain/Pattern.js"
import { ConfigReadError, ConfigStore, type ConfigStoreShape, ConfigWriteError, MachineNameError } from "../services/ConfigStore.js"

export interface Options {
  /** The configuration directory; default `/etc/machina`, or `.` when that is not a directory. */
  readonly confDir?: string | undefined
}

const isDirectory = (path: string) =>
  Effect.promise(() => stat(path).then((s) => s.isDirectory(), () => false))

const describe = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException
  switch (err?.code) {
    case "ENOENT":
      return "file not found"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory, expected a file"
    default:
      return err instanceof Error ? err.message : String(e)
  }
}

const read = (file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) => new ConfigReadError({ file, reason: describe(e) })
  })

export const validateMachineName = (name: string): Effect.Effect<string, MachineNameError> => {
  const problem = checkName("machine", name)
  return problem === undefined ? Effect.succeed(name) : Effect.fail(new MachineNameError({ name, reason: problem }))
}

/** Writes `text` to a temporary file beside `file` (keeping the old file's mode, else 0644) and renames it over `file`. */
const replaceFile = async (file: string, text: string): Promise<void> => {
  const mode = await stat(file).then((s) => s.mode & 0o7777, () => 0o644)
  const slash = file.lastIndexOf("/")
  const temporary = `${file.slice(0, slash + 1)}.${file.slice(slash + 1)}.${randomBytes(6).toString("hex")}.tmp`
  let created = false
  try {
    const handle = await open(temporary, "wx", mode)
    created = true
    try {
      await handle.writeFile(text)
      await handle.chmod(mode)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, file)
    created = false
  } finally {
    if (created) await unlink(temporary).catch(() => undefined)
  }
}

export const make = (options: Options = {}): Effect.Effect<ConfigStoreShape> =>
  Effect.gen(function*() {
    // The original falls back to the current directory when /etc/machina (or its machine.conf.d)
    // is not a directory, deciding each independently (config.md §1).
    const explicit = options.confDir !== undefined && options.confDir !== ""
    const confDir = explicit ? options.confDir! : (yield* isDirectory(CONF_DIR)) ? CONF_DIR : "."
    const defaultMachineDir = posixJoin(CONF_DIR, MACHINE_DIR)
    const machineDir = explicit
      ? posixJoin(confDir, MACHINE_DIR)
      : (yield* isDirectory(defaultMachineDir)) ? defaultMachineDir : MACHINE_DIR
    const hostFile = posixJoin(confDir, HOST_FILE)
    const machineFile = (name: string) => `${machineDir}/${name}${MACHINE_SUFFIX}`
    return {
      location: confDir,
      hostFile,
      machineFile,
      loadHost: read(hostFile).pipe(Effect.flatMap((text) => Either.match(decodeHost(text, hostFile), { onLeft: Effect.fail, onRight: Effect.succeed }))),
      loadMachine: (name) =>
        validateMachineName(name).pipe(
          Effect.flatMap(() => read(machineFile(name))),
          Effect.flatMap((text) => decodeMachine(text, machineFile(name), name))
        ),
      listMachines: Effect.tryPromise({
        try: () => readdir(machineDir),
        catch: (e) => new ConfigReadError({ file: machineDir, reason: describe(e) })
      }).pipe(
        Effect.map((entries) =>
          entries
            .map(machineNameOfFile)
            .filter((n): n is string => n !== undefined)
            .sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))))
        )
      ),
      readMachineText: (name) => Effect.flatMap(validateMachineName(name), () => read(machineFile(name))),
      writeMachineText: (name, text) =>
        Effect.flatMap(validateMachineName(name), () =>
          Effect.tryPromise({
            try: () => replaceFile(machineFile(name), text),
            catch: (e) => new ConfigWriteError({ file: machineFile(name), operation: "write", reason: describe(e) })
          })),
      removeMachine: (name) =>
        Effect.flatMap(validateMachineName(name), () =>
          Effect.tryPromise({
            try: () =>
              unlink(machineFile(name)).then(() => true, (e: NodeJS.ErrnoException) => {
                if (e.code === "ENOENT") return false
                throw e
              }),
            catch: (e) => new ConfigWriteError({ file: machineFile(name), operation: "remove", reason: describe(e) })
          }))
    } satisfies ConfigStoreShape
  })

export const layer = (options: Options = {}): Layer.Layer<ConfigStore> => Layer.effect(ConfigStore, make(options))

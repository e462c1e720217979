/** ConfigStore over a configuration directory (`/etc/machina` layout). */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type { Machine } from "../domain/ConfigFiles.js"
import { randomBytes } from "../domain/NodeBuiltins.js"
import { promises as fsPromises, readdir, readFileSync, stat, type Stats } from "node:fs"
import { resolve } from "node:path"
import { decodeHost, decodeMachine, HOST_FILE, MACHINE_DIR, MACHINE_SUFFIX, machineNameOfFile } from "../domain/ConfigFiles.js"
import { checkName } from "../domain/Names.js"
import { CONF_DIR } from "../domain/Paths.js"
import { posixJoin } from "../domain/GoText.js"
import { type ConfigError, ConfigReadError, ConfigStore, type ConfigStoreShape, ConfigWriteError, MachineNameError } from "../services/ConfigStore.js"

export interface Options {
  /**
   * The configuration directory; default `/etc/machina`, or `.` when that is not a directory
   * (the original's current-directory fallback, config.md §1; the machine directory falls back to
   * `./machine.conf.d` independently).
   */
  readonly confDir?: string | undefined
}

/**
 * What every command (and hook) reads, through node:fs's callbacks: node:fs/promises, and the
 * modules it loads, cost a millisecond or two to load and are loaded only to write (`fs.promises`
 * loads them when first read, not when node:fs loads).
 */
const statOf = (path: string) => new Promise<Stats>((resolve, reject) => stat(path, (e, s) => (e === null ? resolve(s) : reject(e))))
const namesIn = (dir: string) =>
  new Promise<Array<string>>((resolve, reject) => readdir(dir, (e, names) => (e === null ? resolve(names) : reject(e))))

const isDirectory = (path: string) =>
  Effect.promise(() => statOf(path).then((s) => s.isDirectory(), () => false))

export const FILE_NOT_FOUND = "file not found"

const describe = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException
  switch (err?.code) {
    case "ENOENT":
      return FILE_NOT_FOUND
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory, expected a file"
    default:
      return err instanceof Error ? err.message : String(e)
  }
}

/**
 * A configuration file's text, read synchronously: a small local file, where the asynchronous
 * read's four thread-pool round trips (open, stat, read, close) cost more than the read itself
 * (`generate` of 1,000 machines reads 1,000 files; every hook reads two).
 */
const read = (file: string) =>
  Effect.zipRight(
    Effect.logDebug(`reading ${file}`),
    Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (e) => new ConfigReadError({ file, reason: describe(e) })
    })
  )

export const validateMachineName = (name: string): Effect.Effect<string, MachineNameError> => {
  const problem = checkName("machine", name)
  return problem === undefined ? Effect.succeed(name) : Effect.fail(new MachineNameError({ name, reason: problem }))
}

/**
 * `loadMachine` for an argument that is either a machine's file name or its effective name (its
 * JSON `name`, config.md §2): the file `<arg>.conf.json` when there is one, else the one machine
 * of the host whose effective name is `arg`. Both resolve to the same machine; two files claiming
 * the same name are an error naming both.
 */
export const loadByFileOrName = (
  loadFile: (fileName: string) => Effect.Effect<Machine, ConfigError>,
  listFiles: Effect.Effect<ReadonlyArray<string>, ConfigReadError>
) =>
(name: string): Effect.Effect<Machine, ConfigError> =>
  validateMachineName(name).pipe(
    Effect.zipRight(loadFile(name)),
    Effect.catchIf(
      (e): e is ConfigReadError => e._tag === "ConfigReadError" && e.reason === FILE_NOT_FOUND,
      (notFound) =>
        Effect.gen(function*() {
          const files = yield* Effect.orElseSucceed(listFiles, (): ReadonlyArray<string> => [])
          const matches: Array<Machine> = []
          for (const file of files) {
            if (file === name) continue
            const loaded = yield* Effect.either(loadFile(file))
            if (Either.isRight(loaded) && loaded.right.name === name) matches.push(loaded.right)
          }
          if (matches.length === 1) return matches[0]!
          if (matches.length > 1) {
            return yield* new MachineNameError({
              name,
              reason: `machine name ${JSON.stringify(name)} is given by several files (${matches.map((m) => m.file).join(", ")}); name the machine by its file`
            })
          }
          return yield* notFound
        })
    )
  )

/** Writes `text` to a temporary file beside `file` (keeping the old file's mode, else 0644) and renames it over `file`. */
const replaceFile = async (file: string, text: string): Promise<void> => {
  const { open, rename, unlink } = fsPromises
  const mode = await statOf(file).then((s) => s.mode & 0o7777, () => 0o644)
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
    const absolute = resolve(confDir)
    const bootConfig = machineDir === MACHINE_DIR && confDir === CONF_DIR
      ? {
        problem: `the host file is read from ${CONF_DIR} but machine files from ./${MACHINE_DIR} ` +
          `(${defaultMachineDir} is not a directory), which the unit's hooks cannot find at boot`
      }
      : absolute === CONF_DIR
      ? undefined
      : { directory: absolute }
    const machineFile = (name: string) => `${machineDir}/${name}${MACHINE_SUFFIX}`
    /** A missing configuration directory: where machina looked and how to point it elsewhere. */
    const whereToLook = (error: ConfigReadError) =>
      Effect.flatMap(isDirectory(confDir), (exists): Effect.Effect<never, ConfigReadError> =>
        Effect.fail(
          error.reason !== "file not found" || (exists && error.file === hostFile)
            ? error
            : new ConfigReadError({
              file: error.file,
              reason: explicit
                ? `file not found (configuration directory ${confDir}${exists ? "" : " does not exist"}; check --config-dir or MACHINA_CONFIG_DIR)`
                : `file not found (no configuration in ${CONF_DIR} nor the current directory; create it with machina install, or use --config-dir DIR)`
            })
        ))
    const listMachines = Effect.zipRight(Effect.logDebug(`listing machines in ${machineDir}`), Effect.tryPromise({
      try: () => namesIn(machineDir),
      catch: (e) => new ConfigReadError({ file: machineDir, reason: describe(e) })
    })).pipe(
      Effect.catchAll(whereToLook),
      Effect.map((entries) =>
        entries
          .map(machineNameOfFile)
          .filter((n): n is string => n !== undefined)
          .sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))))
      )
    )
    const loadFile = (name: string) =>
      read(machineFile(name)).pipe(Effect.flatMap((text) => decodeMachine(text, machineFile(name), name)))
    /** An unknown machine: name the machines there are. */
    const knownMachines = (error: ConfigReadError) =>
      error.reason !== "file not found"
        ? Effect.fail(error)
        : Effect.flatMap(Effect.either(listMachines), (names) =>
          Effect.fail(
            Either.isLeft(names)
              ? names.left
              : new ConfigReadError({
                file: error.file,
                reason: names.right.length === 0
                  ? `file not found (there are no machines in ${machineDir})`
                  : `file not found (known machines: ${names.right.join(", ")})`
              })
          ))
    return {
      location: confDir,
      ...(bootConfig === undefined ? {} : { bootConfig }),
      hostFile,
      machineFile,
      loadHost: read(hostFile).pipe(
        Effect.catchAll(whereToLook),
        Effect.flatMap((text) => Either.match(decodeHost(text, hostFile), { onLeft: Effect.fail, onRight: Effect.succeed }))
      ),
      readHostText: read(hostFile),
      loadMachine: (name) =>
        loadByFileOrName(loadFile, listMachines)(name).pipe(
          Effect.catchIf((e): e is ConfigReadError => e._tag === "ConfigReadError" && e.file === machineFile(name), knownMachines)
        ),
      listMachines,
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
              fsPromises.unlink(machineFile(name)).then(() => true, (e: NodeJS.ErrnoException) => {
                if (e.code === "ENOENT") return false
                throw e
              }),
            catch: (e) => new ConfigWriteError({ file: machineFile(name), operation: "remove", reason: describe(e) })
          }))
    } satisfies ConfigStoreShape
  })

export const layer = (options: Options = {}): Layer.Layer<ConfigStore> => Layer.effect(ConfigStore, make(options))

/** ConfigStore over a configuration directory (`/etc/machina` layout). */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { readdir, readFile, stat } from "node:fs/promises"
import { decodeHost, decodeMachine, HOST_FILE, MACHINE_DIR, MACHINE_SUFFIX, machineNameOfFile } from "../domain/ConfigFiles.js"
import { checkName } from "../domain/Names.js"
import { CONF_DIR } from "../domain/Paths.js"
import { posixJoin } from "../domain/Pattern.js"
import { ConfigReadError, ConfigStore, type ConfigStoreShape, MachineNameError } from "../services/ConfigStore.js"

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
  Effect.zipRight(
    Effect.logDebug(`reading ${file}`),
    Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: (e) => new ConfigReadError({ file, reason: describe(e) })
    })
  )

export const validateMachineName = (name: string): Effect.Effect<string, MachineNameError> => {
  const problem = checkName("machine", name)
  return problem === undefined ? Effect.succeed(name) : Effect.fail(new MachineNameError({ name, reason: problem }))
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
      try: () => readdir(machineDir),
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
      hostFile,
      machineFile,
      loadHost: read(hostFile).pipe(
        Effect.catchAll(whereToLook),
        Effect.flatMap((text) => Either.match(decodeHost(text, hostFile), { onLeft: Effect.fail, onRight: Effect.succeed }))
      ),
      loadMachine: (name) =>
        validateMachineName(name).pipe(
          Effect.flatMap(() => Effect.catchAll(read(machineFile(name)), knownMachines)),
          Effect.flatMap((text) => decodeMachine(text, machineFile(name), name))
        ),
      listMachines
    } satisfies ConfigStoreShape
  })

export const layer = (options: Options = {}): Layer.Layer<ConfigStore> => Layer.effect(ConfigStore, make(options))

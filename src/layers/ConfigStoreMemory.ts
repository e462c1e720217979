/**
 * ConfigStore holding a whole host in memory: describe a host in code (or from strings) without
 * touching disk. Used for offline host simulation and tests; decoding and validation are the same
 * as for files on disk.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { decodeHost, decodeMachine, HOST_FILE, MACHINE_DIR, MACHINE_SUFFIX } from "../domain/ConfigFiles.js"
import type { Machine } from "../domain/ConfigFiles.js"
import { type ConfigError, ConfigReadError, ConfigStore, type ConfigStoreShape } from "../services/ConfigStore.js"
import { FILE_NOT_FOUND, loadByFileOrName, validateMachineName } from "./ConfigStoreFs.js"

export interface Options {
  /** Shown in messages as the configuration directory. Default `memory:`. */
  readonly location?: string
  /** The host file: JSON text, or a value that is serialised. Absent = missing file. */
  readonly host?: string | unknown
  /** Machine files by machine name: JSON text or values. */
  readonly machines?: Readonly<Record<string, string | unknown>>
}

const text = (doc: string | unknown): string => (typeof doc === "string" ? doc : JSON.stringify(doc))

export const make = (options: Options): ConfigStoreShape => {
  const location = options.location ?? "memory:"
  const hostFile = `${location}/${HOST_FILE}`
  const machineFile = (name: string) => `${location}/${MACHINE_DIR}/${name}${MACHINE_SUFFIX}`
  const machines: Record<string, string | unknown> = { ...(options.machines ?? {}) }
  const has = (name: string) => Object.prototype.hasOwnProperty.call(machines, name)
  const listMachines = Effect.sync(() => Object.keys(machines).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
  const loadFile = (name: string): Effect.Effect<Machine, ConfigError> => {
    const doc = has(name) ? machines[name] : undefined
    return doc === undefined
      ? Effect.fail(new ConfigReadError({ file: machineFile(name), reason: FILE_NOT_FOUND }))
      : decodeMachine(text(doc), machineFile(name), name)
  }
  return {
    location,
    hostFile,
    machineFile,
    loadHost: options.host === undefined
      ? Effect.fail(new ConfigReadError({ file: hostFile, reason: "file not found" }))
      : decodeHost(text(options.host), hostFile),
    readHostText: options.host === undefined
      ? Effect.fail(new ConfigReadError({ file: hostFile, reason: "file not found" }))
      : Effect.sync(() => text(options.host)),
    loadMachine: loadByFileOrName(loadFile, listMachines),
    listMachines,
    readMachineText: (name) =>
      Effect.flatMap(validateMachineName(name), () =>
        has(name) ? Effect.succeed(text(machines[name])) : Effect.fail(new ConfigReadError({ file: machineFile(name), reason: "file not found" }))),
    writeMachineText: (name, content) =>
      Effect.map(validateMachineName(name), () => {
        machines[name] = content
      }),
    removeMachine: (name) =>
      Effect.map(validateMachineName(name), () => {
        const existed = has(name)
        delete machines[name]
        return existed
      })
  }
}

export const layer = (options: Options): Layer.Layer<ConfigStore> => Layer.succeed(ConfigStore, make(options))

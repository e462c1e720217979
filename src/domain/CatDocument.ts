/**
 * `cat --format json` (Output.ts `CatMachine`, `CatHost`): a machine's merged definition in the
 * shape of a machine file (kebab-case keys, unset keys omitted), and the values the text summary
 * (Summary.ts) shows resolved: effective ports, QMP and TPM sockets, and the image files QEMU opens.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Definition, HostFile, isVolumeSet, type Volume } from "./Config.js"
import type { Machine } from "./ConfigFiles.js"
import { type EncodedOf, encodeShape, schemaOf, type Shape, type TypeOf } from "./ConfigShape.js"
import type { CatResolved } from "./Output.js"
import { defined, omitUnset } from "./OutputValues.js"
import { consoleSocketPath, qmpSocketPaths, tpmSocketPath } from "./Paths.js"
import { effectivePort, firstWinsVars, volumeFileName } from "./Pattern.js"

const ZERO_ID = "00000000-0000-0000-0000-000000000000"
/** A value in the file's form (ConfigShape.ts `encodeShape`); Schema throws its report for what is not a value. */
const encoderOf = <S extends Shape>(shape: S) => (value: TypeOf<S>): EncodedOf<S> =>
  encodeShape(shape, value)?.value ?? Schema.encodeSync(schemaOf(shape))(value)
const encodeDefinition = encoderOf(Definition)
const encodeHost = encoderOf(HostFile)

/** The values the summary shows derived from the configuration: effective ports, sockets, files. */
export const resolvedValues = (machine: Machine, d: Definition, host: HostFile): CatResolved => {
  const a = d.attrs
  const port = (enabled: boolean, value: number, pattern: string) => {
    if (!enabled) return {}
    const p = effectivePort(value, pattern, d.vars)
    return Either.isLeft(p) ? { error: p.left.message } : p.right > 0 ? { port: p.right } : {}
  }
  const agent = port(a.agent.qemu.enabled, a.agent.qemu.port, a.agent.qemu.portPattern)
  const spice = port(a.spice.enabled, a.spice.port, a.spice.portPattern)
  const vars = firstWinsVars({ "machine-name": machine.name, "machine-description": machine.description, "machine-id": machine.id }, d.vars)
  const files: Array<NonNullable<CatResolved["files"]>[number]> = []
  const add = (use: "firmware-code" | "firmware-vars" | "kernel" | "initrd" | "tpm-data" | "volume", v: Volume) => {
    if (!isVolumeSet(v)) return
    const head = { use, volume: v.name, storage: v.storage }
    if (!Object.prototype.hasOwnProperty.call(host.storage, v.storage)) {
      return files.push(defined({ ...head, error: `unknown storage pool ${JSON.stringify(v.storage)}` }))
    }
    const path = volumeFileName(host.storage[v.storage]!, (name) => (name === "volume" ? v.name : vars.get(name)), v.name)
    files.push(defined(Either.isLeft(path) ? { ...head, error: path.left.message } : { ...head, path: path.right }))
  }
  if (isVolumeSet(a.firmware.code)) {
    add("firmware-code", a.firmware.code)
    add("firmware-vars", a.firmware.vars)
  }
  if (isVolumeSet(a.boot.kernel)) {
    add("kernel", a.boot.kernel)
    add("initrd", a.boot.initrd)
  }
  if (a.tpm.enabled) add("tpm-data", a.tpm.data)
  for (const v of d.volumes) add("volume", v)
  return defined({
    "qmp-sockets": a.qmp.enabled ? qmpSocketPaths(machine.name, a.qmp.sockets) : undefined,
    "tpm-socket": a.tpm.enabled ? tpmSocketPath(machine.name, a.tpm.socket.path) : undefined,
    "console-socket": a.console.enabled ? consoleSocketPath(machine.name) : undefined,
    "agent-port": agent.port,
    "agent-port-error": agent.error,
    "spice-port": spice.port,
    "spice-port-error": spice.error,
    files: files.length > 0 ? files : undefined
  })
}

/**
 * A machine as `cat --format json` prints it: the merged definition in the shape of a machine
 * file (kebab-case keys, unset keys omitted) after `kind`, `name` and `file`, then `resolved`.
 */
export const machineDocument = (machine: Machine, definition: Definition, host: HostFile): Record<string, unknown> => {
  const resolved = omitUnset(resolvedValues(machine, definition, host)) as Record<string, unknown>
  return {
    ...(omitUnset({
      kind: "machine",
      name: machine.name,
      file: machine.file,
      "file-name": machine.fileName !== machine.name ? machine.fileName : undefined,
      description: machine.description,
      id: machine.id !== ZERO_ID ? machine.id : undefined,
      tags: machine.tags,
      ...encodeDefinition(definition)
    }, (path) => path.length === 1 && path[0] === "vars") as Record<string, unknown>),
    ...(Object.keys(resolved).length > 0 ? { resolved } : {})
  }
}

/** The host file as `cat --format json system` prints it: the file's shape, unset keys omitted. */
export const hostDocument = (file: string, host: HostFile): Record<string, unknown> =>
  omitUnset({ kind: "host", file, ...encodeHost(host) }, (path) => path.length === 3 && path[0] === "tag" && path[2] === "vars") as Record<
    string,
    unknown
  >

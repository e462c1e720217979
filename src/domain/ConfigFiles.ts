/**
 * Turning file contents into validated configuration values: the host file and machine files.
 * Every problem found in a file is reported, each with its file and JSON path.
 */
import * as Either from "effect/Either"
import {
  type Definition,
  decodeDocument,
  HostFile,
  MachineFile,
  parseJsonText,
  type Volume
} from "./Config.js"
import { type ConfigInvalidError, type ConfigIssue, type ConfigWarning, invalid, issue, jsonPath } from "./ConfigIssue.js"
import { checkName, checkVariableName, type NameKind } from "./Names.js"
import { formatUuid, isZeroUuid, parseUuid, type UuidBytes, ZERO_UUID } from "./Uuid.js"
import { formatWwn, isZeroWwn, parseWwn } from "./Wwn.js"

export const MACHINE_SUFFIX = ".conf.json"
export const HOST_FILE = "machina.conf.json"
export const MACHINE_DIR = "machine.conf.d"

/** A decoded, validated host configuration. */
export interface Host {
  readonly file: string
  readonly config: HostFile
  /** What the original ignored silently: unknown keys, data after the JSON value. */
  readonly warnings: ReadonlyArray<ConfigWarning>
}

/** A decoded, validated machine file (not yet merged with its tags). */
export interface Machine {
  /** Path of the file, as shown in messages. */
  readonly file: string
  /** Name derived from the file name (`<name>.conf.json`). */
  readonly fileName: string
  /**
   * The machine's effective name: its JSON `name` when present and non-empty, else the file name
   * (config.md §2). Everything generated uses it: unit, node and tap names, socket paths, the
   * identifier seed.
   */
  readonly name: string
  readonly description: string
  /** Lowercase canonical UUID; the zero UUID when the file has none. */
  readonly id: string
  readonly idBytes: UuidBytes
  readonly tags: ReadonlyArray<string>
  readonly definition: Definition
  /** What the original ignored silently: unknown keys, data after the JSON value. */
  readonly warnings: ReadonlyArray<ConfigWarning>
}

type Issues = Array<ConfigIssue>

const nameIssue = (issues: Issues, file: string, path: ReadonlyArray<PropertyKey>, kind: NameKind, name: string) => {
  const problem = checkName(kind, name)
  if (problem !== undefined) issues.push(issue(file, jsonPath(path), problem))
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/
const PCI_ADDRESS = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/
const SAFE_PATH = /^\/[^\s,"'\\$%;`|&<>]*$/
const SERIAL = /^[A-Za-z0-9_.-]{1,36}$/
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/
const LINE_BREAK = /[\n\r]/
const COMMAND_LINE_FORBIDDEN = /[\n\r"\\]/
const IP_FORBIDDEN = /[\s,]/
const POOL_PATH_FORBIDDEN = /[\n\r,]/

const checkAbsolutePath = (issues: Issues, file: string, path: ReadonlyArray<PropertyKey>, value: string, what: string) => {
  if (!SAFE_PATH.test(value)) {
    issues.push(
      issue(
        file,
        jsonPath(path),
        `${what} ${JSON.stringify(value)} must be an absolute path without whitespace, commas, quotes or shell characters`
      )
    )
  }
}

/** Normalises identifiers inside a volume and reports invalid names. */
const checkVolume = (issues: Issues, file: string, path: ReadonlyArray<PropertyKey>, v: Volume, firmware: boolean): Volume => {
  if (v.name !== "" || !firmware) nameIssue(issues, file, [...path, "name"], "volume", v.name)
  if (v.storage !== "" || !firmware) nameIssue(issues, file, [...path, "storage"], "storage pool", v.storage)
  let wwn = ""
  if (v.wwn !== "") {
    const parsed = parseWwn(v.wwn)
    if (Either.isLeft(parsed)) issues.push(issue(file, jsonPath([...path, "wwn"]), parsed.left.message))
    else if (!isZeroWwn(parsed.right)) wwn = formatWwn(parsed.right)
  }
  if (v.serial !== "" && !SERIAL.test(v.serial)) {
    issues.push(
      issue(file, jsonPath([...path, "serial"]), `serial ${JSON.stringify(v.serial)} must be 1 to 36 letters, digits, '_', '-' or '.'`)
    )
  }
  return { ...v, wwn }
}

/** Validates and normalises a definition (machine or tag). */
export const checkDefinition = (
  issues: Issues,
  file: string,
  base: ReadonlyArray<PropertyKey>,
  d: Definition
): Definition => {
  for (const key of Object.keys(d.vars)) {
    const problem = checkVariableName(key)
    if (problem !== undefined) issues.push(issue(file, jsonPath([...base, "vars", key]), problem))
  }
  const attrs = d.attrs
  const firmwareCode = attrs.firmware.code.name !== "" || attrs.firmware.code.storage !== ""
    ? checkVolume(issues, file, [...base, "attrs", "firmware", "code"], attrs.firmware.code, false)
    : attrs.firmware.code
  const firmwareVars = attrs.firmware.vars.name !== "" || attrs.firmware.vars.storage !== ""
    ? checkVolume(issues, file, [...base, "attrs", "firmware", "vars"], attrs.firmware.vars, false)
    : attrs.firmware.vars
  for (const part of ["kernel", "initrd"] as const) {
    const v = attrs.boot[part]
    if (v.name !== "" || v.storage !== "") checkVolume(issues, file, [...base, "attrs", "boot", part], v, false)
  }
  if (attrs.cpu.processor !== "") {
    nameIssue(issues, file, [...base, "attrs", "cpu", "processor"], "processor", attrs.cpu.processor)
  }
  attrs.qmp.sockets.names.forEach((n, i) =>
    nameIssue(issues, file, [...base, "attrs", "qmp", "sockets", "names", i], "QMP socket", n)
  )
  attrs.qmp.sockets.paths.forEach((p, i) =>
    checkAbsolutePath(issues, file, [...base, "attrs", "qmp", "sockets", "paths", i], p, "QMP socket path")
  )
  if (attrs.tpm.socket.path !== "") {
    checkAbsolutePath(issues, file, [...base, "attrs", "tpm", "socket", "path"], attrs.tpm.socket.path, "TPM socket path")
  }
  if (COMMAND_LINE_FORBIDDEN.test(attrs.boot.append)) {
    issues.push(issue(file, jsonPath([...base, "attrs", "boot", "append"]), "kernel command line must not contain newlines, quotes or backslashes"))
  }
  const volumes = d.volumes.map((v, i) => checkVolume(issues, file, [...base, "volumes", i], v, false))
  d.connections.forEach((c, i) => {
    nameIssue(issues, file, [...base, "connections", i, "name"], "connection", c.name)
    nameIssue(issues, file, [...base, "connections", i, "network"], "network", c.network)
    if (c.mac !== "" && !MAC.test(c.mac)) {
      issues.push(issue(file, jsonPath([...base, "connections", i, "mac"]), `MAC address ${JSON.stringify(c.mac)} must look like 52:54:00:12:34:56`))
    }
    if (c.ip !== "" && IP_FORBIDDEN.test(c.ip)) {
      issues.push(issue(file, jsonPath([...base, "connections", i, "ip"]), `IP ${JSON.stringify(c.ip)} must not contain whitespace or commas`))
    }
  })
  const devices = d.devices.map((dev, i) => {
    nameIssue(issues, file, [...base, "devices", i, "name"], "device", dev.name)
    nameIssue(issues, file, [...base, "devices", i, "class"], "device class", dev.class)
    let id = ""
    if (dev.id !== "") {
      const parsed = parseUuid(dev.id)
      if (Either.isLeft(parsed)) issues.push(issue(file, jsonPath([...base, "devices", i, "id"]), parsed.left.message))
      else if (!isZeroUuid(parsed.right)) id = formatUuid(parsed.right)
    }
    return { ...dev, id }
  })
  return {
    ...d,
    attrs: { ...attrs, firmware: { code: firmwareCode, vars: firmwareVars } },
    volumes,
    devices
  }
}

const withIssues = <A>(issues: ReadonlyArray<ConfigIssue>, value: A): Either.Either<A, ConfigInvalidError> =>
  issues.length > 0 ? Either.left(invalid(issues)) : Either.right(value)

/** Decodes and validates the host file's text. */
export const decodeHost = (text: string, file: string): Either.Either<Host, ConfigInvalidError> => {
  const json = parseJsonText(text, file)
  if (Either.isLeft(json)) return Either.left(invalid([json.left]))
  const decoded = decodeDocument(HostFile, json.right.value, file)
  if (Either.isLeft(decoded)) return Either.left(invalid(decoded.left))
  const host = decoded.right.value
  const warnings = [...json.right.warnings, ...decoded.right.warnings]
  const issues: Issues = []
  for (const name of Object.keys(host.processor)) nameIssue(issues, file, ["processor", name], "processor", name)
  for (const [name, pool] of Object.entries(host.storage)) {
    nameIssue(issues, file, ["storage", name], "storage pool", name)
    if (POOL_PATH_FORBIDDEN.test(pool.path) || POOL_PATH_FORBIDDEN.test(pool.pattern)) {
      issues.push(issue(file, jsonPath(["storage", name]), "storage path and pattern must not contain commas or newlines"))
    }
  }
  for (const [name, net] of Object.entries(host.network)) {
    nameIssue(issues, file, ["network", name], "network", name)
    if (net.device !== "" && !INTERFACE_NAME.test(net.device)) {
      issues.push(issue(file, jsonPath(["network", name, "device"]), `bridge ${JSON.stringify(net.device)} is not a valid interface name (1 to 15 letters, digits, '_', '-', '.')`))
    }
    if (net.up !== "") checkAbsolutePath(issues, file, ["network", name, "up"], net.up, "up script")
    if (net.down !== "") checkAbsolutePath(issues, file, ["network", name, "down"], net.down, "down script")
  }
  for (const [name, dev] of Object.entries(host.mdev)) {
    nameIssue(issues, file, ["mdev", name], "mediated device", name)
    if (!PCI_ADDRESS.test(dev.address)) {
      issues.push(issue(file, jsonPath(["mdev", name, "address"]), `PCI address ${JSON.stringify(dev.address)} must look like 0000:c1:00.0`))
    }
    for (const cls of Object.keys(dev.types)) nameIssue(issues, file, ["mdev", name, "types", cls], "device class", cls)
  }
  const tag: Record<string, Definition> = {}
  for (const [name, def] of Object.entries(host.tag)) {
    nameIssue(issues, file, ["tag", name], "tag", name)
    tag[name] = checkDefinition(issues, file, ["tag", name], def)
  }
  return withIssues(issues, { file, config: { ...host, tag }, warnings })
}

/** The sections of the host file whose entries are named (`storage.disks`, `tag.linux`, ...). */
export type HostSection = "storage" | "network" | "processor" | "mdev" | "tag"

export interface SalvagedHost {
  /** The host without the entries that had problems. */
  readonly host: Host
  /** The entries left out, each once, in the order of the problems. */
  readonly dropped: ReadonlyArray<{ readonly section: HostSection; readonly name: string }>
}

const ENTRY_PATH = /^\$\.(storage|network|processor|mdev|tag)(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\[("(?:[^"\\]|\\.)*")\])/

/**
 * For `check`: the host file without the named entries its problems are in (a pool with a
 * mistyped value, a tag with an invalid volume), so machines that use none of them can still be
 * checked against the rest. Undefined when a problem lies outside every named entry (the file is
 * not JSON, a section is not an object, `accelerator` is invalid) or what is left does not decode.
 */
export const salvageHost = (text: string, file: string, issues: ReadonlyArray<ConfigIssue>): SalvagedHost | undefined => {
  const json = parseJsonText(text, file)
  if (Either.isLeft(json)) return undefined
  const value = json.right.value
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  const dropped: Array<{ section: HostSection; name: string }> = []
  for (const i of issues) {
    const m = i.file === file ? ENTRY_PATH.exec(i.path) : null
    if (m === null) return undefined
    const section = m[1] as HostSection
    const name = m[2] ?? (JSON.parse(m[3]!) as string)
    if (!dropped.some((d) => d.section === section && d.name === name)) dropped.push({ section, name })
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const { name, section } of dropped) {
    // Keys match as the decoder matches them: exactly, else case-insensitively.
    const key = Object.keys(copy).find((k) => k === section) ?? Object.keys(copy).find((k) => k.toLowerCase() === section)
    const entries = key === undefined ? undefined : copy[key]
    if (typeof entries !== "object" || entries === null || Array.isArray(entries) || !Object.prototype.hasOwnProperty.call(entries, name)) {
      return undefined
    }
    const rest: Record<string, unknown> = { ...(entries as Record<string, unknown>) }
    delete rest[name]
    copy[key!] = rest
  }
  const decoded = decodeHost(JSON.stringify(copy), file)
  return Either.isRight(decoded) ? { host: decoded.right, dropped } : undefined
}

/** The machine name a file name stands for, or undefined when it is not a machine file. */
export const machineNameOfFile = (fileName: string): string | undefined =>
  fileName.endsWith(MACHINE_SUFFIX) && fileName.length > MACHINE_SUFFIX.length
    ? fileName.slice(0, -MACHINE_SUFFIX.length)
    : undefined

/**
 * Decodes and validates a machine file's text. `fileName` is the name derived from the file; a
 * non-empty JSON `name` overrides it (config.md §2), and must then be a valid machine name itself.
 */
export const decodeMachine = (
  text: string,
  file: string,
  fileName: string
): Either.Either<Machine, ConfigInvalidError> => {
  const json = parseJsonText(text, file)
  if (Either.isLeft(json)) return Either.left(invalid([json.left]))
  const decoded = decodeDocument(MachineFile, json.right.value, file)
  if (Either.isLeft(decoded)) return Either.left(invalid(decoded.left))
  const m = decoded.right.value
  const issues: Issues = []
  if (m.name === "") nameIssue(issues, file, [], "machine", fileName)
  else nameIssue(issues, file, ["name"], "machine", m.name)
  let idBytes: UuidBytes = ZERO_UUID
  if (m.id !== "") {
    const parsed = parseUuid(m.id)
    if (Either.isLeft(parsed)) issues.push(issue(file, "$.id", parsed.left.message))
    else idBytes = parsed.right
  }
  m.tags.forEach((t, i) => nameIssue(issues, file, ["tags", i], "tag", t))
  const { name: _n, description, id: _i, tags, ...definition } = m
  const checked = checkDefinition(issues, file, [], definition)
  if (LINE_BREAK.test(description)) issues.push(issue(file, "$.description", "description must be a single line"))
  return withIssues(issues, {
    file,
    fileName,
    name: m.name !== "" ? m.name : fileName,
    description,
    id: formatUuid(idBytes),
    idBytes,
    tags,
    definition: checked,
    warnings: [...json.right.warnings, ...decoded.right.warnings]
  })
}

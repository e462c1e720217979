/**
 * Human-readable summaries printed by `cat` (cli.md §4). Lines are indented two spaces per level,
 * the top level being level 1; a summary has no trailing newline.
 *
 * Deliberate differences from the original: vars and host maps are sorted by key, empty
 * connection notes are omitted (`0: local (mac: …)`), port errors print their message instead of
 * Go's `%!w(...)` rendering, and the pinned hardware revision and kernel boot are shown when set.
 */
import * as Either from "effect/Either"
import type { Attributes, Connection, Definition, Device, HostFile, Volume } from "./Config.js"
import { isVolumeSet } from "./Config.js"
import type { Machine } from "./ConfigFiles.js"
import { qmpSocketPaths, tpmSocketPath } from "./Paths.js"
import { effectivePort, type PortOptions } from "./Pattern.js"

const ZERO_ID = "00000000-0000-0000-0000-000000000000"

class Lines {
  readonly out: Array<string> = []
  add(level: number, text: string): void {
    this.out.push("  ".repeat(level) + text)
  }
}

const byKey = <A>(record: Readonly<Record<string, A>>): Array<[string, A]> =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

export const volumeSummary = (v: Volume): string => {
  const notes: Array<string> = []
  if (v.wwn !== "") notes.push(`wwn: ${v.wwn}`)
  if (v.serial !== "") notes.push(`serial: ${v.serial}`)
  if (v.bootable) notes.push("bootable")
  return `${v.name}: ${v.storage}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`
}

export const connectionSummary = (c: Connection): string => {
  const notes: Array<string> = []
  if (c.ip !== "") notes.push(`ip: ${c.ip}`)
  if (c.mac !== "") notes.push(`mac: ${c.mac}`)
  return `${c.name}: ${c.network}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`
}

export const deviceSummary = (d: Device): string =>
  `${d.name}: ${d.class}${d.id !== "" && d.id !== ZERO_ID ? ` (${d.id})` : ""}`

const portLine = (lines: Lines, level: number, label: string, port: number, pattern: string, vars: Readonly<Record<string, string>>, options: PortOptions) => {
  const effective = effectivePort(port, pattern, vars, options)
  // A tag shown on its own: an expression over variables only machines define is shown as written.
  if (Either.isLeft(effective) && options.unknown === "empty" && effective.left._tag === "PatternUnknownVariableError") {
    lines.add(level, `${label}: ${pattern}`)
  } else if (Either.isLeft(effective)) lines.add(level, `${label}: ${effective.left.message}`)
  else if (effective.right > 0) lines.add(level, `${label}: ${effective.right}`)
}

const attributesSummary = (lines: Lines, level: number, machine: string, a: Attributes, vars: Readonly<Record<string, string>>, options: PortOptions) => {
  if (a.hardware.revision !== "") lines.add(level, `Hardware Revision: ${a.hardware.revision}`)
  if (a.hardware.machineType !== "") lines.add(level, `Machine Type: ${a.hardware.machineType}`)
  if (isVolumeSet(a.firmware.code)) lines.add(level, `Firmware Code (read-only): ${volumeSummary(a.firmware.code)}`)
  if (isVolumeSet(a.firmware.vars)) lines.add(level, `Firmware Variables (read/write): ${volumeSummary(a.firmware.vars)}`)
  if (isVolumeSet(a.boot.kernel)) lines.add(level, `Kernel: ${volumeSummary(a.boot.kernel)}`)
  if (isVolumeSet(a.boot.initrd)) lines.add(level, `Initrd: ${volumeSummary(a.boot.initrd)}`)
  if (a.boot.append !== "") lines.add(level, `Kernel Command Line: ${a.boot.append}`)
  if (a.cpu.processor !== "") lines.add(level, `Processor: ${a.cpu.processor}`)
  if (a.cpu.sockets > 0) lines.add(level, `Sockets: ${a.cpu.sockets}`)
  if (a.cpu.cores > 0) lines.add(level, `Cores: ${a.cpu.cores}`)
  if (a.cpu.threads > 0) lines.add(level, `Threads Per Core: ${a.cpu.threads}`)
  if (a.memory.ram > 0) lines.add(level, `RAM: ${a.memory.ram}M`)
  if (a.enlightenments.enabled) lines.add(level, "Hyper-V Enlightenments: Enabled")
  if (a.tpm.enabled) {
    lines.add(level, "Trusted Platform Module: Enabled")
    lines.add(level, `TPM Socket Path: ${tpmSocketPath(machine, a.tpm.socket.path)}`)
    if (isVolumeSet(a.tpm.data)) lines.add(level, `TPM Data Directory: ${volumeSummary(a.tpm.data)}`)
  }
  if (a.qmp.enabled) {
    lines.add(level, "QMP: Enabled")
    for (const p of qmpSocketPaths(machine, a.qmp.sockets)) lines.add(level, `QMP Socket Path: ${p}`)
  }
  if (a.agent.qemu.enabled) {
    lines.add(level, "QEMU Guest Agent: Enabled")
    portLine(lines, level, "QEMU Guest Agent Port", a.agent.qemu.port, a.agent.qemu.portPattern, vars, options)
  }
  if (a.spice.enabled) {
    lines.add(level, "Spice Display: Enabled")
    portLine(lines, level, "Spice Port", a.spice.port, a.spice.portPattern, vars, options)
    if (a.spice.displays !== 0) lines.add(level, `Spice Display Count: ${a.spice.displays}`)
  }
}

const definitionSummary = (lines: Lines, level: number, machine: string, d: Definition, options: PortOptions = {}) => {
  const vars = byKey(d.vars)
  if (vars.length > 0) {
    lines.add(level, "Vars:")
    for (const [k, v] of vars) lines.add(level + 1, `${k}: ${v}`)
  }
  const group = d.privileges.filesystem.group
  if (group.name !== "" || group.id > 0) {
    const g = group.name !== "" && group.id > 0 ? `${group.name}:${group.id}` : group.name !== "" ? group.name : String(group.id)
    lines.add(level, `File System Access Group: ${g}`)
  }
  if (d.privileges.user !== "") {
    // Unprivileged machines only: root machines print what they always did.
    lines.add(level, `QEMU User: ${d.privileges.user}`)
    if (group.id > 0) lines.add(level, `QEMU Group: ${group.id}${group.name !== "" ? ` (${group.name})` : ""}`)
  }
    attributesSummary(lines, level, machine, d.attrs, d.vars, options)
  if (d.volumes.length > 0) {
    lines.add(level, "Volumes:")
    for (const v of d.volumes) lines.add(level + 1, volumeSummary(v))
  }
  if (d.connections.length > 0) {
    lines.add(level, "Connections:")
    for (const c of d.connections) lines.add(level + 1, connectionSummary(c))
  }
  if (d.devices.length > 0) {
    lines.add(level, "Devices:")
    for (const dev of d.devices) lines.add(level + 1, deviceSummary(dev))
  }
}

/** Summary of a machine with the given (normally merged and populated) definition. */
export const machineSummary = (machine: Machine, definition: Definition): string => {
  const lines = new Lines()
  lines.add(1, `Name: ${machine.name}`)
  if (machine.fileName !== machine.name) lines.add(1, `File Name: ${machine.fileName} (the file's "name" key names the machine)`)
  if (machine.description !== "") lines.add(1, `Description: ${machine.description}`)
  if (machine.id !== ZERO_ID) lines.add(1, `ID: ${machine.id}`)
  if (machine.tags.length > 0) lines.add(1, `Tags: ${machine.tags.join(",")}`)
  definitionSummary(lines, 1, machine.name, definition)
  return lines.out.join("\n")
}

/** Summary of the host file (`cat system`), tags shown unmerged with an empty machine identity. */
export const hostSummary = (host: HostFile): string => {
  const lines = new Lines()
  const storage = byKey(host.storage)
  if (storage.length > 0) {
    lines.add(1, "Storage:")
    for (const [name, pool] of storage) lines.add(2, `${name}: ${pool.path}`)
  }
  const networks = byKey(host.network)
  if (networks.length > 0) {
    lines.add(1, "Networks:")
    for (const [name, net] of networks) lines.add(2, `${name}: ${net.device}`)
  }
  const mdevs = byKey(host.mdev)
  if (mdevs.length > 0) {
    lines.add(1, "Mediated Devices:")
    for (const [name, dev] of mdevs) {
      lines.add(2, `${name}:`)
      for (const [cls, type] of byKey(dev.types)) lines.add(3, `${cls}: ${type}`)
    }
  }
  if (host.accelerator !== "kvm") lines.add(1, `Accelerator: ${host.accelerator}`)
  const tags = byKey(host.tag)
  if (tags.length > 0) {
    lines.add(1, "Tags:")
    for (const [name, def] of tags) {
      lines.add(2, `${name}:`)
      definitionSummary(lines, 3, "", def, { unknown: "empty" })
    }
  }
  return lines.out.join("\n")
}

/**
 * What `generate` would change, before anything is written (`machina plan`): pure.
 *
 * ## API (stable; other modules and the UI build on it)
 *
 * - `unitDiff(before, after)`: the lines of a unit file before (`undefined` = no file) and after,
 *   as a line diff: `{ op: " " | "-" | "+", text }` for every line of both texts, in order
 *   (a longest-common-subsequence diff; `before === after` gives only `" "` lines).
 *   `renderDiff(lines, context?)` prints it in unified-diff style (`@@ -a,b +c,d @@` hunks,
 *   `context` unchanged lines around each change, default 3); `hasChanges(lines)` tells whether any
 *   line is added or removed.
 * - `optionsFromUnit(text)`: the QEMU options of a unit file written by `generate` (its
 *   `ExecStart=`, unquoted), or `undefined` when the text has no such ExecStart. This is how the
 *   "before" side of a plan is read back from disk.
 * - `guestHardware(options)`: the guest-visible model of a QEMU option list (`GuestHardware`):
 *   SMBIOS UUID, machine type, CPU model and flags, SMP, memory, firmware images, kernel boot, and
 *   every guest device keyed by what identifies it to the guest (NIC by its tap interface, disk by
 *   its block node, mediated device by its sysfs path, controllers by kind) with its address (the
 *   PCI address on `pcie.0` of the device or of the root port it sits behind, then the position on
 *   its controller: SCSI channel/target/LUN, SATA port, USB port, virtio-serial port) and its
 *   guest-visible properties (MAC, serial, WWN, boot index, model).
 * - `guestVisibleChanges(before, after)`: what a guest OS notices between two option lists (or two
 *   `GuestHardware` values), as `GuestChange` records sorted by subject: devices added, removed,
 *   moved (address) or changed (model, MAC, serial, WWN, boot index), and the SMBIOS UUID, machine
 *   type, CPU model/flags/topology, memory and firmware. Host-only details (socket paths, chardev
 *   and netdev ids, the unit's stop timeout) are not guest-visible and never appear.
 * - `planMachine(input)`: one machine's `MachinePlan`: `status` created / changed / unchanged /
 *   orphaned, the unit diff and the guest-visible changes. `planSummaryLine(plan, label?)` is the
 *   one-line summary `generate` and `plan` print (`<label>: changed (3 guest-visible changes)`, the
 *   label defaulting to the unit name; the commands pass the unit's path). `planChanges(plan)`:
 *   whether applying it would change anything on disk.
 * - Every type here is plain data (strings, numbers, arrays, records); `plan --format json` prints
 *   it in the kebab-case shape of Output.ts `PlanEntry`.
 */
import { QEMU_EXECUTABLE, type QemuOption } from "./qemu/Options.js"

// ---------------------------------------------------------------------------------------------
// Unit diff

/** One line of a diff: kept (`" "`), removed (`"-"`) or added (`"+"`). */
export interface DiffLine {
  readonly op: " " | "-" | "+"
  readonly text: string
}

/** Lines of a text file (a final newline ends the last line, it does not start an empty one). */
const linesOf = (text: string): ReadonlyArray<string> => {
  if (text === "") return []
  const lines = text.split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  return lines
}

/**
 * The line diff of two texts (`before` undefined = the file does not exist: every line is added).
 * Longest common subsequence over the lines that differ after the common head and tail, which for
 * unit files (a few dozen to a few hundred lines) is cheap.
 */
export const unitDiff = (before: string | undefined, after: string): ReadonlyArray<DiffLine> => {
  const a = linesOf(before ?? "")
  const b = linesOf(after)
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++
  const am = a.slice(head, a.length - tail)
  const bm = b.slice(head, b.length - tail)
  // lcs[i][j]: LCS length of am[i..] and bm[j..]
  const n = am.length
  const m = bm.length
  const lcs: Array<Int32Array> = []
  for (let i = 0; i <= n; i++) lcs.push(new Int32Array(m + 1))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = am[i] === bm[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
    }
  }
  const out: Array<DiffLine> = []
  for (let k = 0; k < head; k++) out.push({ op: " ", text: a[k]! })
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && am[i] === bm[j]) {
      out.push({ op: " ", text: am[i]! })
      i++
      j++
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push({ op: "+", text: bm[j]! })
      j++
    } else {
      out.push({ op: "-", text: am[i]! })
      i++
    }
  }
  for (let k = a.length - tail; k < a.length; k++) out.push({ op: " ", text: a[k]! })
  return reorderRuns(out)
}

/** Within each run of changes, removals first, then additions (as unified diffs print them). */
const reorderRuns = (lines: ReadonlyArray<DiffLine>): ReadonlyArray<DiffLine> => {
  const out: Array<DiffLine> = []
  let removed: Array<DiffLine> = []
  let added: Array<DiffLine> = []
  const flush = () => {
    out.push(...removed, ...added)
    removed = []
    added = []
  }
  for (const l of lines) {
    if (l.op === "-") removed.push(l)
    else if (l.op === "+") added.push(l)
    else {
      flush()
      out.push(l)
    }
  }
  flush()
  return out
}

/** Whether a diff adds or removes any line. */
export const hasChanges = (lines: ReadonlyArray<DiffLine>): boolean => lines.some((l) => l.op !== " ")

/**
 * Unified-diff text of a diff (no `---`/`+++` header; the caller names the file): `@@` hunks with
 * `context` unchanged lines around changes. Empty when nothing changed. Ends with a newline unless empty.
 */
export const renderDiff = (lines: ReadonlyArray<DiffLine>, context = 3): string => {
  const changed: Array<number> = []
  lines.forEach((l, i) => {
    if (l.op !== " ") changed.push(i)
  })
  if (changed.length === 0) return ""
  // Hunks: ranges [start, end) of line indexes.
  const hunks: Array<[number, number]> = []
  for (const c of changed) {
    const start = Math.max(0, c - context)
    const end = Math.min(lines.length, c + context + 1)
    const last = hunks[hunks.length - 1]
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
    else hunks.push([start, end])
  }
  // Line numbers before each index, in the old and the new text.
  const oldAt: Array<number> = []
  const newAt: Array<number> = []
  let o = 0
  let n = 0
  for (const l of lines) {
    oldAt.push(o)
    newAt.push(n)
    if (l.op !== "+") o++
    if (l.op !== "-") n++
  }
  let out = ""
  for (const [start, end] of hunks) {
    const slice = lines.slice(start, end)
    const oldCount = slice.filter((l) => l.op !== "+").length
    const newCount = slice.filter((l) => l.op !== "-").length
    const oldStart = oldCount === 0 ? oldAt[start]! : oldAt[start]! + 1
    const newStart = newCount === 0 ? newAt[start]! : newAt[start]! + 1
    out += `@@ -${oldStart},${oldCount} +${newStart},${newCount} @@\n`
    for (const l of slice) out += `${l.op}${l.text}\n`
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Reading the options back from a unit

/** Undoes `Unit.quote` for one token. */
const unquote = (token: string): string => {
  if (!token.startsWith("\"")) return token.replaceAll("%%", "%")
  let out = ""
  for (let i = 1; i < token.length - 1; i++) {
    const ch = token[i]!
    if (ch === "\\") {
      const next = token[++i]!
      if (next === "n") out += "\n"
      else if (next === "r") out += "\r"
      else if (next === "x") {
        const code = parseInt(token.slice(i + 1, i + 3), 16)
        out += String.fromCharCode(code)
        i += 2
      } else out += next
    } else if ((ch === "%" || ch === "$") && token[i + 1] === ch) {
      out += ch
      i++
    } else out += ch
  }
  return out
}

/** Splits one ExecStart line into its (at most two) tokens: `-type` and the quoted or plain parameters. */
const lineTokens = (line: string): ReadonlyArray<string> => {
  const space = line.indexOf(" ")
  return space < 0 ? [line] : [line.slice(0, space), line.slice(space + 1)]
}

/**
 * The QEMU options of a unit file written by `generate`: the lines of `ExecStart=<qemu> \` up to the
 * first line without a trailing ` \`, each `-type [params]`. `undefined` when there is no such
 * ExecStart (a unit not written by machina, or hand-edited beyond recognition).
 */
export const optionsFromUnit = (text: string): ReadonlyArray<QemuOption> | undefined => {
  const lines = text.split("\n")
  const start = lines.findIndex((l) => l === `ExecStart=${QEMU_EXECUTABLE} \\` || l === `ExecStart=${QEMU_EXECUTABLE}`)
  if (start < 0) return undefined
  const out: Array<QemuOption> = []
  if (!lines[start]!.endsWith(" \\")) return out
  for (let i = start + 1; i < lines.length; i++) {
    const raw = lines[i]!
    const continued = raw.endsWith(" \\")
    const line = continued ? raw.slice(0, -2) : raw
    const [first, second] = lineTokens(line)
    const type = unquote(first ?? "")
    if (!type.startsWith("-")) return undefined
    out.push({ type: type.slice(1), params: second === undefined ? "" : unquote(second) })
    if (!continued) break
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Guest-visible hardware

/** `a=b,c,d=e,,f` as ordered pairs, honouring QEMU's `,,` escape. */
export const splitParameters = (text: string): ReadonlyArray<readonly [string, string]> => {
  const out: Array<readonly [string, string]> = []
  let current = ""
  const push = () => {
    const eq = current.indexOf("=")
    out.push(eq < 0 ? [current, ""] : [current.slice(0, eq), current.slice(eq + 1)])
  }
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (ch === ",") {
      if (text[i + 1] === ",") {
        current += ","
        i++
        continue
      }
      push()
      current = ""
    } else current += ch
  }
  if (current !== "") push()
  return out
}

/** A device as the guest sees it. */
export interface GuestDevice {
  /** What identifies it across configurations, e.g. `disk test-vm-os`, `nic test-vm.0`, `usb controller`. */
  readonly key: string
  /** The QEMU device model (`virtio-net-pci`, `scsi-hd`, ...). */
  readonly model: string
  /** Where the guest finds it, e.g. `pci 00:01.6`, `pci 00:01.4 scsi 0:0:1`, `sata ide.1`. */
  readonly address: string
  /** Guest-visible properties that are set: `mac`, `serial`, `wwn`, `bootindex`. */
  readonly properties: Readonly<Record<string, string>>
}

/** Everything of a VM a guest OS can observe, as far as machina sets it. */
export interface GuestHardware {
  readonly uuid: string
  readonly machineType: string
  readonly cpuModel: string
  readonly cpuFlags: ReadonlyArray<string>
  readonly smp: string
  readonly memory: string
  /** Firmware code and variables image files ("" when not set). */
  readonly firmwareCode: string
  readonly firmwareVars: string
  /** `-kernel`, `-initrd`, `-append` joined, "" without direct kernel boot. */
  readonly kernelBoot: string
  /** Sorted by key. */
  readonly devices: ReadonlyArray<GuestDevice>
}

const GUEST_PROPERTIES = ["mac", "serial", "wwn", "bootindex"] as const

const pciAddress = (addr: string): string => {
  const [slot, fn] = addr.split(".")
  return `pci 00:${(slot ?? "").padStart(2, "0")}.${fn ?? "0"}`
}

/** The stable key of a device (root ports have none: they are where other devices sit). */
const keyOf = (driver: string, p: ReadonlyMap<string, string>, netdevIfnames: ReadonlyMap<string, string>): string | undefined => {
  switch (driver) {
    case "ioh3420":
      return undefined
    case "virtio-net-pci":
      return `nic ${netdevIfnames.get(p.get("netdev") ?? "") ?? p.get("netdev") ?? "?"}`
    case "vfio-pci":
      return `mediated device ${p.get("sysfsdev") ?? p.get("id") ?? "?"}`
    case "pvpanic-pci":
      return "pvpanic"
    case "tpm-tis":
      return "tpm"
    case "virtio-serial-pci":
      return "virtio-serial controller"
    case "qemu-xhci":
      return "usb controller"
    case "virtio-scsi-pci":
      return "scsi controller"
    case "usb-tablet":
      return "usb tablet"
    case "usb-redir":
      return `usb redirection ${p.get("chardev") ?? p.get("id") ?? "?"}`
    case "virtserialport":
      return `serial port ${p.get("name") ?? p.get("chardev") ?? "?"}`
    case "qxl-vga":
    case "qxl":
      return `display ${p.get("id") ?? "?"}`
    default:
      return p.has("drive") ? `disk ${p.get("drive")}` : `${driver} ${p.get("id") ?? "?"}`
  }
}

/** The guest-visible model of a QEMU option list. */
export const guestHardware = (options: ReadonlyArray<QemuOption>): GuestHardware => {
  let uuid = ""
  let machineType = ""
  let cpuModel = ""
  let cpuFlags: Array<string> = []
  let smp = ""
  let memory = ""
  let pflash0 = ""
  let pflash1 = ""
  const kernel: Array<string> = []
  const blockFiles = new Map<string, string>()
  const ifnames = new Map<string, string>()
  const deviceLines: Array<{ driver: string; params: Map<string, string> }> = []
  for (const o of options) {
    switch (o.type) {
      case "uuid":
        uuid = o.params
        break
      case "machine": {
        const p = new Map(splitParameters(o.params))
        machineType = p.get("type") ?? ""
        pflash0 = p.get("pflash0") ?? ""
        pflash1 = p.get("pflash1") ?? ""
        break
      }
      case "cpu": {
        const [first, ...rest] = splitParameters(o.params)
        cpuModel = first?.[0] ?? ""
        cpuFlags = rest.map(([k, v]) => (v === "" ? k : `${k}=${v}`))
        break
      }
      case "smp":
        smp = o.params
        break
      case "m":
        memory = o.params
        break
      case "kernel":
      case "initrd":
      case "append":
        kernel.push(`-${o.type} ${o.params}`)
        break
      case "blockdev": {
        const p = new Map(splitParameters(o.params))
        const node = p.get("node-name")
        if (node !== undefined) blockFiles.set(node, p.get("filename") ?? p.get("file") ?? "")
        break
      }
      case "netdev": {
        const p = splitParameters(o.params)
        const m = new Map(p)
        const id = m.get("id")
        if (id !== undefined) ifnames.set(id, m.get("ifname") ?? id)
        break
      }
      case "device": {
        const [first, ...rest] = splitParameters(o.params)
        deviceLines.push({ driver: first?.[0] ?? "", params: new Map(rest) })
        break
      }
    }
  }
  // Where each bus is: root ports and controllers by id.
  const busAddress = new Map<string, string>()
  const devices: Array<GuestDevice> = []
  for (const { driver, params } of deviceLines) {
    const bus = params.get("bus")
    let address: string
    if (bus === "pcie.0") address = pciAddress(params.get("addr") ?? "")
    else if (bus === undefined) address = driver === "tpm-tis" ? "isa tpm" : driver === "isa-serial" ? "isa com1" : "none"
    else if (bus.startsWith("ide.")) address = `sata ${bus}`
    else {
      const parent = busAddress.get(bus) ?? busAddress.get(bus.replace(/\.0$/, "")) ?? `bus ${bus}`
      if (driver.startsWith("scsi-")) {
        address = `${parent} scsi ${params.get("channel") ?? "0"}:${params.get("scsi-id") ?? "0"}:${params.get("lun") ?? "0"}`
      } else if (params.has("port")) address = `${parent} usb port ${params.get("port")}`
      else if (params.has("nr")) address = `${parent} virtio-serial port ${params.get("nr")}`
      else address = parent
    }
    const id = params.get("id")
    if (id !== undefined) busAddress.set(id, address)
    const key = keyOf(driver, params, ifnames)
    if (key === undefined) continue
    const properties: Record<string, string> = {}
    for (const name of GUEST_PROPERTIES) {
      const v = params.get(name)
      if (v !== undefined) properties[name] = v
    }
    devices.push({ key, model: driver, address, properties })
  }
  devices.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
  return {
    uuid,
    machineType,
    cpuModel,
    cpuFlags,
    smp,
    memory,
    firmwareCode: pflash0 === "" ? "" : blockFiles.get(pflash0) ?? pflash0,
    firmwareVars: pflash1 === "" ? "" : blockFiles.get(pflash1) ?? pflash1,
    kernelBoot: kernel.join(" "),
    devices
  }
}

/** What kind of guest-visible change. */
export type GuestChangeKind =
  | "device-added"
  | "device-removed"
  | "device-moved"
  | "device-model"
  | "mac"
  | "serial"
  | "wwn"
  | "bootindex"
  | "uuid"
  | "machine-type"
  | "cpu-model"
  | "cpu-flags"
  | "cpu-topology"
  | "memory"
  | "firmware"
  | "kernel-boot"

/** One change a guest OS notices. `before`/`after` are "" when the thing is absent on that side. */
export interface GuestChange {
  readonly kind: GuestChangeKind
  /** What changed: a device key (`nic test-vm.0`) or the machine-wide setting (`SMBIOS UUID`). */
  readonly subject: string
  readonly before: string
  readonly after: string
  /** One line for people, e.g. `nic test-vm.0 moved from pci 00:01.6 to pci 00:02.0`. */
  readonly text: string
}

const change = (kind: GuestChangeKind, subject: string, before: string, after: string, text?: string): GuestChange => ({
  kind,
  subject,
  before,
  after,
  text: text ?? `${subject}: ${before === "" ? "(none)" : before} -> ${after === "" ? "(none)" : after}`
})

const describeDevice = (d: GuestDevice): string => {
  const props = Object.entries(d.properties).map(([k, v]) => `${k}=${v}`)
  return [d.model, d.address, ...props].join(" ")
}

const isHardware = (x: ReadonlyArray<QemuOption> | GuestHardware): x is GuestHardware => !Array.isArray(x)

/**
 * The guest-visible differences between two VMs (option lists or their `GuestHardware`): machine-wide
 * settings first, then devices by key.
 */
export const guestVisibleChanges = (
  before: ReadonlyArray<QemuOption> | GuestHardware,
  after: ReadonlyArray<QemuOption> | GuestHardware
): ReadonlyArray<GuestChange> => {
  const a = isHardware(before) ? before : guestHardware(before)
  const b = isHardware(after) ? after : guestHardware(after)
  const out: Array<GuestChange> = []
  if (a.uuid !== b.uuid) out.push(change("uuid", "SMBIOS UUID", a.uuid, b.uuid))
  if (a.machineType !== b.machineType) out.push(change("machine-type", "machine type", a.machineType, b.machineType))
  if (a.cpuModel !== b.cpuModel) out.push(change("cpu-model", "CPU model", a.cpuModel, b.cpuModel))
  const removedFlags = a.cpuFlags.filter((f) => !b.cpuFlags.includes(f))
  const addedFlags = b.cpuFlags.filter((f) => !a.cpuFlags.includes(f))
  if (removedFlags.length > 0 || addedFlags.length > 0) {
    const parts = [...addedFlags.map((f) => `+${f}`), ...removedFlags.map((f) => `-${f}`)]
    out.push(change("cpu-flags", "CPU flags", a.cpuFlags.join(","), b.cpuFlags.join(","), `CPU flags: ${parts.join(" ")}`))
  }
  if (a.smp !== b.smp) out.push(change("cpu-topology", "CPU topology", a.smp, b.smp))
  if (a.memory !== b.memory) out.push(change("memory", "memory", a.memory, b.memory))
  if (a.firmwareCode !== b.firmwareCode) out.push(change("firmware", "firmware code", a.firmwareCode, b.firmwareCode))
  if (a.firmwareVars !== b.firmwareVars) out.push(change("firmware", "firmware variables", a.firmwareVars, b.firmwareVars))
  if (a.kernelBoot !== b.kernelBoot) out.push(change("kernel-boot", "direct kernel boot", a.kernelBoot, b.kernelBoot))
  const old = new Map(a.devices.map((d) => [d.key, d]))
  const now = new Map(b.devices.map((d) => [d.key, d]))
  const keys = [...new Set([...old.keys(), ...now.keys()])].sort()
  for (const key of keys) {
    const x = old.get(key)
    const y = now.get(key)
    if (x === undefined && y !== undefined) {
      out.push(change("device-added", key, "", y.address, `${key} added: ${describeDevice(y)}`))
      continue
    }
    if (y === undefined && x !== undefined) {
      out.push(change("device-removed", key, x.address, "", `${key} removed: ${describeDevice(x)}`))
      continue
    }
    if (x === undefined || y === undefined) continue
    if (x.model !== y.model) out.push(change("device-model", key, x.model, y.model, `${key} model: ${x.model} -> ${y.model}`))
    if (x.address !== y.address) {
      out.push(change("device-moved", key, x.address, y.address, `${key} moved from ${x.address} to ${y.address}`))
    }
    for (const p of GUEST_PROPERTIES) {
      const u = x.properties[p] ?? ""
      const v = y.properties[p] ?? ""
      if (u !== v) out.push(change(p, key, u, v, `${key} ${p}: ${u === "" ? "(none)" : u} -> ${v === "" ? "(none)" : v}`))
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// One machine's plan

/** created: no unit yet; changed / unchanged: compared with the unit on disk; orphaned: a unit without a machine file. */
export type PlanStatus = "created" | "changed" | "unchanged" | "orphaned"

export interface MachinePlan {
  readonly machine: string
  /** The unit file name, e.g. `machina-vm.service`. */
  readonly unit: string
  readonly status: PlanStatus
  readonly diff: ReadonlyArray<DiffLine>
  readonly guestChanges: ReadonlyArray<GuestChange>
}

export interface PlanInput {
  readonly machine: string
  readonly unit: string
  /** The unit text on disk, `undefined` when there is none. */
  readonly current: string | undefined
  /** The unit `generate` would write, `undefined` when the machine file is gone (orphaned). */
  readonly next: string | undefined
  /** The generated options (saves parsing `next` back); read from `next` when omitted. */
  readonly nextOptions?: ReadonlyArray<QemuOption> | undefined
}

/**
 * The plan of one machine. Guest-visible changes compare the options of the unit on disk with the
 * generated ones; a created or orphaned machine has none (there is no guest on the other side).
 */
export const planMachine = (input: PlanInput): MachinePlan => {
  if (input.next === undefined) {
    return {
      machine: input.machine,
      unit: input.unit,
      status: "orphaned",
      diff: input.current === undefined ? [] : linesOf(input.current).map((text) => ({ op: "-" as const, text })),
      guestChanges: []
    }
  }
  const before = input.current === undefined ? [] : optionsFromUnit(input.current) ?? []
  const after = input.nextOptions ?? optionsFromUnit(input.next) ?? []
  const diff = unitDiff(input.current, input.next)
  return {
    machine: input.machine,
    unit: input.unit,
    status: input.current === undefined ? "created" : hasChanges(diff) ? "changed" : "unchanged",
    diff,
    guestChanges: input.current === undefined ? [] : guestVisibleChanges(before, after)
  }
}

/** Whether applying the plan would change anything on disk. */
export const planChanges = (plan: MachinePlan): boolean => plan.status !== "unchanged"

/** `<label>: <status>[ (N guest-visible change[s])]`; the label is the unit name unless given (e.g. its path). */
export const planSummaryLine = (plan: MachinePlan, label: string = plan.unit): string => {
  const n = plan.guestChanges.length
  const guest = plan.status === "unchanged" || n === 0 ? "" : ` (${n} guest-visible change${n === 1 ? "" : "s"})`
  return `${label}: ${plan.status}${guest}`
}

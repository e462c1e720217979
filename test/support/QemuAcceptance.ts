/**
 * Real QEMU accepts what we generate: `acceptanceCheck(hostJson, machineJson, machineFileName)`
 * generates a machine's options, swaps what this host cannot provide for stand-ins that keep ids
 * and positions, starts `qemu-system-x86_64 -S`, asks QMP where every PCI device landed, and
 * compares that with the addresses the generator predicted.
 *
 * Substitutions (each listed in the result):
 * - file paths → files in a temporary folder: raw images (sparse, 64 MiB), ISO/firmware-type
 *   volumes (sparse, 1 MiB), pflash code/vars → copies of OVMF 4M (the secure-boot code build,
 *   which is what `cfi.pflash01 secure=on` is meant for), `-kernel` → a minimal bzImage header,
 *   `-initrd` → a small file;
 * - unix sockets (QMP, TPM) → short paths in the temporary folder; the TPM socket gets a real
 *   `swtpm socket` behind it;
 * - TCP ports (guest agent, SPICE) → free local ports;
 * - `-netdev tap` → `-netdev user` with the same id (no bridge or tap here);
 * - guest RAM above 512 MiB → 512 MiB (QEMU reserves it even under `-S`);
 * - `vfio-pci` → left out (no mediated device here); its root port stays;
 * - the machine is generated for the host `accelerator: "tcg"` (the product's own `-accel tcg`,
 *   `-cpu max` path) unless asked for KVM (see `AcceptanceOptions.accelerator`).
 *
 * Only processes started here are ever killed, by their PID.
 */
import * as Either from "effect/Either"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import { machineNameOfFile } from "../../src/domain/ConfigFiles.js"
import { type QemuOption, QEMU_EXECUTABLE, toArgv } from "../../src/domain/qemu/Options.js"
import { splitParams } from "./MachineArbitrary.js"
import { QmpTestClient } from "./QmpTestClient.js"
import { generateFromText } from "./QemuFixtures.js"

export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
export const OVMF_CODE_SECURE = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
export const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"

/** Guest RAM is capped for the check: -S never runs the guest, and this host cannot reserve 32 GiB. */
export const MAX_TEST_MEMORY_MIB = 512

export interface AcceptanceOptions {
  /**
   * `tcg` (default, or `$MACHINA_E2E_ACCEL`): generate for the host accelerator `tcg`; `kvm`: keep
   * the configuration's accelerator (needs /dev/kvm, and e.g. `hv-evmcs` needs nested VMX);
   * `auto`: `kvm` when /dev/kvm is usable, else `tcg`.
   */
  readonly accelerator?: "auto" | "kvm" | "tcg"
  /** Bound on QEMU start-up and each QMP exchange. Default 30 s. */
  readonly timeoutMs?: number
}

export interface PciFunction {
  readonly bus: number
  readonly slot: number
  readonly fn: number
  readonly vendor: number
  readonly device: number
  readonly classCode: number
  readonly qdevId: string
  /**
   * The qdev id of the bridge (root port) the function sits behind, undefined on the root bus.
   * Under `-S` the firmware has not numbered the bridges' buses yet (every bus number reads 0),
   * so nesting, not bus numbers, tells where a device is.
   */
  readonly parent: string | undefined
}

export interface AcceptanceResult {
  /** The generated argv (before substitutions). */
  readonly generated: ReadonlyArray<string>
  /** The argv QEMU ran with (after substitutions, without `-S`). */
  readonly argv: ReadonlyArray<string>
  readonly substitutions: ReadonlyArray<string>
  readonly pci: ReadonlyArray<PciFunction>
  /** PCI devices whose position was checked (query-pci on the root bus, QOM behind root ports). */
  readonly checkedPciDevices: number
}

/** PCI vendor and device ids QEMU gives each driver (virtio on PCIe ports is modern-only). */
const PCI_IDS: Readonly<Record<string, readonly [number, number]>> = {
  ioh3420: [0x8086, 0x3420],
  "pvpanic-pci": [0x1b36, 0x0011],
  "qxl-vga": [0x1b36, 0x0100],
  qxl: [0x1b36, 0x0100],
  "qemu-xhci": [0x1b36, 0x000d],
  "virtio-serial-pci": [0x1af4, 0x1043],
  "virtio-net-pci": [0x1af4, 0x1041],
  "virtio-blk-pci": [0x1af4, 0x1042],
  "virtio-scsi-pci": [0x1af4, 0x1048]
}

/** What q35 itself puts on bus 0: host bridge, ICH9 LPC, AHCI, SMBus. */
const Q35_BUILTINS = new Set(["0.0", "31.0", "31.2", "31.3"])

export const kvmUsable = (): boolean => {
  try {
    fs.accessSync("/dev/kvm", fs.constants.R_OK | fs.constants.W_OK)
    return true
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------
// Options as editable values

interface EditableOption {
  readonly type: string
  params: Array<readonly [string, string]>
  /** For -kernel/-initrd/-append: the verbatim argument. */
  verbatim: string | undefined
}

const VERBATIM = new Set(["kernel", "initrd", "append"])

const editable = (o: QemuOption): EditableOption =>
  VERBATIM.has(o.type)
    ? { type: o.type, params: [], verbatim: o.params }
    : { type: o.type, params: o.params === "" ? [] : [...splitParams(o.params)], verbatim: undefined }

const renderEditable = (o: EditableOption): ReadonlyArray<string> => {
  if (o.verbatim !== undefined) return [`-${o.type}`, o.verbatim]
  const params = o.params.map(([k, v]) => (v === "" ? k : `${k}=${v.replaceAll(",", ",,")}`)).join(",")
  return params === "" ? [`-${o.type}`] : [`-${o.type}`, params]
}

const get = (o: EditableOption, key: string): string | undefined => o.params.find(([k]) => k === key)?.[1]

const set = (o: EditableOption, key: string, value: string): void => {
  o.params = o.params.map(([k, v]) => (k === key ? [k, value] as const : [k, v] as const))
}

// ---------------------------------------------------------------------------------------------
// Host stand-ins

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** The smallest file QEMU's x86 loader takes for a Linux kernel: a boot-protocol 2.15 header. */
const fakeBzImage = (): Buffer => {
  const image = Buffer.alloc(16 * 1024)
  image[0x1f1] = 4 // setup sectors
  image[0x1fe] = 0x55
  image[0x1ff] = 0xaa
  image.write("HdrS", 0x202, "latin1")
  image.writeUInt16LE(0x020f, 0x206)
  image[0x211] = 0x01 // LOADED_HIGH
  image.writeUInt32LE(0x37ffffff, 0x22c) // initrd_addr_max
  image.writeUInt32LE(0x7ff, 0x238) // cmdline_size
  return image
}

const sparseFile = async (file: string, bytes: number): Promise<void> => {
  const handle = await fsp.open(file, "w")
  try {
    await handle.truncate(bytes)
  } finally {
    await handle.close()
  }
}

const waitFor = async (condition: () => boolean, timeoutMs: number, what: string, failed?: () => string | undefined): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    const failure = failed?.()
    if (failure !== undefined) throw new Error(failure)
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

interface Started {
  readonly child: ChildProcess
  readonly stderr: () => string
  readonly exited: () => number | null | undefined
}

const start = (command: string, args: ReadonlyArray<string>): Started => {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] })
  let stderr = ""
  let exitCode: number | null | undefined = undefined
  child.stdout?.on("data", () => {})
  child.stderr?.setEncoding("utf8")
  child.stderr?.on("data", (s: string) => (stderr += s))
  child.on("exit", (code, signal) => (exitCode = code ?? (signal !== null ? -1 : null)))
  child.on("error", (e) => {
    stderr += String(e)
    exitCode = -1
  })
  return { child, stderr: () => stderr, exited: () => exitCode }
}

const stop = async (p: Started | undefined, timeoutMs: number): Promise<void> => {
  if (p === undefined || p.exited() !== undefined || p.child.pid === undefined) return
  try {
    await waitFor(() => p.exited() !== undefined, timeoutMs, "exit")
  } catch {
    process.kill(p.child.pid, "SIGKILL")
    await waitFor(() => p.exited() !== undefined, 5_000, "exit after SIGKILL").catch(() => {})
  }
}

// ---------------------------------------------------------------------------------------------
// query-pci

interface QmpPciDevice {
  readonly bus: number
  readonly slot: number
  readonly function: number
  readonly class_info: { readonly class: number }
  readonly id: { readonly vendor: number; readonly device: number }
  readonly qdev_id: string
  readonly pci_bridge?: { readonly bus: { readonly secondary: number }; readonly devices?: ReadonlyArray<QmpPciDevice> }
}

const flattenPci = (buses: ReadonlyArray<{ readonly devices: ReadonlyArray<QmpPciDevice> }>): ReadonlyArray<PciFunction> => {
  const out: Array<PciFunction> = []
  const visit = (d: QmpPciDevice, parent: string | undefined): void => {
    out.push({
      bus: d.bus,
      slot: d.slot,
      fn: d.function,
      vendor: d.id.vendor,
      device: d.id.device,
      classCode: d.class_info.class,
      qdevId: d.qdev_id,
      parent
    })
    for (const child of d.pci_bridge?.devices ?? []) visit(child, d.qdev_id)
  }
  for (const bus of buses) for (const d of bus.devices) visit(d, undefined)
  return out
}

const hex = (n: number): string => `0x${n.toString(16).padStart(4, "0")}`

/** A device as QOM sees it: `-device` instances under /machine/peripheral(-anon). */
export interface Peripheral {
  readonly path: string
  /** The `id=`, "" for anonymous devices. */
  readonly id: string
  readonly type: string
  /** QOM path of the bus it is plugged into. */
  readonly parentBus: string
  /** PCI devfn for PCI devices behind root ports. */
  readonly devfn: number | undefined
}

const qomPeripherals = async (client: QmpTestClient, timeoutMs: number): Promise<ReadonlyArray<Peripheral>> => {
  const out: Array<Peripheral> = []
  for (const container of ["/machine/peripheral", "/machine/peripheral-anon"]) {
    const entries = (await client.execute("qom-list", { path: container }, timeoutMs)) as ReadonlyArray<{ name: string; type: string }>
    for (const e of entries) {
      const child = /^child<(.+)>$/.exec(e.type)
      if (child === null) continue
      const path = `${container}/${e.name}`
      const parentBus = (await client.execute("qom-get", { path, property: "parent_bus" }, timeoutMs)) as string
      const pci = PCI_IDS[child[1]!] !== undefined || child[1] === "vfio-pci"
      const devfn = pci ? ((await client.execute("qom-get", { path, property: "addr" }, timeoutMs)) as number) : undefined
      out.push({ path, id: container === "/machine/peripheral" ? e.name : "", type: child[1]!, parentBus, devfn })
    }
  }
  return out
}

/**
 * Checks every predicted position: devices on `pcie.0` (root ports included) against query-pci
 * (address, qdev id, vendor:device); devices behind a root port against QOM (the only device on
 * the port's bus, at devfn 0, of the right type: under `-S` no firmware has numbered the bridges'
 * buses yet, so query-pci cannot see behind them); every other device's bus by name.
 * Returns how many PCI devices were checked.
 */
const checkPlacement = (
  devices: ReadonlyArray<EditableOption>,
  pci: ReadonlyArray<PciFunction>,
  peripherals: ReadonlyArray<Peripheral>
): number => {
  const problems: Array<string> = []
  const rootPorts = new Set<string>()
  const onRootBus = new Set<string>()
  let checked = 0
  for (const d of devices) {
    const driver = d.params[0]![0]
    const bus = get(d, "bus")
    const id = get(d, "id") ?? ""
    if (bus === "pcie.0") {
      checked++
      const [s, f] = get(d, "addr")!.split(".")
      const slot = parseInt(s!, 16)
      const fn = Number(f)
      onRootBus.add(`${slot}.${fn}`)
      const found = pci.find((p) => p.parent === undefined && p.slot === slot && p.fn === fn)
      const ids = PCI_IDS[driver]
      if (found === undefined) problems.push(`${driver} ${id}: nothing at 00:${s}.${f}`)
      else {
        if (found.qdevId !== id) problems.push(`00:${s}.${f}: qdev_id ${JSON.stringify(found.qdevId)}, expected ${JSON.stringify(id)}`)
        if (ids !== undefined && (found.vendor !== ids[0] || found.device !== ids[1])) {
          problems.push(`${driver} ${id} at 00:${s}.${f}: ${hex(found.vendor)}:${hex(found.device)}, expected ${hex(ids[0])}:${hex(ids[1])}`)
        }
        if (driver === "ioh3420") rootPorts.add(id)
      }
    } else if (bus !== undefined && rootPorts.has(bus)) {
      checked++
      const behind = peripherals.filter((p) => p.parentBus === `/machine/peripheral/${bus}/${bus}`)
      if (behind.length !== 1) problems.push(`${behind.length} devices behind ${bus}, expected 1`)
      const found = behind[0]
      if (found !== undefined) {
        if (found.type !== driver) problems.push(`behind ${bus}: ${found.type}, expected ${driver}`)
        if (found.id !== id) problems.push(`behind ${bus}: id ${JSON.stringify(found.id)}, expected ${JSON.stringify(id)}`)
        if (found.devfn !== 0) problems.push(`${driver} behind ${bus} at devfn ${found.devfn}, expected 0 (slot 0 function 0)`)
      }
    } else if (bus !== undefined && id !== "") {
      const found = peripherals.find((p) => p.id === id)
      if (found === undefined) problems.push(`${driver} ${id} not found in QOM`)
      else if (!found.parentBus.endsWith(`/${bus}`)) problems.push(`${id} sits on ${found.parentBus}, expected bus ${bus}`)
    }
  }
  for (const p of pci.filter((p) => p.parent === undefined)) {
    const key = `${p.slot}.${p.fn}`
    if (!onRootBus.has(key) && !Q35_BUILTINS.has(key)) {
      problems.push(`unexpected PCI function 00:${p.slot.toString(16)}.${p.fn} (${hex(p.vendor)}:${hex(p.device)})`)
    }
  }
  for (const port of rootPorts) {
    const carried = devices.some((d) => get(d, "bus") === port)
    const behind = peripherals.filter((p) => p.parentBus === `/machine/peripheral/${port}/${port}`)
    if (!carried && behind.length !== 0) problems.push(`${behind.length} unexpected devices behind ${port}`)
  }
  if (problems.length > 0) throw new Error(`QEMU's device tree disagrees with the generated topology:\n${problems.join("\n")}`)
  return checked
}

// ---------------------------------------------------------------------------------------------
// The check

/** Generates a machine's options, runs them in real QEMU (`-S`) and checks the PCI layout. */
export const acceptanceCheck = async (
  hostJsonText: string,
  machineJsonText: string,
  machineFileName: string,
  options: AcceptanceOptions = {}
): Promise<AcceptanceResult> => {
  const timeoutMs = options.timeoutMs ?? 30_000
  const name = machineNameOfFile(path.basename(machineFileName)) ?? machineFileName
  const requested = options.accelerator ?? (process.env["MACHINA_E2E_ACCEL"] as AcceptanceOptions["accelerator"]) ?? "tcg"
  const accelerator = requested === "auto" ? (kvmUsable() ? "kvm" : "tcg") : requested
  const substitutions: Array<string> = []
  const hostJson = JSON.parse(hostJsonText) as Record<string, unknown>
  if (accelerator === "tcg" && hostJson["accelerator"] !== "tcg") {
    hostJson["accelerator"] = "tcg"
    substitutions.push("generated for accelerator tcg (-accel tcg, -cpu max, no Hyper-V flags)")
  }
  const result = generateFromText(JSON.stringify(hostJson), machineJsonText, name)
  if (Either.isLeft(result)) throw new Error(`generation failed:\n${result.left.message}`)
  const generated = result.right
  const opts = generated.map(editable)
  const tmp = await fsp.mkdtemp("/tmp/mqa-")
  let qemu: Started | undefined
  let swtpm: Started | undefined
  let client: QmpTestClient | undefined
  try {
    await fsp.mkdir(path.join(tmp, "f"))
    const machineOpt = opts.find((o) => o.type === "machine")!
    const pflash0 = get(machineOpt, "pflash0")
    const pflash1 = get(machineOpt, "pflash1")
    const secure = opts.some((o) => o.type === "global" && get(o, "driver") === "cfi.pflash01" && get(o, "property") === "secure" && get(o, "value") === "on")
    const rawChildren = new Set(opts.filter((o) => o.type === "blockdev" && get(o, "driver") === "raw").map((o) => get(o, "file")!))
    let qmpSocket: string | undefined
    const monitors = new Set(opts.filter((o) => o.type === "mon").map((o) => get(o, "chardev")!))
    const kept: Array<EditableOption> = []
    for (const o of opts) {
      if (o.type === "blockdev" && get(o, "driver") === "file") {
        const node = get(o, "node-name")!
        const file = path.join(tmp, "f", node)
        if (node === pflash0) await fsp.copyFile(secure ? OVMF_CODE_SECURE : OVMF_CODE, file)
        else if (node === pflash1) await fsp.copyFile(OVMF_VARS, file)
        else await sparseFile(file, rawChildren.has(node) ? 64 << 20 : 1 << 20)
        substitutions.push(`${node}: ${get(o, "filename")} → ${file}`)
        set(o, "filename", file)
      } else if (o.type === "chardev" && get(o, "path") !== undefined) {
        const id = get(o, "id")!
        const socket = path.join(tmp, `${id}.sock`)
        substitutions.push(`chardev ${id}: ${get(o, "path")} → ${socket}`)
        set(o, "path", socket)
        if (monitors.has(id)) qmpSocket ??= socket
        if (get(o, "server") === undefined) {
          // a client socket: the TPM; start a real swtpm behind it
          const state = path.join(tmp, "tpm")
          await fsp.mkdir(state, { recursive: true })
          swtpm = start("swtpm", ["socket", "--tpm2", "--terminate", "--ctrl", `type=unixio,path=${socket}`, "--tpmstate", `dir=${state}`])
          await waitFor(() => fs.existsSync(socket), timeoutMs, "the swtpm socket", () =>
            swtpm!.exited() !== undefined ? `swtpm exited: ${swtpm!.stderr()}` : undefined)
          substitutions.push(`swtpm started for ${id}`)
        }
      } else if (o.type === "chardev" && get(o, "port") !== undefined) {
        const port = String(await freePort())
        substitutions.push(`chardev ${get(o, "id")}: port ${get(o, "port")} → ${port}`)
        set(o, "port", port)
      } else if (o.type === "m") {
        const size = get(o, "size")!
        if (parseInt(size, 10) > MAX_TEST_MEMORY_MIB) {
          substitutions.push(`memory: ${size} → ${MAX_TEST_MEMORY_MIB}M`)
          set(o, "size", `${MAX_TEST_MEMORY_MIB}M`)
        }
      } else if (o.type === "spice") {
        const port = String(await freePort())
        substitutions.push(`spice: port ${get(o, "port")} → ${port}`)
        set(o, "port", port)
      } else if (o.type === "netdev" && o.params[0]?.[0] === "tap") {
        const id = get(o, "id")!
        substitutions.push(`netdev ${id}: tap → user`)
        o.params = [["user", ""], ["id", id]]
      } else if (o.type === "device" && o.params[0]?.[0] === "vfio-pci") {
        substitutions.push(`device ${get(o, "id")} (vfio-pci) left out; its root port ${get(o, "bus")} stays`)
        continue
      } else if (o.type === "kernel") {
        const file = path.join(tmp, "f", "kernel")
        await fsp.writeFile(file, fakeBzImage())
        substitutions.push(`kernel: ${o.verbatim} → ${file} (a bzImage header)`)
        o.verbatim = file
      } else if (o.type === "initrd") {
        const file = path.join(tmp, "f", "initrd")
        await fsp.writeFile(file, Buffer.alloc(4096))
        substitutions.push(`initrd: ${o.verbatim} → ${file}`)
        o.verbatim = file
      }
      kept.push(o)
    }
    if (qmpSocket === undefined) {
      qmpSocket = path.join(tmp, "acceptance.qmp.sock")
      kept.push(
        { type: "chardev", params: [["socket", ""], ["id", "acceptance.qmp"], ["server", "on"], ["wait", "off"], ["path", qmpSocket]], verbatim: undefined },
        { type: "mon", params: [["chardev", "acceptance.qmp"], ["mode", "control"]], verbatim: undefined }
      )
      substitutions.push("QMP monitor added (the machine has none)")
    }
    const argv = kept.flatMap(renderEditable)
    qemu = start(QEMU_EXECUTABLE, ["-S", ...argv])
    const socket = qmpSocket
    await waitFor(() => fs.existsSync(socket), timeoutMs, "the QMP socket", () =>
      qemu!.exited() !== undefined ? `QEMU exited (${qemu!.exited()}): ${qemu!.stderr()}` : undefined)
    // The socket file appears at bind(), a moment before listen(): retry refused connections.
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        client = await QmpTestClient.connect(socket, timeoutMs)
        break
      } catch (e) {
        const refused = (e as NodeJS.ErrnoException).code === "ECONNREFUSED"
        if (!refused || qemu.exited() !== undefined || Date.now() > deadline) {
          await stop(qemu, 5_000)
          throw new Error(`QEMU refused the command line (${String(e)}): ${qemu.stderr()}\nargv: ${argv.join(" ")}`)
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const pci = flattenPci((await client.execute("query-pci", undefined, timeoutMs)) as ReadonlyArray<{ devices: ReadonlyArray<QmpPciDevice> }>)
    const blocks = (await client.execute("query-block", undefined, timeoutMs)) as ReadonlyArray<{ inserted?: { "node-name"?: string } }>
    const inserted = new Set(blocks.flatMap((b) => (b.inserted?.["node-name"] !== undefined ? [b.inserted["node-name"]] : [])))
    const devices = kept.filter((o) => o.type === "device")
    for (const d of devices) {
      const drive = get(d, "drive")
      if (drive !== undefined && !inserted.has(drive)) throw new Error(`query-block: ${drive} is not attached (device ${renderEditable(d)[1]})`)
    }
    const peripherals = await qomPeripherals(client, timeoutMs)
    const checkedPciDevices = checkPlacement(devices, pci, peripherals)
    await client.execute("quit", undefined, timeoutMs).catch(() => undefined)
    await stop(qemu, 10_000)
    return { generated: toArgv(generated), argv, substitutions, pci, checkedPciDevices }
  } finally {
    client?.close()
    await stop(qemu, 100)
    await stop(swtpm, 2_000)
    await fsp.rm(tmp, { recursive: true, force: true })
  }
}

/**
 * From a merged machine definition to QEMU options (qemu.md §1): the generation pipeline.
 *
 * The steps run in the original's order, which decides topology indexes and therefore PCI
 * addresses: defaults (pvpanic) → identity → firmware → attributes (CPU, memory, TPM, QMP, guest
 * agent, SPICE; then direct kernel boot) → volumes → connections → mediated devices → the serial
 * console (machina's own, after everything the original placed).
 *
 * Every problem becomes a ConfigIssue pointing at the file and JSON path the offending value came
 * from, and generation carries on after a problem so that one run reports all of them.
 *
 * Deviations from the original, besides those documented in the modules:
 * - `memory.ram` unset is an error (the original crashed with a nil dereference).
 * - Errors in firmware volumes are reported (the original ignored block node errors there), and
 *   firmware volumes must live in a pool of type `firmware`: through another handler the original
 *   also attached the image as a guest disk, which conflicts with the pflash device.
 * - An enabled guest agent or SPICE without `port` and `port-pattern` gets a message saying so
 *   instead of the original's `strconv.Atoi: parsing ""`.
 * - Messages about unknown pools, networks, classes, processors and revisions list what is defined,
 *   and their wording differs from the original's (`volume <v> uses an unspecified machina storage
 *   pool: <p>` became `<file>: <path>.storage: storage pool "<p>" is not defined (defined pools: ...)`).
 *   Controller-full, node-name and port-pattern texts keep the original's wording.
 */
import * as Either from "effect/Either"
import { dedupeIssues, type Definition, isVolumeSet, type Storage, type Volume } from "../Config.js"
import type { Host, Machine } from "../ConfigFiles.js"
import { at, type ConfigInvalidError, type ConfigIssue, invalid, issueAt, jsonPath, type Origin } from "../ConfigIssue.js"
import type { Composed } from "../Merge.js"
import { consoleSocketPath, qmpSocketPaths, RUN_DIR, tpmSocketPath } from "../Paths.js"
import { posixJoin } from "../GoText.js"
import { describeStorageVars, effectivePort, firstWinsVars, type PatternError, volumeFileName } from "../Pattern.js"
import { isZeroUuid } from "../Uuid.js"
import { clampDisplays, QXL_MEMORY_BYTES, QXL_MEMORY_PROPERTIES, qxlDevice } from "./Display.js"
import { cpuIdentity, cpuParameters, selectProcessor } from "./GuestSettings.js"
import { defaultRevision, type HardwareRevision, resolveRevision, VERSIONED_Q35 } from "./HardwareRevision.js"

/** What a QEMU machine type name may hold (it is also cleaned like any parameter value). */
const MACHINE_TYPE = /^[A-Za-z0-9._-]+$/
import { spiceChardev, tcpServerChardev, unixSocketChardev } from "./HostResources.js"
import { virtioNetDevice, tapNetdev } from "./Network.js"
import type { QemuOption } from "./Options.js"
import { pvpanicDevice } from "./Panic.js"
import { CONSOLE_CHARDEV_ID, consoleDevice } from "./Serial.js"
import { attachVolume, isStorageType, STORAGE_TYPES, type VolumeAttachError, volumeNodeName } from "./Storage.js"
import { TPM_CHARDEV_ID, tpmBackend, tpmDevice } from "./Tpm.js"
import { swtpmPathProblem, TPM_DATA_POOL_TYPE, tpmStateOf } from "../TpmState.js"
import { STABLE_LAYOUT } from "./Topology.js"
import { offeredClasses, parentsOffering, vfioDevice } from "./Vfio.js"
import { VmBuilder } from "./Vm.js"

/** Everything a step needs. */
interface Context {
  readonly host: Host
  readonly machine: Machine
  readonly definition: Definition
  readonly composed: Composed
  readonly vm: VmBuilder
  readonly revision: HardwareRevision
  readonly issues: Array<ConfigIssue>
  /** Where the machine's runtime directory lives (QMP and TPM sockets); /run/machina for units. */
  readonly runDir: string
  /** See `volumePath`. */
  readonly patternVars: ReadonlyMap<string, string>
  /** Pool pattern problems already reported (pool and message). */
  readonly reportedPatterns: Set<string>
  /** Where machina-ifup/-ifdown are installed; undefined = /usr/bin. */
  readonly binDir: string | undefined
}

export interface GenerateOptions {
  /** Runtime directory root; default `/run/machina` (what the unit's RuntimeDirectory= creates). */
  readonly runDir?: string
  /**
   * Where `machina-ifup`/`machina-ifdown` are installed (`install --prefix P` puts them in P/bin);
   * default `/usr/bin`. Taps without their own scripts call these.
   */
  readonly binDir?: string | undefined
}

const report = (ctx: Context, origin: Origin, message: string): void => {
  ctx.issues.push(issueAt(origin, message))
}

/** Where a merged attribute came from; the machine file's own path when nothing set it. */
const attrOriginOf = (composed: Composed, key: string): Origin =>
  composed.origins.attrs[key] ?? { file: composed.machine.file, path: jsonPath(["attrs", ...key.split(".")]) }

const attrOrigin = (ctx: Context, key: string): Origin => attrOriginOf(ctx.composed, key)

const listOf = (names: ReadonlyArray<string>): string => [...names].sort().join(", ")

// ---------------------------------------------------------------------------------------------
// Storage pools

/** The pool a volume names, or undefined after reporting it at `origin` (the `storage` field). */
const lookupPool = (ctx: Context, poolName: string, origin: Origin): Storage | undefined => {
  const pools = ctx.host.config.storage
  if (Object.prototype.hasOwnProperty.call(pools, poolName)) return pools[poolName]
  const names = Object.keys(pools)
  report(
    ctx,
    origin,
    `storage pool ${JSON.stringify(poolName)} is not defined` +
      (names.length > 0 ? ` (defined pools: ${listOf(names)})` : ` (${ctx.host.file} defines no storage pools)`)
  )
  return undefined
}

const poolTypeOrigin = (ctx: Context, poolName: string): Origin => ({
  file: ctx.host.file,
  path: jsonPath(["storage", poolName, "type"])
})

/** The storage-pattern variables of a machine (config.md §5.2) but `volume`: built-ins, then the merged vars. */
const patternVars = (machine: Machine, definition: Definition): ReadonlyMap<string, string> =>
  firstWinsVars(
    { "machine-name": machine.name, "machine-description": machine.description, "machine-id": machine.id },
    definition.vars
  )

/** Pattern errors that depend only on the pattern, not on the machine or volume using it. */
const isPatternOnly = (e: PatternError): boolean =>
  e._tag === "PatternMalformedError" || e._tag === "PatternSyntaxError" ||
  (e._tag === "PatternOverflowError" && e.operation === "literal")

/**
 * The file of a volume, or undefined after reporting a pattern problem at the pool's `pattern`.
 * Its variables are the built-ins, then `volume`, then the merged vars; no built-in is named
 * `volume`, so it is looked up first, before the machine's (shared) variables. `user` names what
 * uses the volume (`volume "os"`), for messages.
 */
const volumePath = (ctx: Context, poolName: string, pool: Storage, volume: string, user: string): string | undefined => {
  const path = volumeFileName(
    pool,
    (name) => (name === "volume" ? volume : ctx.patternVars.get(name)),
    volume,
    () => describeStorageVars(ctx.definition.vars, ctx.composed.origins.vars)
  )
  if (Either.isRight(path)) return path.right
  const e = path.left
  // Once per pool and problem: the first volume using the pool is named.
  const key = `${poolName}\u0000${e.message}`
  if (ctx.reportedPatterns.has(key)) return undefined
  ctx.reportedPatterns.add(key)
  report(
    ctx,
    { file: ctx.host.file, path: jsonPath(["storage", poolName, "pattern"]) },
    e.message + (isPatternOnly(e) ? "" : `; used by ${user} of machine ${ctx.machine.name}`)
  )
  return undefined
}

/** Maps a handler's error to the field of the volume it is about. */
const volumeErrorOrigin = (origin: Origin, error: VolumeAttachError): Origin => {
  switch (error._tag) {
    case "BlockNodeNameInvalidError":
    case "BlockNodeConflictError":
      return at(origin, "name")
    case "BlockNodeEmptyPathError":
      return at(origin, "storage")
    case "ScsiWwnTooWideError":
      return at(origin, "wwn")
    default:
      return origin
  }
}

const volumeMessage = (volume: Volume, error: VolumeAttachError): string =>
  error._tag === "BlockNodeNameInvalidError" || error._tag === "BlockNodeConflictError"
    ? `volume ${JSON.stringify(volume.name)}: ${error.message}`
    : error.message

// ---------------------------------------------------------------------------------------------
// Steps

/** Step 1: the clock and, from revision 2024.12, the pvpanic device at index 0. */
const defaults = (ctx: Context): void => {
  if (ctx.revision.pvpanic) {
    const added = ctx.vm.topology.addOnRootBus((slot) => pvpanicDevice(ctx.vm.ids.allocate("panic"), slot), { fixed: STABLE_LAYOUT.fixed.pvpanic })
    if (Either.isLeft(added)) report(ctx, { file: ctx.machine.file, path: "$" }, added.left.message)
  }
}

/**
 * Step 2: `-uuid` (unless zero), `-name`, the host's accelerator, and the pinned machine type
 * (required in the form `pc-q35-X.Y` by revisions that pin it).
 */
const identity = (ctx: Context): void => {
  const { guest } = ctx.vm
  const machineType = ctx.definition.attrs.hardware.machineType
  if (machineType !== "") {
    if (!MACHINE_TYPE.test(machineType)) {
      report(ctx, attrOrigin(ctx, "hardware.machine-type"), `machine type ${JSON.stringify(machineType)} is not a QEMU machine type name (letters, digits, '.', '_', '-')`)
    } else if (ctx.revision.pinsMachineType && !VERSIONED_Q35.test(machineType)) {
      report(ctx, attrOrigin(ctx, "hardware.machine-type"), `hardware revision ${ctx.revision.name} needs a versioned q35 machine type such as "pc-q35-7.2", not ${JSON.stringify(machineType)}`)
    } else guest.machineType = machineType
  } else if (ctx.revision.pinsMachineType) {
    report(
      ctx,
      attrOrigin(ctx, "hardware.machine-type"),
      `hardware revision ${ctx.revision.name} pins the QEMU machine type: set hardware.machine-type to a versioned q35 type such as "pc-q35-7.2" ` +
        `(machina pin-hardware ${ctx.machine.name} records the newest one of the installed QEMU)`
    )
  }
  guest.uuid = isZeroUuid(ctx.machine.idBytes) ? "" : ctx.machine.id
  guest.name = ctx.machine.name
  guest.accelerator = ctx.host.config.accelerator
}

interface FirmwareImage {
  readonly node: string
  readonly path: string
  readonly readOnly: boolean
  readonly origin: Origin
}

const firmwareImage = (ctx: Context, key: "firmware.code" | "firmware.vars", volume: Volume): FirmwareImage | undefined => {
  const origin = attrOrigin(ctx, key)
  const pool = lookupPool(ctx, volume.storage, at(origin, "storage"))
  if (pool === undefined) return undefined
  if (pool.type !== "firmware") {
    report(
      ctx,
      at(origin, "storage"),
      `firmware volume ${JSON.stringify(volume.name)} needs a storage pool of type "firmware"; ` +
        `pool ${JSON.stringify(volume.storage)} has type ${JSON.stringify(pool.type)}`
    )
    return undefined
  }
  const path = volumePath(ctx, volume.storage, pool, volume.name, `${key} ${JSON.stringify(volume.name)}`)
  if (path === undefined) return undefined
  return {
    node: volumeNodeName("firmware", ctx.machine.name, volume.name, pool.readonly),
    path,
    readOnly: pool.readonly,
    origin
  }
}

/** Step 3: OVMF code and variables as pflash block nodes (only when `firmware.code` is set). */
const firmware = (ctx: Context): void => {
  const { code, vars } = ctx.definition.attrs.firmware
  if (!isVolumeSet(code)) return
  const codeImage = firmwareImage(ctx, "firmware.code", code)
  const varsImage = isVolumeSet(vars) ? firmwareImage(ctx, "firmware.vars", vars) : undefined
  const { vm } = ctx
  vm.guest.pflash0 = codeImage?.node ?? ""
  vm.guest.pflash1 = varsImage?.node ?? ""
  vm.globals.push({ driver: "cfi.pflash01", property: "secure", value: "on" })
  for (const image of [codeImage, varsImage]) {
    if (image === undefined) continue
    const added = vm.resources.addFileNode(image.node, image.path, image.readOnly)
    if (Either.isLeft(added)) {
      report(ctx, at(image.origin, added.left._tag === "BlockNodeEmptyPathError" ? "storage" : "name"), added.left.message)
    }
  }
}

/** Step 4a: processor, `-cpu`, `-smp`. */
const cpu = (ctx: Context): void => {
  const attrs = ctx.definition.attrs
  const selected = selectProcessor(ctx.host.config.processor, attrs.cpu.processor)
  if (Either.isLeft(selected)) report(ctx, attrOrigin(ctx, "cpu.processor"), selected.left.message)
  const { brand, threads } = cpuIdentity(Either.getOrUndefined(selected), attrs.cpu.threads)
  ctx.vm.guest.cpu = cpuParameters({
    accelerator: ctx.host.config.accelerator,
    brand,
    threads,
    enlightenments: attrs.enlightenments.enabled,
    revision: ctx.revision
  })
  ctx.vm.guest.smp = { sockets: attrs.cpu.sockets, cores: attrs.cpu.cores, threads }
}

/** Step 4b: `-m`; required (the original crashed without it). */
const memory = (ctx: Context): void => {
  const ram = ctx.definition.attrs.memory.ram
  if (ram > 0) ctx.vm.guest.memoryMiB = ram
  else {
    report(
      ctx,
      { file: ctx.machine.file, path: "$.attrs.memory.ram" },
      "memory.ram is required: set the guest's RAM size in MiB in the machine file or one of its tags"
    )
  }
}

/** Step 4c: TPM socket, backend and `tpm-tis` (an index without an address); `tpm.data` must be in a `tpm-data` pool. */
const tpm = (ctx: Context): void => {
  const attrs = ctx.definition.attrs
  if (!attrs.tpm.enabled) return
  if (isVolumeSet(attrs.tpm.data)) {
    const origin = attrOrigin(ctx, "tpm.data")
    const pool = lookupPool(ctx, attrs.tpm.data.storage, at(origin, "storage"))
    if (pool !== undefined && pool.type !== TPM_DATA_POOL_TYPE) {
      report(
        ctx,
        at(origin, "storage"),
        `tpm data ${JSON.stringify(attrs.tpm.data.name)} needs a storage pool of type "tpm-data"; ` +
          `pool ${JSON.stringify(attrs.tpm.data.storage)} has type ${JSON.stringify(pool.type)}`
      )
    }
  }
  const state = tpmStateOf(ctx.host, ctx.composed)
  const problem = state === undefined ? undefined : swtpmPathProblem(state.path)
  if (problem !== undefined) {
    report(ctx, at(attrOrigin(ctx, "tpm.data"), "name"), `the TPM state directory ${JSON.stringify(state!.path)} cannot be given to swtpm: ${problem}`)
  }
  const path = tpmSocketPath(ctx.machine.name, attrs.tpm.socket.path, ctx.runDir)
  ctx.vm.resources.addChardev(unixSocketChardev(TPM_CHARDEV_ID, path, false))
  ctx.vm.resources.addTpmdev(tpmBackend)
  ctx.vm.topology.addWithoutAddress(tpmDevice)
}

/** Step 4d: one server socket and monitor per QMP socket path. */
const qmp = (ctx: Context): void => {
  const attrs = ctx.definition.attrs
  if (!attrs.qmp.enabled) return
  const paths = qmpSocketPaths(ctx.machine.name, attrs.qmp.sockets, ctx.runDir)
  if (paths.length === 0) report(ctx, attrOrigin(ctx, "qmp.enabled"), "no socket paths were provided for QMP")
  paths.forEach((path, i) => {
    const id = `qmp.${i}`
    ctx.vm.resources.addChardev(unixSocketChardev(id, path, true))
    ctx.vm.guest.monitors.push(id)
  })
}

/** The effective port of the agent or SPICE, or undefined after reporting the problem. */
const portOf = (ctx: Context, feature: "agent.qemu" | "spice", what: string): number | undefined => {
  const settings = feature === "spice" ? ctx.definition.attrs.spice : ctx.definition.attrs.agent.qemu
  if (settings.port === 0 && settings.portPattern === "") {
    report(
      ctx,
      attrOrigin(ctx, `${feature}.enabled`),
      `failed to determine ${what} port: neither ${feature}.port nor ${feature}.port-pattern is set`
    )
    return undefined
  }
  const port = effectivePort(settings.port, settings.portPattern, ctx.definition.vars, { origins: ctx.composed.origins.vars })
  if (Either.isRight(port)) return port.right
  report(ctx, attrOrigin(ctx, `${feature}.port-pattern`), `failed to determine ${what} port: ${port.left.message}`)
  return undefined
}

/** Reports a failed step at `origin`. */
const reportFailure = (ctx: Context, origin: Origin, result: Either.Either<unknown, { readonly message: string }>): void => {
  if (Either.isLeft(result)) report(ctx, origin, result.left.message)
}

/** A port on the virtio-serial controller (created on first use). */
const addSerialPort = (ctx: Context, chardev: string, name: string): Either.Either<string, { readonly message: string }> => {
  const serial = ctx.vm.serialController()
  return Either.isLeft(serial) ? Either.left(serial.left) : serial.right.addPort(chardev, name)
}

/** Step 4e: the guest agent's TCP channel on a virtio-serial port. */
const agent = (ctx: Context): void => {
  if (!ctx.definition.attrs.agent.qemu.enabled) return
  const origin = attrOrigin(ctx, "agent.qemu.enabled")
  const port = portOf(ctx, "agent.qemu", "QEMU Agent")
  if (port === undefined) return
  ctx.vm.resources.addChardev(tcpServerChardev("guestagent", "127.0.0.1", port))
  reportFailure(ctx, origin, addSerialPort(ctx, "guestagent", "org.qemu.guest_agent.0"))
}

/** Step 4f: SPICE server, QXL heads, vdagent channel, tablet and two USB redirections. */
const spice = (ctx: Context): void => {
  const settings = ctx.definition.attrs.spice
  if (!settings.enabled) return
  const origin = attrOrigin(ctx, "spice.enabled")
  const { vm } = ctx
  const port = portOf(ctx, "spice", "spice")
  if (port !== undefined) vm.guest.spicePort = port
  vm.guest.vmport = false
  for (const property of QXL_MEMORY_PROPERTIES) {
    vm.globals.push({ driver: "qxl-vga", property, value: String(QXL_MEMORY_BYTES) })
  }
  const displays = clampDisplays(settings.displays)
  for (let head = 0; head < displays; head++) {
    const added = vm.topology.addOnRootBus((slot) => qxlDevice(vm.ids.allocate("qxl"), head === 0, slot), { fixed: STABLE_LAYOUT.fixed.display + head })
    if (Either.isLeft(added)) report(ctx, attrOrigin(ctx, "spice.displays"), added.left.message)
  }
  vm.resources.addChardev(spiceChardev("vdagent", "vdagent"))
  reportFailure(ctx, origin, addSerialPort(ctx, "vdagent", "com.redhat.spice.0"))
  const usb = vm.usbController()
  if (Either.isLeft(usb)) return report(ctx, origin, usb.left.message)
  reportFailure(ctx, origin, usb.right.addTablet())
  for (let i = 0; i < 2; i++) {
    const id = `usbredir.${i}`
    vm.resources.addChardev(spiceChardev(id, "usbredir"))
    reportFailure(ctx, origin, usb.right.addRedirection(id))
  }
}

/** Step 4g: `-kernel`, `-initrd`, `-append` (kernel and initrd located through storage pools). */
const kernelBoot = (ctx: Context): void => {
  const boot = ctx.definition.attrs.boot
  const locate = (key: "boot.kernel" | "boot.initrd", volume: Volume): string => {
    const origin = attrOrigin(ctx, key)
    const pool = lookupPool(ctx, volume.storage, at(origin, "storage"))
    if (pool === undefined) return ""
    const path = volumePath(ctx, volume.storage, pool, volume.name, `${key} ${JSON.stringify(volume.name)}`)
    if (path === undefined) return ""
    if (path === "") report(ctx, at(origin, "storage"), `an empty path was computed for ${key} ${JSON.stringify(volume.name)}`)
    return path
  }
  const hasKernel = isVolumeSet(boot.kernel)
  if (!hasKernel) {
    if (isVolumeSet(boot.initrd)) {
      report(ctx, attrOrigin(ctx, "boot.initrd"), "boot.initrd is only used with boot.kernel, which is not set")
    }
    if (boot.append !== "") {
      report(ctx, attrOrigin(ctx, "boot.append"), "boot.append is only used with boot.kernel, which is not set")
    }
    return
  }
  ctx.vm.guest.kernelBoot = {
    kernel: locate("boot.kernel", boot.kernel),
    initrd: isVolumeSet(boot.initrd) ? locate("boot.initrd", boot.initrd) : "",
    append: boot.append
  }
}

/** Step 5: volumes in merged order, each through its pool's handler. */
const volumes = (ctx: Context): void => {
  ctx.definition.volumes.forEach((volume, i) => {
    const origin = ctx.composed.origins.volumes[i] ?? { file: ctx.machine.file, path: jsonPath(["volumes", i]) }
    const pool = lookupPool(ctx, volume.storage, at(origin, "storage"))
    if (pool === undefined) return
    if (!isStorageType(pool.type)) {
      report(
        ctx,
        poolTypeOrigin(ctx, volume.storage),
        `storage pool ${JSON.stringify(volume.storage)} has storage type ${JSON.stringify(pool.type)} which has no handler defined ` +
          `(known types: ${STORAGE_TYPES.join(", ")}); volume ${JSON.stringify(volume.name)} of machine ${ctx.machine.name} uses it`
      )
      return
    }
    const path = volumePath(ctx, volume.storage, pool, volume.name, `volume ${JSON.stringify(volume.name)}`)
    if (path === undefined) return
    const attached = attachVolume(ctx.vm, {
      type: pool.type,
      machine: ctx.machine.name,
      volume,
      readOnlyPool: pool.readonly,
      path
    })
    if (Either.isLeft(attached)) report(ctx, volumeErrorOrigin(origin, attached.left), volumeMessage(volume, attached.left))
  })
}

/** Step 6: a tap backend and a virtio-net NIC on its own root port per connection. */
const connections = (ctx: Context): void => {
  const networks = ctx.host.config.network
  ctx.definition.connections.forEach((connection, i) => {
    const origin = ctx.composed.origins.connections[i] ?? { file: ctx.machine.file, path: jsonPath(["connections", i]) }
    const network = Object.prototype.hasOwnProperty.call(networks, connection.network) ? networks[connection.network] : undefined
    if (network === undefined) {
      const names = Object.keys(networks)
      report(
        ctx,
        at(origin, "network"),
        `network ${JSON.stringify(connection.network)} is not defined` +
          (names.length > 0 ? ` (defined networks: ${listOf(names)})` : ` (${ctx.host.file} defines no networks)`)
      )
      return
    }
    const id = `net.${i}`
    ctx.vm.resources.addNetdev(
      tapNetdev({
        id,
        machine: ctx.machine.name,
        connection: connection.name,
        up: network.up !== "" || ctx.binDir === undefined ? network.up : posixJoin(ctx.binDir, "machina-ifup"),
        down: network.down !== "" || ctx.binDir === undefined ? network.down : posixJoin(ctx.binDir, "machina-ifdown"),
        existing: ctx.definition.privileges.user !== ""
      })
    )
    reportFailure(ctx, origin, ctx.vm.topology.addRootPort((bus) => virtioNetDevice(bus, connection.mac, id), { region: "connections" }))
  })
}

/** Step 7: a vfio-pci device on its own root port per mediated device. */
const devices = (ctx: Context): void => {
  const mdev = ctx.host.config.mdev
  ctx.definition.devices.forEach((device, i) => {
    const origin = ctx.composed.origins.devices[i] ?? { file: ctx.machine.file, path: jsonPath(["devices", i]) }
    if (parentsOffering(mdev, device.class).length === 0) {
      const classes = offeredClasses(mdev)
      report(
        ctx,
        at(origin, "class"),
        `device class ${JSON.stringify(device.class)} is not offered by any mediated device` +
          (classes.length > 0 ? ` (offered classes: ${classes.join(", ")})` : ` (${ctx.host.file} defines no mdev entries)`)
      )
      return
    }
    const id = ctx.vm.ids.allocate("vfio")
    reportFailure(ctx, origin, ctx.vm.topology.addRootPort((bus) => vfioDevice(id, bus, device.id), { region: "devices" }))
  })
}

/**
 * Step 8 (`console.enabled`): the serial console, a listening socket in the runtime directory and
 * an ISA serial port on it. Last, and without a PCI address, so it moves no other device (in the
 * sequential layout an entry added earlier would shift every later address).
 */
const serialConsole = (ctx: Context): void => {
  if (!ctx.definition.attrs.console.enabled) return
  ctx.vm.resources.addChardev(unixSocketChardev(CONSOLE_CHARDEV_ID, consoleSocketPath(ctx.machine.name, ctx.runDir), true))
  ctx.vm.topology.addWithoutAddress(consoleDevice)
}

/** A file a machine's QEMU opens, located through a storage pool. */
export interface MachineFile {
  /** What it is, e.g. `volume os`, `firmware.vars`, `boot.kernel`. */
  readonly what: string
  readonly path: string
  /** QEMU opens it for writing (raw disks and firmware in writable pools). */
  readonly writable: boolean
}

/**
 * The files QEMU of a machine opens, as generation locates them; volumes whose pool or type is
 * unknown are left out (generation reports them). Used to grant an unprivileged machine access
 * and to make exactly these paths writable in its unit.
 */
export const machineFiles = (host: Host, composed: Composed): ReadonlyArray<MachineFile> => {
  const vars = patternVars(composed.machine, composed.definition)
  const pools = host.config.storage
  const locate = (volume: Volume): { pool: Storage; path: string } | undefined => {
    if (!Object.prototype.hasOwnProperty.call(pools, volume.storage)) return undefined
    const pool = pools[volume.storage]!
    // A malformed pattern is reported by generation; here the volume is simply left out.
    const path = Either.getOrElse(volumeFileName(pool, (name) => (name === "volume" ? volume.name : vars.get(name)), volume.name), () => "")
    return path === "" ? undefined : { pool, path }
  }
  const out: Array<MachineFile> = []
  const attrs = composed.definition.attrs
  const add = (what: string, volume: Volume, writable: (pool: Storage) => boolean) => {
    if (!isVolumeSet(volume)) return
    const found = locate(volume)
    if (found !== undefined) out.push({ what, path: found.path, writable: writable(found.pool) })
  }
  if (isVolumeSet(attrs.firmware.code)) {
    add("firmware.code", attrs.firmware.code, (p) => !p.readonly)
    add("firmware.vars", attrs.firmware.vars, (p) => !p.readonly)
  }
  if (isVolumeSet(attrs.boot.kernel)) {
    add("boot.kernel", attrs.boot.kernel, () => false)
    add("boot.initrd", attrs.boot.initrd, () => false)
  }
  for (const volume of composed.definition.volumes) {
    add(`volume ${volume.name}`, volume, (p) => !p.readonly && (p.type === "raw" || p.type === "raw-scsi" || p.type === "raw-block" || p.type === "firmware"))
  }
  return out
}

/**
 * The QEMU options for a composed machine on a host (qemu.md), or every configuration problem
 * found on the way.
 */
export const generate = (
  host: Host,
  composed: Composed,
  options: GenerateOptions = {}
): Either.Either<ReadonlyArray<QemuOption>, ConfigInvalidError> => {
  const issues: Array<ConfigIssue> = []
  const pinned = resolveRevision(composed.definition.attrs.hardware.revision)
  if (Either.isLeft(pinned)) issues.push(issueAt(attrOriginOf(composed, "hardware.revision"), pinned.left.message))
  // With an unknown revision (reported above) the rest is still checked, against the default.
  const revision = Either.getOrElse(pinned, defaultRevision)
  const ctx: Context = {
    host,
    machine: composed.machine,
    definition: composed.definition,
    composed,
    vm: new VmBuilder(revision.layout),
    revision,
    issues,
    runDir: options.runDir ?? RUN_DIR,
    patternVars: patternVars(composed.machine, composed.definition),
    reportedPatterns: new Set(),
    binDir: options.binDir
  }
  defaults(ctx)
  identity(ctx)
  firmware(ctx)
  cpu(ctx)
  memory(ctx)
  tpm(ctx)
  qmp(ctx)
  agent(ctx)
  spice(ctx)
  kernelBoot(ctx)
  volumes(ctx)
  connections(ctx)
  devices(ctx)
  serialConsole(ctx)
  return issues.length > 0 ? Either.left(invalid(dedupeIssues(issues))) : Either.right(ctx.vm.options())
}

/**
 * The guest's PCI Express topology (qemu.md §7): an ordered list of top-level entries on the q35
 * root bus `pcie.0`, each taking the next index; index i sits at slot floor(i/8)+1, function i%8.
 * Root ports carry one downstream device (a NIC, a disk, a controller with its own children).
 * Also the id allocation ("bus map", §7.2) and the device tree rendered by a depth-first walk.
 *
 * Deviations from the original (qemu.md §7.1, §11.7), both only beyond 72 entries:
 * - `addr=` renders the slot in hexadecimal, which is how QEMU parses it (the original wrote
 *   decimal, so slot 10 landed at 0x10 and slots from 20 were refused). Identical for slots 1-9.
 *   Root port ids keep the decimal slot (`pcie.10.0`): they are names, not addresses.
 * - The root complex is full after slot 30 (240 addressed entries), not 256: slot 31 holds q35's
 *   built-in ICH9 functions and slot 32 does not exist. A full root complex is an error value.
 *
 * ## Layouts
 *
 * `sequential` (revisions 2023.04 and 2024.12, the original's): every entry takes the next index,
 * so an entry added early in the pipeline (a volume) shifts every later one (connections, devices),
 * and the TPM and SATA CD drives take an index without a PCI function (which can leave a slot whose
 * function 0 is empty, where guests do not look for its other functions).
 *
 * `stable` (revision 2026.12 on): addresses depend only on what a device is and how many of its
 * kind come before it, never on other kinds (`STABLE_LAYOUT`):
 * - slot 1 has fixed functions: 0 pvpanic, 1 virtio-serial, 2 xHCI, 3 virtio-scsi, 4-7 the QXL
 *   heads 0-3 (a controller created later, e.g. by the first SCSI volume, takes its own function and
 *   moves nothing);
 * - slots 2-11: root ports of disks that have one (raw-block), in volume order (80);
 * - slots 12-21: root ports of NICs, in connection order (80);
 * - slots 22-30: root ports of mediated devices, in device order (72);
 * - the TPM and SATA CD drives take no index at all.
 * Each range fills function 0 first, so every used slot has a function 0. Appending a volume,
 * connection or device therefore never moves an existing device; a full range is an error value
 * naming it. Root port ids and chassis numbers follow the address as in the sequential layout.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { flag, type Parameter, param } from "./Options.js"
import { LazyTaggedError } from "../LazyTaggedError.js"

// ---------------------------------------------------------------------------------------------
// Device tree

/** A `-device`, with the devices plugged into the bus it provides. */
export interface GuestDevice {
  readonly driver: string
  /** Evaluated when rendered: a controller's parameters may depend on its children (xHCI ports). */
  params(): ReadonlyArray<Parameter>
  children(): ReadonlyArray<GuestDevice>
}

const NO_CHILDREN: ReadonlyArray<GuestDevice> = []

// The devices made for every machine are class instances rather than object literals with arrow
// functions: no closures to allocate per device (under tsx, which keeps function names, each one
// also cost an `Object.defineProperty`).

class LeafDevice implements GuestDevice {
  constructor(readonly driver: string, private readonly parameters: ReadonlyArray<Parameter>) {}

  params(): ReadonlyArray<Parameter> {
    return this.parameters
  }

  children(): ReadonlyArray<GuestDevice> {
    return NO_CHILDREN
  }
}

/** A device with fixed parameters and no children. */
export const leafDevice = (driver: string, params: ReadonlyArray<Parameter>): GuestDevice => new LeafDevice(driver, params)

const visit = (out: Array<ReadonlyArray<Parameter>>, d: GuestDevice): void => {
  out.push([flag(d.driver)].concat(d.params()))
  for (const child of d.children()) visit(out, child)
}

/** Depth-first: each device, then its children in insertion order (qemu.md §7.4). */
export const walkDevices = (roots: ReadonlyArray<GuestDevice>): ReadonlyArray<ReadonlyArray<Parameter>> => {
  const out: Array<ReadonlyArray<Parameter>> = []
  for (const root of roots) visit(out, root)
  return out
}

// ---------------------------------------------------------------------------------------------
// Bus map

/** Id prefixes with their own counters (qemu.md §7.2). */
export type IdPrefix = "panic" | "qxl" | "serial" | "usb" | "scsi" | "sata" | "block" | "vfio"

/** One counter per prefix, shared by the whole VM: `allocate("qxl")` gives `qxl.0`, then `qxl.1`. */
export class BusMap {
  private readonly counters = new Map<IdPrefix, number>()

  allocate(prefix: IdPrefix): string {
    const n = this.counters.get(prefix) ?? 0
    this.counters.set(prefix, n + 1)
    return `${prefix}.${n}`
  }
}

// ---------------------------------------------------------------------------------------------
// Root complex

/** The root bus every top-level device and root port sits on. */
export const ROOT_BUS = "pcie.0"

/** Functions per slot; slot 0 is the q35 host bridge, so slots start at 1. */
const FUNCTIONS = 8

/** The last usable slot: 0x1f holds q35's ICH9 LPC, AHCI and SMBus functions. */
export const LAST_SLOT = 30

/** How many addressed entries fit on the root bus. */
export const MAX_ADDRESSED_ENTRIES = LAST_SLOT * FUNCTIONS

/** A topology index and the PCI address it stands for. */
export interface PcieSlot {
  readonly index: number
  readonly slot: number
  readonly fn: number
}

export const slotOf = (index: number): PcieSlot => ({
  index,
  slot: Math.floor(index / FUNCTIONS) + 1,
  fn: index % FUNCTIONS
})

/** `addr=<slot in hex>.<function>` as QEMU parses it. */
export const renderAddress = (s: PcieSlot): string => `${s.slot.toString(16)}.${s.fn}`

/** `bus=pcie.0,addr=<s>.<f>[,multifunction=on]`: function 0 always announces a multifunction slot. */
export const rootBusPlacement = (s: PcieSlot): ReadonlyArray<Parameter> =>
  s.fn === 0
    ? [param("bus", ROOT_BUS), param("addr", renderAddress(s)), param("multifunction", "on")]
    : [param("bus", ROOT_BUS), param("addr", renderAddress(s))]

/** The id of the root port at a slot: `pcie.<slot>.<function>` (decimal). */
export const rootPortId = (s: PcieSlot): string => `pcie.${s.slot}.${s.fn}`

/** No PCI address is left on the root bus (or, in the stable layout, in the range of a kind of device). */
export class RootComplexFullError extends LazyTaggedError<RootComplexFullError>()("RootComplexFullError", {
  limit: Schema.Number,
  region: Schema.optional(Schema.String)
}) {
  override get message(): string {
    if (this.region !== undefined) {
      const r = STABLE_LAYOUT.regions[this.region as StableRegion]
      return `the PCI Express root complex has no room left for ${this.region} (at most ${this.limit} on slots ${r?.first ?? "?"} to ${r?.last ?? "?"} in the stable layout)`
    }
    return `the PCI Express root complex is full and cannot accommodate more devices (at most ${this.limit} root ports and devices on slots 1 to ${LAST_SLOT})`
  }
}

/** The kinds of devices with their own slot range in the stable layout. */
export type StableRegion = "volumes" | "connections" | "devices"

/** Where the stable layout puts a device: a fixed function of slot 1, or the next place in a range. */
export type Placement = { readonly fixed: number } | { readonly region: StableRegion }

/** The stable layout's map (see the module comment). */
export const STABLE_LAYOUT = {
  fixed: { pvpanic: 0, serial: 1, usb: 2, scsi: 3, display: 4 },
  displays: 4,
  regions: {
    volumes: { first: 2, last: 11 },
    connections: { first: 12, last: 21 },
    devices: { first: 22, last: 30 }
  }
} as const

export type Layout = "sequential" | "stable"


/** A root port just added: its id names the bus of its downstream device. */
export interface RootPort {
  readonly slot: PcieSlot
  readonly id: string
}

/** `ioh3420,id=<id>,chassis=<index>,<placement>` and the one device on its bus. */
class RootPortDevice implements GuestDevice {
  readonly driver = "ioh3420"

  constructor(private readonly port: RootPort, private readonly child: GuestDevice) {}

  params(): ReadonlyArray<Parameter> {
    return [param("id", this.port.id), param("chassis", this.port.slot.index)].concat(rootBusPlacement(this.port.slot))
  }

  children(): ReadonlyArray<GuestDevice> {
    return [this.child]
  }
}

/** The ordered list of top-level entries. Mutable while a VM is being built. */
export class Topology {
  private readonly entries: Array<GuestDevice> = []
  /** Stable layout: entries placed so far per range, and the fixed functions taken. */
  private readonly regionCounts = new Map<StableRegion, number>()
  private readonly fixedTaken = new Set<number>()

  constructor(readonly layout: Layout = "sequential") {}

  /** How many top-level entries there are. */
  get size(): number {
    return this.entries.length
  }

  private next(where: Placement | undefined): Either.Either<PcieSlot, RootComplexFullError> {
    if (this.layout === "sequential") {
      const s = slotOf(this.entries.length)
      return s.slot > LAST_SLOT ? Either.left(new RootComplexFullError({ limit: MAX_ADDRESSED_ENTRIES })) : Either.right(s)
    }
    if (where === undefined) throw new Error("bug: the stable layout needs a placement for every addressed device")
    if ("fixed" in where) {
      if (this.fixedTaken.has(where.fixed)) throw new Error(`bug: slot 1 function ${where.fixed} is taken twice`)
      this.fixedTaken.add(where.fixed)
      return Either.right(slotOf(where.fixed))
    }
    const range = STABLE_LAYOUT.regions[where.region]
    const n = this.regionCounts.get(where.region) ?? 0
    const capacity = (range.last - range.first + 1) * FUNCTIONS
    if (n >= capacity) return Either.left(new RootComplexFullError({ limit: capacity, region: where.region }))
    this.regionCounts.set(where.region, n + 1)
    return Either.right(slotOf((range.first - 1) * FUNCTIONS + n))
  }

  /** A device with its own PCI address on the root bus (pvpanic, QXL); `where` is for the stable layout. */
  addOnRootBus(make: (slot: PcieSlot) => GuestDevice, where?: Placement): Either.Either<PcieSlot, RootComplexFullError> {
    const next = this.next(where)
    if (Either.isRight(next)) this.entries.push(make(next.right))
    return next
  }

  /**
   * A device without a PCI address (tpm-tis, ide-cd). In the sequential layout it still takes an
   * index (it is an entry), so later addresses shift; the stable layout counts ranges instead.
   * Returns the entry's index.
   */
  addWithoutAddress(device: GuestDevice): number {
    this.entries.push(device)
    return this.entries.length - 1
  }

  /** A new root port (`ioh3420`, chassis = index) with one downstream device on its bus. */
  addRootPort(downstream: (bus: string) => GuestDevice, where?: Placement): Either.Either<RootPort, RootComplexFullError> {
    const next = this.next(where)
    if (Either.isLeft(next)) return Either.left(next.left)
    const port: RootPort = { slot: next.right, id: rootPortId(next.right) }
    this.entries.push(new RootPortDevice(port, downstream(port.id)))
    return Either.right(port)
  }

  /** The top-level entries in index order. */
  devices(): ReadonlyArray<GuestDevice> {
    return this.entries
  }
}

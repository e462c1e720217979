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
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { flag, type Parameter, param } from "./Options.js"

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

/** No PCI address is left on the root bus. */
export class RootComplexFullError extends Schema.TaggedError<RootComplexFullError>()("RootComplexFullError", {
  limit: Schema.Number
}) {
  override get message(): string {
    return `the PCI Express root complex is full and cannot accommodate more devices (at most ${this.limit} root ports and devices on slots 1 to ${LAST_SLOT})`
  }
}

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

  /** How many indexes are taken. */
  get size(): number {
    return this.entries.length
  }

  private next(): Either.Either<PcieSlot, RootComplexFullError> {
    const s = slotOf(this.entries.length)
    return s.slot > LAST_SLOT ? Either.left(new RootComplexFullError({ limit: MAX_ADDRESSED_ENTRIES })) : Either.right(s)
  }

  /** A device with its own PCI address on the root bus (pvpanic, QXL). */
  addOnRootBus(make: (slot: PcieSlot) => GuestDevice): Either.Either<PcieSlot, RootComplexFullError> {
    const next = this.next()
    if (Either.isRight(next)) this.entries.push(make(next.right))
    return next
  }

  /** A device that takes an index but no PCI address (tpm-tis, ide-cd): later addresses shift. */
  addWithoutAddress(device: GuestDevice): number {
    this.entries.push(device)
    return this.entries.length - 1
  }

  /** A new root port (`ioh3420`, chassis = index) with one downstream device on its bus. */
  addRootPort(downstream: (bus: string) => GuestDevice): Either.Either<RootPort, RootComplexFullError> {
    const next = this.next()
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

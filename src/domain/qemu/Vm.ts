/**
 * A VM description while it is being built (qemu.md §1): the four independent collections
 * (guest settings, host resources, globals, PCIe topology), the id allocator, and the controllers
 * that are created lazily the first time something needs them. Rendered once, in the option order
 * of qemu.md §3.
 *
 * Mutable by design and private to one `generate` call: generation as a whole stays pure.
 *
 * Option and parameter lists, here and in the modules that make them, are built with `push` rather
 * than array literals spreading conditional arrays (`...(x ? [p] : [])`): every spread is an
 * iteration loop that runs slowly until V8 optimises it, and optimising many of them cost
 * generating 1,000 machines a good part of its first pass (bench/generate.ts).
 */
import * as Either from "effect/Either"
import { type Global, globalOption, GuestSettings } from "./GuestSettings.js"
import { HostResources } from "./HostResources.js"
import { option, type QemuOption } from "./Options.js"
import { SataPorts } from "./Sata.js"
import { ScsiController } from "./Scsi.js"
import { SerialController } from "./Serial.js"
import { BusMap, type Layout, type RootComplexFullError, STABLE_LAYOUT, Topology, walkDevices } from "./Topology.js"
import { UsbController } from "./Usb.js"

export class VmBuilder {
  readonly guest = new GuestSettings()
  readonly resources = new HostResources()
  readonly globals: Array<Global> = []
  readonly topology: Topology
  readonly ids = new BusMap()
  readonly sata = new SataPorts()
  private serial: SerialController | undefined
  private usb: UsbController | undefined
  private scsi: ScsiController | undefined
  private bootIndexes = 0

  constructor(layout: Layout = "sequential") {
    this.topology = new Topology(layout)
  }

  /** The virtio-serial controller, created on a new root port on first use. */
  serialController(): Either.Either<SerialController, RootComplexFullError> {
    if (this.serial !== undefined) return Either.right(this.serial)
    const added = this.topology.addRootPort((port) => {
      this.serial = new SerialController(this.ids.allocate("serial"))
      return this.serial.device(port)
    }, { fixed: STABLE_LAYOUT.fixed.serial })
    return Either.isLeft(added) ? Either.left(added.left) : Either.right(this.serial!)
  }

  /** The xHCI controller, created on a new root port on first use. */
  usbController(): Either.Either<UsbController, RootComplexFullError> {
    if (this.usb !== undefined) return Either.right(this.usb)
    const added = this.topology.addRootPort((port) => {
      this.usb = new UsbController(this.ids.allocate("usb"))
      return this.usb.device(port)
    }, { fixed: STABLE_LAYOUT.fixed.usb })
    return Either.isLeft(added) ? Either.left(added.left) : Either.right(this.usb!)
  }

  /** The virtio-scsi controller (bound to the I/O thread), created on a new root port on first use. */
  scsiController(): Either.Either<ScsiController, RootComplexFullError> {
    if (this.scsi !== undefined) return Either.right(this.scsi)
    const iothread = this.resources.iothread()
    const added = this.topology.addRootPort((port) => {
      this.scsi = new ScsiController(this.ids.allocate("scsi"), iothread)
      return this.scsi.device(port)
    }, { fixed: STABLE_LAYOUT.fixed.scsi })
    return Either.isLeft(added) ? Either.left(added.left) : Either.right(this.scsi!)
  }

  /** The next `bootindex` (1, 2, ...) shared by all bootable disks in volume order. */
  nextBootIndex(): number {
    return ++this.bootIndexes
  }

  /** Every option in the order of qemu.md §3. */
  options(): ReadonlyArray<QemuOption> {
    const out: Array<QemuOption> = []
    out.push(...this.guest.headOptions())
    for (const g of this.globals) out.push(globalOption(g))
    out.push(...this.guest.bootOptions())
    out.push(...this.resources.options())
    for (const params of walkDevices(this.topology.devices())) out.push(option("device", params))
    return out
  }
}

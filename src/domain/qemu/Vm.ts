/**
 * A VM description while it is being built (qemu.md §1): the four independent collections
 * (guest settings, host resources, globals, PCIe topology), the id allocator, and the controllers
 * that are created lazily the first time something needs them. Rendered once, in the option order
 * of qemu.md §3.
 *
 * Mutable by design and private to one `generate` call: generation as a whole stays pure.
 */
import * as Either from "effect/Either"
import { type Global, globalOption, GuestSettings } from "./GuestSettings.js"
import { HostResources } from "./HostResources.js"
import { option, type QemuOption } from "./Options.js"
import { SataPorts } from "./Sata.js"
import { ScsiController } from "./Scsi.js"
import { SerialController } from "./Serial.js"
import { BusMap, type RootComplexFullError, Topology, walkDevices } from "./Topology.js"
import { UsbController } from "./Usb.js"

export class VmBuilder {
  readonly guest = new GuestSettings()
  readonly resources = new HostResources()
  readonly globals: Array<Global> = []
  readonly topology = new Topology()
  readonly ids = new BusMap()
  readonly sata = new SataPorts()
  private serial: SerialController | undefined
  private usb: UsbController | undefined
  private scsi: ScsiController | undefined
  private bootIndexes = 0

  /** The virtio-serial controller, created on a new root port on first use. */
  serialController(): Either.Either<SerialController, RootComplexFullError> {
    if (this.serial !== undefined) return Either.right(this.serial)
    return Either.map(
      this.topology.addRootPort((port) => {
        this.serial = new SerialController(this.ids.allocate("serial"))
        return this.serial.device(port)
      }),
      () => this.serial!
    )
  }

  /** The xHCI controller, created on a new root port on first use. */
  usbController(): Either.Either<UsbController, RootComplexFullError> {
    if (this.usb !== undefined) return Either.right(this.usb)
    return Either.map(
      this.topology.addRootPort((port) => {
        this.usb = new UsbController(this.ids.allocate("usb"))
        return this.usb.device(port)
      }),
      () => this.usb!
    )
  }

  /** The virtio-scsi controller (bound to the I/O thread), created on a new root port on first use. */
  scsiController(): Either.Either<ScsiController, RootComplexFullError> {
    if (this.scsi !== undefined) return Either.right(this.scsi)
    const iothread = this.resources.iothread()
    return Either.map(
      this.topology.addRootPort((port) => {
        this.scsi = new ScsiController(this.ids.allocate("scsi"), iothread)
        return this.scsi.device(port)
      }),
      () => this.scsi!
    )
  }

  /** The next `bootindex` (1, 2, ...) shared by all bootable disks in volume order. */
  nextBootIndex(): number {
    return ++this.bootIndexes
  }

  /** Every option in the order of qemu.md §3. */
  options(): ReadonlyArray<QemuOption> {
    return [
      ...this.guest.headOptions(),
      ...this.globals.map(globalOption),
      ...this.guest.bootOptions(),
      ...this.resources.options(),
      ...walkDevices(this.topology.devices()).map((params) => option("device", params))
    ]
  }
}

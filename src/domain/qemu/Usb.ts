/**
 * The xHCI (USB 3) controller and its devices (qemu.md §7.3): created on its own root port the
 * first time SPICE or an `iso-usb` volume needs it. Ports are numbered from 1; the controller
 * announces `p2=P,p3=P` USB 2 and USB 3 ports with P = max(4, devices), counted when rendered.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Parameter, param } from "./Options.js"
import { type GuestDevice, leafDevice } from "./Topology.js"
import { LazyTaggedError } from "../LazyTaggedError.js"

/** qemu-xhci has at most 15 ports of each kind. */
export const MAX_USB_DEVICES = 15

/** Ports announced at least. */
const MIN_PORTS = 4

export class UsbControllerFullError extends LazyTaggedError<UsbControllerFullError>()("UsbControllerFullError", {
  limit: Schema.Number
}) {
  override get message(): string {
    return `the USB Controller is full and cannot accommodate more devices (at most ${this.limit})`
  }
}

export class UsbController {
  private readonly devices: Array<GuestDevice> = []

  /** @param bus the bus QEMU names after the controller id (`usb.0`) */
  constructor(readonly bus: string) {}

  private add(driver: string, extra: ReadonlyArray<Parameter>): Either.Either<string, UsbControllerFullError> {
    if (this.devices.length >= MAX_USB_DEVICES) return Either.left(new UsbControllerFullError({ limit: MAX_USB_DEVICES }))
    const port = this.devices.length + 1
    const id = `${this.bus}.${port}`
    this.devices.push(leafDevice(driver, [param("id", id), param("bus", this.bus), param("port", port)].concat(extra)))
    return Either.right(id)
  }

  /** `usb-tablet` (absolute pointer for SPICE). */
  addTablet(): Either.Either<string, UsbControllerFullError> {
    return this.add("usb-tablet", [])
  }

  /** `usb-redir` on a SPICE usbredir channel. */
  addRedirection(chardev: string): Either.Either<string, UsbControllerFullError> {
    return this.add("usb-redir", [param("chardev", chardev)])
  }

  /** `usb-storage` on a block node. */
  addStorage(drive: string): Either.Either<string, UsbControllerFullError> {
    return this.add("usb-storage", [param("drive", drive)])
  }

  /** `qemu-xhci,id=usb,bus=<root port>,p2=<P>,p3=<P>` with its devices. */
  device(rootPort: string): GuestDevice {
    return {
      driver: "qemu-xhci",
      params: () => {
        const ports = Math.max(MIN_PORTS, this.devices.length)
        return [param("id", "usb"), param("bus", rootPort), param("p2", ports), param("p3", ports)]
      },
      children: () => this.devices
    }
  }
}

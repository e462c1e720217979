/**
 * The virtio-serial controller and its ports (qemu.md §7.3): created on its own root port the
 * first time the guest agent or SPICE needs a channel. Ports are numbered from 1 (`nr=0` is
 * reserved for the console).
 *
 * Also the serial console (`console.enabled`, `machina console`): an ISA serial port, the guest's
 * first UART (ttyS0, as `-nodefaults` leaves none), on a listening unix socket chardev.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { param } from "./Options.js"
import { type GuestDevice, leafDevice } from "./Topology.js"
import { LazyTaggedError } from "../LazyTaggedError.js"

/** The serial console's chardev id. */
export const CONSOLE_CHARDEV_ID = "console"

/** `isa-serial,id=console.0,chardev=console`: an ISA device, no PCI address. */
export const consoleDevice: GuestDevice = leafDevice("isa-serial", [param("id", "console.0"), param("chardev", CONSOLE_CHARDEV_ID)])

/** Ports per controller (`max_ports` 31 with port 0 reserved, as the original counted). */
export const MAX_SERIAL_PORTS = 30

export class SerialControllerFullError extends LazyTaggedError<SerialControllerFullError>()(
  "SerialControllerFullError",
  { limit: Schema.Number }
) {
  override get message(): string {
    return `the serial controller is full and cannot accommodate more devices (at most ${this.limit} ports)`
  }
}

export class SerialController {
  private readonly ports: Array<GuestDevice> = []

  /** @param bus the bus QEMU names after the controller id (`serial.0`) */
  constructor(readonly bus: string) {}

  /** `virtserialport,id=<bus>.<k>,bus=<bus>,nr=<k+1>,chardev=<cd>,name=<name>`. */
  addPort(chardev: string, name: string): Either.Either<string, SerialControllerFullError> {
    const k = this.ports.length
    if (k >= MAX_SERIAL_PORTS) return Either.left(new SerialControllerFullError({ limit: MAX_SERIAL_PORTS }))
    const id = `${this.bus}.${k}`
    this.ports.push(
      leafDevice("virtserialport", [
        param("id", id),
        param("bus", this.bus),
        param("nr", k + 1),
        param("chardev", chardev),
        param("name", name)
      ])
    )
    return Either.right(id)
  }

  /** `virtio-serial-pci,id=serial,bus=<root port>` with its ports. */
  device(rootPort: string): GuestDevice {
    return {
      driver: "virtio-serial-pci",
      params: () => [param("id", "serial"), param("bus", rootPort)],
      children: () => this.ports
    }
  }
}

/**
 * CD drives on q35's built-in AHCI controller (`iso-ahci` volumes, qemu.md §6). They sit on the
 * controller's own buses `ide.0` to `ide.5`, one drive per port; each still takes a topology index
 * (no PCI address), as in the original.
 *
 * Deviation from the original (qemu.md §11.3, fixed): the original put every CD on `ide.1`, so
 * QEMU refused a second one. The first CD stays on `ide.1` (same hardware as before); further CDs
 * take `ide.2` to `ide.5`, then `ide.0`; a seventh is an error.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { param } from "./Options.js"
import { type GuestDevice, leafDevice } from "./Topology.js"
import { LazyTaggedError } from "../LazyTaggedError.js"

/** Port order: the original's `ide.1` first, then the rest in order, `ide.0` last. */
export const AHCI_PORTS: ReadonlyArray<string> = ["ide.1", "ide.2", "ide.3", "ide.4", "ide.5", "ide.0"]

export class SataControllerFullError extends LazyTaggedError<SataControllerFullError>()("SataControllerFullError", {
  limit: Schema.Number
}) {
  override get message(): string {
    return `the SATA controller is full and cannot accommodate more devices (q35's AHCI controller has ${this.limit} ports, ide.0 to ide.5)`
  }
}

export class SataPorts {
  private used = 0

  /** The next free AHCI port. */
  next(): Either.Either<string, SataControllerFullError> {
    const port = AHCI_PORTS[this.used]
    if (port === undefined) return Either.left(new SataControllerFullError({ limit: AHCI_PORTS.length }))
    this.used++
    return Either.right(port)
  }
}

/** `ide-cd,id=<id>,bus=<ide.N>,drive=<node>`. */
export const ideCd = (id: string, bus: string, drive: string): GuestDevice =>
  leafDevice("ide-cd", [param("id", id), param("bus", bus), param("drive", drive)])

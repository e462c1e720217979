/**
 * What the installed QEMU offers, asked of QEMU itself: today the machine types it can emulate
 * (`qemu-system-x86_64 -machine help`), which `pin-hardware` and `plan --hardware-revision` use
 * to resolve a versioned q35 machine type.
 *
 * Implementations: `layers/QemuInfoNode.ts` (runs the QEMU binary) and `layers/QemuInfoMemory.ts`
 * (a fixed answer, for offline host simulation and tests).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** QEMU could not be asked, or offers no versioned q35 machine type. */
export class QemuMachineTypeError extends LazyTaggedError<QemuMachineTypeError>()("QemuMachineTypeError", (S) => ({
  command: S.String,
  reason: S.String
})) {
  override get message(): string {
    return `cannot resolve a versioned q35 machine type from ${this.command}: ${this.reason}; set hardware.machine-type yourself (or pass --machine-type)`
  }
}

export interface QemuInfoShape {
  /** The newest versioned q35 machine type of the installed QEMU, e.g. `pc-q35-7.2`. */
  readonly newestQ35MachineType: Effect.Effect<string, QemuMachineTypeError>
}

export class QemuInfo extends Context.Tag("machina/QemuInfo")<QemuInfo, QemuInfoShape>() {}

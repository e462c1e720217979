/**
 * Mediated devices (vGPU and the like): `prepare` creates them, `teardown` removes them
 * (cli.md §3.11, §3.12).
 *
 * Implementations: `layers/MdevSysfs.ts` (files under a sysfs root, default `/sys`) and
 * `layers/MdevMemory.ts` (simulated parents and devices).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** A host PCI device that may offer the wanted class, and the mdev type name it offers it as. */
export interface MdevCandidate {
  /** PCI address, e.g. `0000:c1:00.0`. */
  readonly address: string
  /** The mdev type's `name` (e.g. `GRID T4-1Q`) or, failing that, its directory name (e.g. `nvidia-259`). */
  readonly typeName: string
}

export interface MdevRequest {
  /** The device UUID (any case; written lowercase). */
  readonly id: string
  /** The machine's device name, for messages. */
  readonly deviceName: string
  /** The device class, for messages. */
  readonly deviceClass: string
  /** Host entries offering the class; tried in PCI address order. */
  readonly candidates: ReadonlyArray<MdevCandidate>
}

export type MdevOutcome =
  | { readonly _tag: "Existing"; readonly id: string }
  | { readonly _tag: "Created"; readonly id: string; readonly address: string; readonly type: string }

/** The host has no PCI device tree under the sysfs root (`<root>/bus/pci/devices`). */
export class MdevUnsupportedError extends LazyTaggedError<MdevUnsupportedError>()("MdevUnsupportedError", (S) => ({
  path: S.String
})) {
  override get message(): string {
    return `mediated devices are not supported on the local system: ${this.path} is not a directory`
  }
}

/** No candidate parent offers a type for the device's class. */
export class MdevClassNotFoundError extends LazyTaggedError<MdevClassNotFoundError>()("MdevClassNotFoundError", (S) => ({
  deviceName: S.String,
  deviceClass: S.String,
  /** One line per candidate: what was found there. */
  searched: S.Array(S.String)
})) {
  override get message(): string {
    const searched = this.searched.length === 0 ? "no host device offers it" : this.searched.join("; ")
    return `failed to locate device class ${this.deviceClass} for device ${this.deviceName}: ${searched}`
  }
}

/** An id or PCI address that cannot be used in a sysfs path. */
export class MdevInvalidArgumentError extends LazyTaggedError<MdevInvalidArgumentError>()(
  "MdevInvalidArgumentError",
  (S) => ({ field: S.String, value: S.String })
) {
  override get message(): string {
    return `invalid mediated device ${this.field} ${JSON.stringify(this.value)}`
  }
}

/** Reading or writing a sysfs file failed, or a path is not what it should be. */
export class MdevSysfsError extends LazyTaggedError<MdevSysfsError>()("MdevSysfsError", (S) => ({
  operation: S.String,
  path: S.String,
  detail: S.String,
  cause: S.optional(S.Defect)
})) {
  override get message(): string {
    return `failed to ${this.operation} ${this.path}: ${this.detail}`
  }
}

export type MdevError = MdevUnsupportedError | MdevClassNotFoundError | MdevInvalidArgumentError | MdevSysfsError

export interface MdevShape {
  /**
   * Creates the mediated device unless it already exists: the first candidate (by PCI address)
   * whose parent offers a type of that name gets the id written to its `create` file.
   * Finding no parent or type is an error, never a silent success.
   */
  readonly ensure: (request: MdevRequest) => Effect.Effect<MdevOutcome, MdevError>
  /** Removes the mediated device if it exists; true when it was removed, false when absent. */
  readonly remove: (id: string) => Effect.Effect<boolean, MdevInvalidArgumentError | MdevSysfsError>
}

export class Mdev extends Context.Tag("machina/Mdev")<Mdev, MdevShape>() {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i

export const isMdevId = (id: string): boolean => UUID.test(id)
export const isPciAddress = (address: string): boolean => PCI_ADDRESS.test(address)

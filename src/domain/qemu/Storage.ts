/**
 * Storage handlers (config.md §3.2, qemu.md §6): what a volume becomes, chosen by the type of its
 * storage pool: block nodes on the host side and a disk or CD drive in the guest.
 *
 * Deviation from the original (qemu.md §11.8, fixed): a 128-bit (NAA 6) WWN on a SCSI hard disk
 * is an error; QEMU's `scsi-hd wwn=` only takes 64 bits and refused to start.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Volume } from "../Config.js"
import { virtioBlockDevice } from "./Block.js"
import type { BlockNodeError } from "./HostResources.js"
import { ideCd, type SataControllerFullError } from "./Sata.js"
import type { ScsiControllerFullError } from "./Scsi.js"
import type { RootComplexFullError } from "./Topology.js"
import type { UsbControllerFullError } from "./Usb.js"
import type { VmBuilder } from "./Vm.js"
import { LazyTaggedError } from "../LazyTaggedError.js"

/** Every storage type with a handler, sorted. */
export const STORAGE_TYPES = ["firmware", "iso-ahci", "iso-scsi", "iso-usb", "raw", "raw-block", "raw-scsi"] as const
export type StorageType = (typeof STORAGE_TYPES)[number]

export const isStorageType = (type: string): type is StorageType => (STORAGE_TYPES as ReadonlyArray<string>).includes(type)

/** Raw disk types: file + raw format nodes, bootable. */
const isRawDisk = (type: StorageType): boolean => type === "raw" || type === "raw-scsi" || type === "raw-block"

/**
 * The node name the guest device (or pflash) refers to: `<machine>-<volume>` for raw disks,
 * `<volume>` for ISO images, and for firmware `<volume>` in a read-only pool, else
 * `<machine>-<volume>`.
 */
export const volumeNodeName = (type: StorageType, machine: string, volume: string, readOnlyPool: boolean): string => {
  if (isRawDisk(type)) return `${machine}-${volume}`
  if (type === "firmware") return readOnlyPool ? volume : `${machine}-${volume}`
  return volume
}

/** A 128-bit WWN given to a SCSI hard disk. */
export class ScsiWwnTooWideError extends LazyTaggedError<ScsiWwnTooWideError>()("ScsiWwnTooWideError", {
  wwn: Schema.String
}) {
  override get message(): string {
    return `world wide name ${this.wwn} is 128 bits (NAA 6); QEMU's SCSI disks only take a 64-bit WWN`
  }
}

export type VolumeAttachError =
  | BlockNodeError
  | RootComplexFullError
  | ScsiControllerFullError
  | UsbControllerFullError
  | SataControllerFullError
  | ScsiWwnTooWideError

/** A volume resolved against its pool. */
export interface VolumeAttachment {
  readonly type: StorageType
  readonly machine: string
  readonly volume: Volume
  /** The pool is `readonly`. */
  readonly readOnlyPool: boolean
  /** The image file (volume path rule). */
  readonly path: string
}

/** A 64-bit WWN renders as `0x` + 16 hex digits. */
const WWN_64_LENGTH = 18

/** Keeps a failure, drops a success value. */
const asVoid = <E>(result: Either.Either<unknown, E>): Either.Either<void, E> =>
  Either.isLeft(result) ? Either.left(result.left) : Either.void

/**
 * Adds the volume's block nodes and guest device.
 *
 * Early returns rather than `Either.gen`: with a generator here (it runs for every volume of every
 * machine), V8 started allocating hundreds of the pipeline's objects directly in the old generation
 * (allocation-site pretenuring, `--trace-pretenuring-statistics`); those kept every machine's VM
 * description alive through the young-generation collections, which then took about ten times
 * longer (bench/generate.ts).
 */
export const attachVolume = (vm: VmBuilder, a: VolumeAttachment): Either.Either<void, VolumeAttachError> => {
  const node = volumeNodeName(a.type, a.machine, a.volume.name, a.readOnlyPool)
  switch (a.type) {
    case "raw":
    case "raw-scsi":
    case "raw-block": {
      const file = vm.resources.addFileNode(`${node}-file`, a.path, a.readOnlyPool)
      if (Either.isLeft(file)) return Either.left(file.left)
      const raw = vm.resources.addRawNode(node, `${node}-file`, a.readOnlyPool)
      if (Either.isLeft(raw)) return Either.left(raw.left)
      const iothread = vm.resources.iothread()
      if (a.type === "raw-block") {
        const id = vm.ids.allocate("block")
        const bootIndex = a.volume.bootable ? vm.nextBootIndex() : 0
        return asVoid(
          vm.topology.addRootPort((bus) =>
            virtioBlockDevice({ id, bus, iothread, drive: node, serial: a.volume.serial, bootIndex }), { region: "volumes" }
          )
        )
      }
      if (a.volume.wwn.length > WWN_64_LENGTH) return Either.left(new ScsiWwnTooWideError({ wwn: a.volume.wwn }))
      const scsi = vm.scsiController()
      if (Either.isLeft(scsi)) return Either.left(scsi.left)
      const bootIndex = a.volume.bootable ? vm.nextBootIndex() : 0
      return asVoid(scsi.right.addHardDisk(node, { wwn: a.volume.wwn, serial: a.volume.serial, bootIndex }))
    }
    case "iso-ahci": {
      const file = vm.resources.addFileNode(node, a.path, true)
      if (Either.isLeft(file)) return Either.left(file.left)
      const port = vm.sata.next()
      if (Either.isLeft(port)) return Either.left(port.left)
      vm.topology.addWithoutAddress(ideCd(vm.ids.allocate("sata"), port.right, node))
      return Either.void
    }
    case "iso-scsi": {
      const file = vm.resources.addFileNode(node, a.path, true)
      if (Either.isLeft(file)) return Either.left(file.left)
      const scsi = vm.scsiController()
      if (Either.isLeft(scsi)) return Either.left(scsi.left)
      return asVoid(scsi.right.addCdrom(node))
    }
    case "iso-usb": {
      const file = vm.resources.addFileNode(node, a.path, true)
      if (Either.isLeft(file)) return Either.left(file.left)
      const usb = vm.usbController()
      if (Either.isLeft(usb)) return Either.left(usb.left)
      return asVoid(usb.right.addStorage(node))
    }
    case "firmware":
      return asVoid(vm.resources.addFileNode(node, a.path, a.readOnlyPool))
  }
}

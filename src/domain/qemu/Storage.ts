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
export class ScsiWwnTooWideError extends Schema.TaggedError<ScsiWwnTooWideError>()("ScsiWwnTooWideError", {
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

/** Adds the volume's block nodes and guest device. */
export const attachVolume = (vm: VmBuilder, a: VolumeAttachment): Either.Either<void, VolumeAttachError> =>
  Either.gen(function*() {
    const node = volumeNodeName(a.type, a.machine, a.volume.name, a.readOnlyPool)
    switch (a.type) {
      case "raw":
      case "raw-scsi":
      case "raw-block": {
        yield* vm.resources.addFileNode(`${node}-file`, a.path, a.readOnlyPool)
        yield* vm.resources.addRawNode(node, `${node}-file`, a.readOnlyPool)
        const iothread = vm.resources.iothread()
        if (a.type === "raw-block") {
          const id = vm.ids.allocate("block")
          const bootIndex = a.volume.bootable ? vm.nextBootIndex() : 0
          yield* vm.topology.addRootPort((bus) =>
            virtioBlockDevice({ id, bus, iothread, drive: node, serial: a.volume.serial, bootIndex })
          )
          return
        }
        if (a.volume.wwn.length > WWN_64_LENGTH) return yield* Either.left(new ScsiWwnTooWideError({ wwn: a.volume.wwn }))
        const scsi = yield* vm.scsiController()
        const bootIndex = a.volume.bootable ? vm.nextBootIndex() : 0
        yield* scsi.addHardDisk(node, { wwn: a.volume.wwn, serial: a.volume.serial, bootIndex })
        return
      }
      case "iso-ahci": {
        yield* vm.resources.addFileNode(node, a.path, true)
        const port = yield* vm.sata.next()
        vm.topology.addWithoutAddress(ideCd(vm.ids.allocate("sata"), port, node))
        return
      }
      case "iso-scsi": {
        yield* vm.resources.addFileNode(node, a.path, true)
        const scsi = yield* vm.scsiController()
        yield* scsi.addCdrom(node)
        return
      }
      case "iso-usb": {
        yield* vm.resources.addFileNode(node, a.path, true)
        const usb = yield* vm.usbController()
        yield* usb.addStorage(node)
        return
      }
      case "firmware": {
        yield* vm.resources.addFileNode(node, a.path, a.readOnlyPool)
        return
      }
    }
  })

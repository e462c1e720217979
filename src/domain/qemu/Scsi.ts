/**
 * The virtio-scsi controller and its disks (qemu.md §6, §7.3): created on its own root port,
 * bound to the VM's I/O thread, the first time a `raw`, `raw-scsi` or `iso-scsi` volume needs it.
 * Each disk gets the next LUN on target 0.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Parameter, param } from "./Options.js"
import { type GuestDevice, leafDevice } from "./Topology.js"
import { LazyTaggedError } from "../LazyTaggedError.js"

export const MAX_SCSI_DEVICES = 28

export class ScsiControllerFullError extends LazyTaggedError<ScsiControllerFullError>()("ScsiControllerFullError", {
  limit: Schema.Number
}) {
  override get message(): string {
    return `the SCSI Controller is full and cannot accommodate more devices (at most ${this.limit})`
  }
}

/** What a hard disk may carry besides its drive. */
export interface ScsiDiskIdentity {
  /** `0x` + 16 hex digits, or "". */
  readonly wwn: string
  readonly serial: string
  /** 0 = none. */
  readonly bootIndex: number
}

export class ScsiController {
  private readonly disks: Array<GuestDevice> = []

  /**
   * @param bus the bus QEMU names after the controller id (`scsi.0`)
   * @param iothread the I/O thread serving the controller
   */
  constructor(readonly bus: string, readonly iothread: string) {}

  private add(driver: string, drive: string, extra: ReadonlyArray<Parameter>): Either.Either<string, ScsiControllerFullError> {
    const lun = this.disks.length
    if (lun >= MAX_SCSI_DEVICES) return Either.left(new ScsiControllerFullError({ limit: MAX_SCSI_DEVICES }))
    const id = `${this.bus}.${lun}`
    this.disks.push(
      leafDevice(
        driver,
        [
          param("id", id),
          param("bus", this.bus),
          param("channel", 0),
          param("scsi-id", 0),
          param("lun", lun),
          param("drive", drive)
        ].concat(extra)
      )
    )
    return Either.right(id)
  }

  /** `scsi-hd,...,drive=<node>[,wwn=<W>][,serial=<S>][,bootindex=<b>]`. */
  addHardDisk(drive: string, identity: ScsiDiskIdentity): Either.Either<string, ScsiControllerFullError> {
    const extra: Array<Parameter> = []
    if (identity.wwn !== "") extra.push(param("wwn", identity.wwn))
    if (identity.serial !== "") extra.push(param("serial", identity.serial))
    if (identity.bootIndex > 0) extra.push(param("bootindex", identity.bootIndex))
    return this.add("scsi-hd", drive, extra)
  }

  /** `scsi-cd,...,drive=<node>`. */
  addCdrom(drive: string): Either.Either<string, ScsiControllerFullError> {
    return this.add("scsi-cd", drive, [])
  }

  /** `virtio-scsi-pci,id=scsi,bus=<root port>,iothread=<t>,num_queues=4` with its disks. */
  device(rootPort: string): GuestDevice {
    return {
      driver: "virtio-scsi-pci",
      params: () => [param("id", "scsi"), param("bus", rootPort), param("iothread", this.iothread), param("num_queues", 4)],
      children: () => this.disks
    }
  }
}

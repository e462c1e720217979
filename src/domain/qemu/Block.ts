/**
 * virtio-blk disks (`raw-block` volumes, qemu.md §6): one per root port, served by the VM's I/O
 * thread with four queues. No WWN (virtio-blk has none).
 */
import { param } from "./Options.js"
import { type GuestDevice, leafDevice } from "./Topology.js"

export interface VirtioBlockDisk {
  readonly id: string
  readonly bus: string
  readonly iothread: string
  readonly drive: string
  readonly serial: string
  /** 0 = none. */
  readonly bootIndex: number
}

/** `virtio-blk-pci,id=<id>,bus=<root port>,iothread=<t>,num-queues=4,drive=<node>[,serial=<S>][,bootindex=<b>]`. */
export const virtioBlockDevice = (d: VirtioBlockDisk): GuestDevice => {
  const params = [
    param("id", d.id),
    param("bus", d.bus),
    param("iothread", d.iothread),
    param("num-queues", 4),
    param("drive", d.drive)
  ]
  if (d.serial !== "") params.push(param("serial", d.serial))
  if (d.bootIndex > 0) params.push(param("bootindex", d.bootIndex))
  return leafDevice("virtio-blk-pci", params)
}

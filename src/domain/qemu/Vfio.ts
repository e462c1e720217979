/**
 * Mediated devices (qemu.md §7.5): a `vfio-pci` device on its own root port pointing at the mdev
 * that `machina prepare` creates before QEMU starts. Generation only checks that some host
 * `mdev` entry offers the class; it never touches sysfs.
 */
import type { MediatedDevice } from "../Config.js"
import { param } from "./Options.js"
import { type GuestDevice, leafDevice } from "./Topology.js"

export const MDEV_DEVICES_DIR = "/sys/bus/mdev/devices"

/** The host mdev entries offering a device class, sorted by PCI address (config.md §3.4). */
export const parentsOffering = (
  mdev: Readonly<Record<string, MediatedDevice>>,
  deviceClass: string
): ReadonlyArray<MediatedDevice> =>
  Object.values(mdev)
    .filter((m) => Object.prototype.hasOwnProperty.call(m.types, deviceClass))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))

/** Every class some host mdev entry offers, sorted. */
export const offeredClasses = (mdev: Readonly<Record<string, MediatedDevice>>): ReadonlyArray<string> =>
  [...new Set(Object.values(mdev).flatMap((m) => Object.keys(m.types)))].sort()

/** `vfio-pci,id=<id>,bus=<root port>,sysfsdev=/sys/bus/mdev/devices/<uuid>`. */
export const vfioDevice = (id: string, bus: string, uuid: string): GuestDevice =>
  leafDevice("vfio-pci", [param("id", id), param("bus", bus), param("sysfsdev", `${MDEV_DEVICES_DIR}/${uuid}`)])

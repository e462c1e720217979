/**
 * The pvpanic device (qemu.md §1 step 1, revision 2024.12 and later): lets the guest report a
 * crash to QEMU. Always the first topology entry when the revision has it.
 */
import { param } from "./Options.js"
import { type GuestDevice, leafDevice, type PcieSlot, rootBusPlacement } from "./Topology.js"

/** `pvpanic-pci,id=<id>,bus=pcie.0,addr=<a>[,multifunction=on]`. */
export const pvpanicDevice = (id: string, slot: PcieSlot): GuestDevice =>
  leafDevice("pvpanic-pci", [param("id", id)].concat(rootBusPlacement(slot)))

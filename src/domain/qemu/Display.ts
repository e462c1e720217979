/**
 * SPICE's QXL displays (qemu.md §4.8): 1 to 4 heads, each its own device on the root bus; the
 * first is VGA-compatible (`qxl-vga`), the others secondary (`qxl`). Both video memory sizes of
 * the primary head are raised to 64 MiB through globals.
 */
import { param } from "./Options.js"
import { type GuestDevice, leafDevice, type PcieSlot, rootBusPlacement } from "./Topology.js"

export const MAX_DISPLAYS = 4

/** `spice.displays` clamped to 1..4 (0 = 1). */
export const clampDisplays = (displays: number): number => Math.min(MAX_DISPLAYS, Math.max(1, displays))

/** `qxl-vga` (head 0) or `qxl`: `id=<id>,bus=pcie.0,addr=<a>[,multifunction=on]`. */
export const qxlDevice = (id: string, primary: boolean, slot: PcieSlot): GuestDevice =>
  leafDevice(primary ? "qxl-vga" : "qxl", [param("id", id)].concat(rootBusPlacement(slot)))

/** QXL video memory: `-global driver=qxl-vga,property=<p>,value=67108864` for these properties. */
export const QXL_MEMORY_PROPERTIES: ReadonlyArray<string> = ["ram_size", "vram_size"]
export const QXL_MEMORY_BYTES = 67108864

/**
 * Pinned virtual-hardware revisions (`attrs.hardware.revision`).
 *
 * A guest must see the same hardware after machina is upgraded: a change in what the guest sees
 * (a new PCI device, a different CPUID) would make Windows re-detect hardware, reactivate, or
 * renumber its NICs. So every guest-visible change to argument generation becomes a new revision,
 * and machines can pin the revision they were installed with.
 *
 * A revision is a small declarative record of switches. The table is ordered oldest first; a new
 * revision is one added record at the end, and old records never change.
 *
 * Fixes of outright defects (a command line QEMU refused, qemu.md §11) are not revisions: they
 * apply everywhere, because the old behaviour never produced a working guest.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/** The processor brand as far as CPU flags care (config.md §3.1: compared case-insensitively). */
export type CpuBrand = "AMD" | "Intel" | "other"

export const cpuBrand = (brand: string): CpuBrand => {
  const lower = brand.toLowerCase()
  return lower === "amd" ? "AMD" : lower === "intel" ? "Intel" : "other"
}

export interface HardwareRevision {
  /** The value of `attrs.hardware.revision` that selects it. */
  readonly name: string
  /** What changed compared to the previous revision. */
  readonly summary: string
  /** A `pvpanic-pci` device at topology index 0 (shifts every later PCI address by one function). */
  readonly pvpanic: boolean
  /** The `-cpu` entries for Hyper-V enlightenments (`name` or `name=value`), when enabled. */
  readonly hypervFlags: (brand: CpuBrand) => ReadonlyArray<string>
}

/** The seed page's unit (2023-04-27): no pvpanic, four underscore-spelled Hyper-V flags. */
const REVISION_2023_04: HardwareRevision = {
  name: "2023.04",
  summary: "the original layout: no pvpanic device, Hyper-V relaxed/spinlocks/vapic/time",
  pvpanic: false,
  hypervFlags: () => ["hv_relaxed", "hv_spinlocks=0x1fff", "hv_vapic", "hv_time"]
}

const HYPERV_2024_12: ReadonlyArray<string> = [
  "hv-relaxed",
  "hv-vapic",
  "hv-spinlocks=0x1fff",
  "hv-vpindex",
  "hv-runtime",
  "hv-time",
  "hv-synic",
  "hv-stimer",
  "hv-tlbflush",
  "hv-ipi",
  "hv-frequencies",
  "hv-reenlightenment",
  "hv-stimer-direct",
  "hv-emsr-bitmap",
  "hv-xmm-input",
  "hv-tlbflush-ext",
  "hv-tlbflush-direct"
]

/** The seed's code (c54090e, 2024-12-06; qemu.md §4.3, §7.1). */
const REVISION_2024_12: HardwareRevision = {
  name: "2024.12",
  summary: "pvpanic-pci at the first PCI function; 17 Hyper-V enlightenments plus hv-avic (AMD) or hv-evmcs (Intel)",
  pvpanic: true,
  hypervFlags: (brand) => [
    ...HYPERV_2024_12,
    ...(brand === "AMD" ? ["hv-avic=on"] : brand === "Intel" ? ["hv-evmcs"] : [])
  ]
}

/** Every known revision, oldest first. Append new revisions; never edit old ones. */
export const KNOWN_REVISIONS: ReadonlyArray<HardwareRevision> = [REVISION_2023_04, REVISION_2024_12]

/** The revision used when a machine pins none. */
export const latestRevision = (): HardwareRevision => KNOWN_REVISIONS[KNOWN_REVISIONS.length - 1]!

/** The name of the newest revision (the default). */
export const LATEST_REVISION: string = latestRevision().name

/** `attrs.hardware.revision` names no known revision. */
export class HardwareRevisionUnknownError extends Schema.TaggedError<HardwareRevisionUnknownError>()(
  "HardwareRevisionUnknownError",
  { revision: Schema.String, known: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `hardware revision ${JSON.stringify(this.revision)} is not known (known revisions: ${this.known.join(", ")})`
  }
}

/** The revision a machine's `attrs.hardware.revision` selects ("" = the latest). */
export const resolveRevision = (text: string): Either.Either<HardwareRevision, HardwareRevisionUnknownError> => {
  const found = text === "" ? latestRevision() : KNOWN_REVISIONS.find((r) => r.name === text)
  return found !== undefined
    ? Either.right(found)
    : Either.left(new HardwareRevisionUnknownError({ revision: text, known: KNOWN_REVISIONS.map((r) => r.name) }))
}

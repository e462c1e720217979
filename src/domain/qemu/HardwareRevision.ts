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
import { LazyTaggedError } from "../LazyTaggedError.js"

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
  /**
   * The PCI layout (Topology.ts): `sequential` numbers every entry in pipeline order (an appended
   * volume shifts the connections and devices after it); `stable` gives each kind of device its own
   * fixed function or slot range, so appending never moves what is there.
   */
  readonly layout: "sequential" | "stable"
  /**
   * `attrs.hardware.machine-type` must name a versioned q35 machine type (`pc-q35-X.Y`): the
   * unversioned `q35` is an alias that moves to the newest type whenever QEMU is upgraded.
   */
  readonly pinsMachineType: boolean
}

/** The seed page's unit (2023-04-27): no pvpanic, four underscore-spelled Hyper-V flags. */
const REVISION_2023_04: HardwareRevision = {
  name: "2023.04",
  summary: "the original layout: no pvpanic device, Hyper-V relaxed/spinlocks/vapic/time",
  pvpanic: false,
  hypervFlags: () => ["hv_relaxed", "hv_spinlocks=0x1fff", "hv_vapic", "hv_time"],
  layout: "sequential",
  pinsMachineType: false
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

const hyperv2024 = (brand: CpuBrand): ReadonlyArray<string> => [
  ...HYPERV_2024_12,
  ...(brand === "AMD" ? ["hv-avic=on"] : brand === "Intel" ? ["hv-evmcs"] : [])
]

/** The seed's code (c54090e, 2024-12-06; qemu.md §4.3, §7.1). */
const REVISION_2024_12: HardwareRevision = {
  name: "2024.12",
  summary: "pvpanic-pci at the first PCI function; 17 Hyper-V enlightenments plus hv-avic (AMD) or hv-evmcs (Intel)",
  pvpanic: true,
  hypervFlags: hyperv2024,
  layout: "sequential",
  pinsMachineType: false
}

/**
 * Stable addresses (opt-in): 2024.12's devices and CPU flags, placed so that adding hardware never
 * moves hardware (Topology.ts `STABLE_LAYOUT`): fixed functions on slot 1 for pvpanic and the
 * controllers and displays, one slot range each for disks with their own root port, NICs and
 * mediated devices; the TPM and SATA CD drives take no PCI function (so nothing sits behind an
 * empty function 0); and a pinned, versioned machine type.
 */
const REVISION_2026_12: HardwareRevision = {
  name: "2026.12",
  summary: "stable addresses: appending a volume, connection or device never moves a device; pinned pc-q35-X.Y machine type",
  pvpanic: true,
  hypervFlags: hyperv2024,
  layout: "stable",
  pinsMachineType: true
}

/** Every known revision, oldest first. Append new revisions; never edit old ones. */
export const KNOWN_REVISIONS: ReadonlyArray<HardwareRevision> = [REVISION_2023_04, REVISION_2024_12, REVISION_2026_12]

/**
 * The revision used when a machine pins none. Not the newest: revisions after 2024.12 change the
 * layout of existing machines, so they are opt-in by pinning.
 */
export const defaultRevision = (): HardwareRevision => REVISION_2024_12

/** The name of the default revision. */
export const DEFAULT_REVISION: string = REVISION_2024_12.name

/** The newest revision (what `machina pin-hardware` pins unless told otherwise). */
export const latestRevision = (): HardwareRevision => KNOWN_REVISIONS[KNOWN_REVISIONS.length - 1]!

/** The name of the newest revision. */
export const LATEST_REVISION: string = latestRevision().name

/** A versioned q35 machine type, e.g. `pc-q35-7.2`. */
export const VERSIONED_Q35 = /^pc-q35-(\d+)\.(\d+)$/

/** The newest versioned q35 type in the output of `qemu-system-x86_64 -machine help`, if any. */
export const newestQ35 = (machineHelp: string): string | undefined => {
  let best: { name: string; major: number; minor: number } | undefined
  for (const line of machineHelp.split("\n")) {
    const name = line.trim().split(/\s+/)[0] ?? ""
    const m = VERSIONED_Q35.exec(name)
    if (m === null) continue
    const major = Number(m[1])
    const minor = Number(m[2])
    if (best === undefined || major > best.major || (major === best.major && minor > best.minor)) best = { name, major, minor }
  }
  return best?.name
}

/** `attrs.hardware.revision` names no known revision. */
export class HardwareRevisionUnknownError extends LazyTaggedError<HardwareRevisionUnknownError>()(
  "HardwareRevisionUnknownError",
  { revision: Schema.String, known: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `hardware revision ${JSON.stringify(this.revision)} is not known (known revisions: ${this.known.join(", ")})`
  }
}

/** The revision a machine's `attrs.hardware.revision` selects ("" = the default, 2024.12). */
export const resolveRevision = (text: string): Either.Either<HardwareRevision, HardwareRevisionUnknownError> => {
  const found = text === "" ? defaultRevision() : KNOWN_REVISIONS.find((r) => r.name === text)
  return found !== undefined
    ? Either.right(found)
    : Either.left(new HardwareRevisionUnknownError({ revision: text, known: KNOWN_REVISIONS.map((r) => r.name) }))
}

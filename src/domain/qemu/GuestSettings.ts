/**
 * Guest settings (qemu.md §3 rows 1-14, §4): identity, accelerator, machine type, CPU model and
 * flags, SMP topology, memory, clock, QMP monitors, SPICE server, boot menu and direct kernel boot.
 *
 * Additions beyond the original:
 * - Host `accelerator: "tcg"` puts `-accel tcg` where `-enable-kvm` was, and uses `-cpu max`,
 *   because `-cpu host` needs KVM. Hyper-V enlightenments are left out under TCG: QEMU 7.2 refuses
 *   `hv-vpindex` without KVM, and TCG implements none of the Hyper-V MSRs those CPUID bits promise
 *   (a guest trusting `hv-time` would read a clock that never runs). Other `-cpu` flags stay.
 * - Direct kernel boot: `-kernel`, `-initrd`, `-append` right after `-boot`.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Accelerator, Processor } from "../Config.js"
import { type CpuBrand, cpuBrand, type HardwareRevision } from "./HardwareRevision.js"
import { bare, flag, option, type Parameter, param, type QemuOption, verbatimOption } from "./Options.js"
import { LazyTaggedError } from "../LazyTaggedError.js"

// ---------------------------------------------------------------------------------------------
// Processor selection (config.md §3.1)

export interface SelectedProcessor {
  readonly name: string
  readonly processor: Processor
}

export class ProcessorUnknownError extends LazyTaggedError<ProcessorUnknownError>()("ProcessorUnknownError", {
  name: Schema.String,
  defined: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `a CPU processor with the name ${JSON.stringify(this.name)} has not been defined in the system configuration` +
      (this.defined.length > 0 ? ` (defined processors: ${this.defined.join(", ")})` : " (it defines no processors)")
  }
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The processor a machine runs on: the one it names; else the smallest name among those marked
 * `default`; else the smallest name of all; none when the host defines none.
 */
export const selectProcessor = (
  processors: Readonly<Record<string, Processor>>,
  requested: string
): Either.Either<SelectedProcessor | undefined, ProcessorUnknownError> => {
  const names = Object.keys(processors).sort(byteOrder)
  let name = requested
  if (name === "") {
    if (names.length === 0) return Either.right(undefined)
    name = names.find((n) => processors[n]!.default) ?? names[0]!
  }
  const processor = Object.prototype.hasOwnProperty.call(processors, name) ? processors[name] : undefined
  return processor === undefined
    ? Either.left(new ProcessorUnknownError({ name, defined: names }))
    : Either.right({ name, processor })
}

// ---------------------------------------------------------------------------------------------
// CPU

export interface CpuPlan {
  readonly accelerator: Accelerator
  readonly brand: CpuBrand
  /** Effective threads per core (machine's `cpu.threads`, else the processor's). */
  readonly threads: number
  readonly enlightenments: boolean
  readonly revision: HardwareRevision
}

/** The effective brand and threads for a machine (qemu.md §4.3). */
export const cpuIdentity = (
  selected: SelectedProcessor | undefined,
  machineThreads: number
): { readonly brand: CpuBrand; readonly threads: number } => ({
  brand: cpuBrand(selected?.processor.brand ?? ""),
  threads: machineThreads > 0 ? machineThreads : selected?.processor.threads ?? 0
})

const entryParameter = (entry: string): Parameter => {
  const eq = entry.indexOf("=")
  return eq < 0 ? flag(entry) : param(entry.slice(0, eq), entry.slice(eq + 1))
}

/** `host[,topoext=on][,<Hyper-V flags>]` (`max` instead of `host` under TCG). */
export const cpuParameters = (plan: CpuPlan): ReadonlyArray<Parameter> => {
  const params = [flag(plan.accelerator === "tcg" ? "max" : "host")]
  if (plan.threads > 1 && plan.brand === "AMD") params.push(param("topoext", "on"))
  if (plan.enlightenments && plan.accelerator === "kvm") {
    for (const entry of plan.revision.hypervFlags(plan.brand)) params.push(entryParameter(entry))
  }
  return params
}

// ---------------------------------------------------------------------------------------------
// The settings

export interface Smp {
  readonly sockets: number
  readonly cores: number
  readonly threads: number
}

/** Direct kernel boot: file paths and command line ("" = not set). */
export interface KernelBoot {
  readonly kernel: string
  readonly initrd: string
  readonly append: string
}

export const DEFAULT_RTC: ReadonlyArray<Parameter> = [param("base", "utc"), param("clock", "host"), param("driftfix", "slew")]

/** Mutable while a VM is being built; rendered once. */
export class GuestSettings {
  /** Lowercase canonical UUID, "" when the machine has none (zero). */
  uuid = ""
  name = ""
  accelerator: Accelerator = "kvm"
  /** `-machine type=`: `q35` unless a machine type is pinned. */
  machineType = "q35"
  vmport = true
  pflash0 = ""
  pflash1 = ""
  cpu: ReadonlyArray<Parameter> = [flag("host")]
  smp: Smp = { sockets: 0, cores: 0, threads: 0 }
  memoryMiB = 0
  rtc: ReadonlyArray<Parameter> = DEFAULT_RTC
  /** Chardev ids of QMP monitors. */
  readonly monitors: Array<string> = []
  spicePort: number | undefined = undefined
  kernelBoot: KernelBoot = { kernel: "", initrd: "", append: "" }

  /** `-uuid` through `-spice` (qemu.md §3 rows 1-12). */
  headOptions(): ReadonlyArray<QemuOption> {
    const out: Array<QemuOption> = []
    if (this.uuid !== "") out.push(option("uuid", [bare(this.uuid)]))
    if (this.name !== "") out.push(option("name", [bare(this.name)]))
    out.push(this.accelerator === "tcg" ? option("accel", [flag("tcg")]) : option("enable-kvm"))
    out.push(option("nodefaults"), option("nographic"), option("machine", this.machineParameters()), option("cpu", this.cpu))
    const smp = this.smpParameters()
    if (smp.length > 0) out.push(option("smp", smp))
    if (this.memoryMiB > 0) out.push(option("m", [param("size", `${this.memoryMiB}M`)]))
    out.push(option("rtc", this.rtc))
    for (const id of this.monitors) out.push(option("mon", [param("chardev", id), param("mode", "control")]))
    if (this.spicePort !== undefined) {
      out.push(option("spice", [param("port", this.spicePort), param("addr", "127.0.0.1"), param("disable-ticketing", "on")]))
    }
    return out
  }

  /** `type=<q35 or the pinned type>[,vmport=off][,pflash0=<node>[,pflash1=<node>]]`. */
  private machineParameters(): ReadonlyArray<Parameter> {
    const params = [param("type", this.machineType)]
    if (!this.vmport) params.push(param("vmport", "off"))
    if (this.pflash0 !== "") {
      params.push(param("pflash0", this.pflash0))
      if (this.pflash1 !== "") params.push(param("pflash1", this.pflash1))
    }
    return params
  }

  /** The non-zero counts of `sockets`, `cores` and `threads`. */
  private smpParameters(): ReadonlyArray<Parameter> {
    const params: Array<Parameter> = []
    if (this.smp.sockets > 0) params.push(param("sockets", this.smp.sockets))
    if (this.smp.cores > 0) params.push(param("cores", this.smp.cores))
    if (this.smp.threads > 0) params.push(param("threads", this.smp.threads))
    return params
  }

  /** `-boot menu=on,reboot-timeout=5000`, then `-kernel`, `-initrd`, `-append` when set (row 14). */
  bootOptions(): ReadonlyArray<QemuOption> {
    const k = this.kernelBoot
    const out = [option("boot", [param("menu", "on"), param("reboot-timeout", 5000)])]
    if (k.kernel !== "") {
      out.push(verbatimOption("kernel", k.kernel))
      if (k.initrd !== "") out.push(verbatimOption("initrd", k.initrd))
      if (k.append !== "") out.push(verbatimOption("append", k.append))
    }
    return out
  }
}

/** One `-global driver=<d>,property=<p>,value=<v>`. */
export interface Global {
  readonly driver: string
  readonly property: string
  readonly value: string
}

export const globalOption = (g: Global): QemuOption =>
  option("global", [param("driver", g.driver), param("property", g.property), param("value", g.value)])

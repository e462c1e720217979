/**
 * fast-check arbitraries for valid host + machine configurations covering every storage type,
 * connections, mediated devices, SPICE, guest agent, TPM, QMP, displays, firmware, processors and
 * hardware revisions; plus a parser for the generated `-device` lines.
 */
import * as fc from "fast-check"
import { splitParameters } from "../../src/domain/Plan.js"

export const ARBITRARY_HOST = {
  processor: {
    amd: { brand: "AMD", threads: 2 },
    intel: { brand: "Intel", default: true },
    plain: {}
  },
  storage: {
    raw: { path: "/srv/raw", pattern: "${machine-name}-${volume}.raw", type: "raw" },
    rawscsi: { path: "/srv/raw", pattern: "${machine-name}/${volume}.img", type: "raw-scsi" },
    rawro: { path: "/srv/ro", type: "raw", readonly: true },
    block: { path: "/srv/block", pattern: "${machine-name}/${volume}.raw", type: "raw-block" },
    ahci: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-ahci" },
    iscsi: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-scsi" },
    usb: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-usb" },
    fwcode: { path: "/srv/fw", pattern: "${volume}.fd", type: "firmware", readonly: true },
    fwvars: { path: "/srv/vars", pattern: "${machine-name}-${volume}.fd", type: "firmware" }
  },
  network: { lan: { device: "br0" }, wan: { device: "br1", up: "/etc/machina/up", down: "/etc/machina/down" } },
  mdev: { gpu: { address: "0000:c1:00.0", types: { cad: "GRID RTX8000-6Q", light: "GRID RTX8000-2Q" } } }
} as const

export type PoolName = keyof typeof ARBITRARY_HOST.storage
export const VOLUME_POOLS: ReadonlyArray<PoolName> = ["raw", "rawscsi", "rawro", "block", "ahci", "iscsi", "usb", "fwvars"]

const SCSI_POOLS: ReadonlySet<string> = new Set(["raw", "rawscsi", "rawro", "iscsi"])

export interface VolumeSpec {
  readonly name: string
  readonly storage: PoolName
  readonly bootable: boolean
}

export interface MachineSpec {
  readonly name: string
  readonly json: Record<string, unknown>
}

export interface Limits {
  readonly scsi: number
  readonly ahci: number
  readonly usb: number
}

export const CONTROLLER_LIMITS: Limits = { scsi: 28, ahci: 6, usb: 15 }

/** Drops volumes that would not fit their controller (SPICE takes 3 USB ports). */
export const fitVolumes = (volumes: ReadonlyArray<VolumeSpec>, spice: boolean, limits: Limits = CONTROLLER_LIMITS): ReadonlyArray<VolumeSpec> => {
  let scsi = 0
  let ahci = 0
  let usb = spice ? 3 : 0
  return volumes.filter((v) => {
    if (SCSI_POOLS.has(v.storage)) return ++scsi <= limits.scsi
    if (v.storage === "ahci") return ++ahci <= limits.ahci
    if (v.storage === "usb") return ++usb <= limits.usb
    return true
  })
}

const volumeArb = (maxVolumes: number) =>
  fc.array(fc.record({ storage: fc.constantFrom(...VOLUME_POOLS), bootable: fc.boolean() }), { maxLength: maxVolumes })
    .map((vs) => vs.map((v, i): VolumeSpec => ({ name: `v${i}`, ...v })))

export interface ArbitraryOptions {
  readonly maxVolumes?: number
  readonly maxConnections?: number
  readonly maxDevices?: number
  /** Keep volumes within controller limits (default true). */
  readonly fit?: boolean
  /** Hardware revisions to draw from (default "", 2023.04, 2024.12); 2026.12 gets a pinned machine type. */
  readonly revisions?: ReadonlyArray<string>
}

/** The machine type pinned for revisions that need one (the installed QEMU's in the e2e tests). */
export const PINNED_MACHINE_TYPE = "pc-q35-7.2"

/** A valid machine file (JSON value) with its name. */
export const machineArb = (options: ArbitraryOptions = {}): fc.Arbitrary<MachineSpec> =>
  fc.record({
    name: fc.constantFrom("vm", "alpha", "db-01"),
    id: fc.option(fc.uuid({ version: 4 }), { nil: undefined }),
    revision: fc.constantFrom(...(options.revisions ?? ["", "2023.04", "2024.12"])),
    processor: fc.constantFrom("", "amd", "intel", "plain"),
    sockets: fc.integer({ min: 0, max: 2 }),
    cores: fc.integer({ min: 0, max: 8 }),
    threads: fc.integer({ min: 0, max: 2 }),
    ram: fc.integer({ min: 64, max: 65536 }),
    enlightenments: fc.boolean(),
    firmware: fc.constantFrom("none", "code", "code+vars"),
    tpm: fc.boolean(),
    qmp: fc.boolean(),
    qmpNames: fc.subarray(["monitor", "extra"]),
    agent: fc.boolean(),
    spice: fc.boolean(),
    displays: fc.integer({ min: 0, max: 6 }),
    console: fc.boolean(),
    volumes: volumeArb(options.maxVolumes ?? 16),
    connections: fc.array(fc.constantFrom("lan", "wan"), { maxLength: options.maxConnections ?? 6 }),
    devices: fc.array(fc.constantFrom("cad", "light"), { maxLength: options.maxDevices ?? 3 })
  }).map((r): MachineSpec => {
    const volumes = options.fit === false ? r.volumes : fitVolumes(r.volumes, r.spice)
    const attrs: Record<string, unknown> = {
      hardware: r.revision === "2026.12" ? { revision: r.revision, "machine-type": PINNED_MACHINE_TYPE } : { revision: r.revision },
      cpu: { processor: r.processor, sockets: r.sockets, cores: r.cores, threads: r.threads },
      memory: { ram: r.ram },
      enlightenments: { enabled: r.enlightenments },
      tpm: { enabled: r.tpm },
      qmp: { enabled: r.qmp, sockets: { names: r.qmpNames } },
      agent: { qemu: { enabled: r.agent, port: 4000 } },
      spice: { enabled: r.spice, "port-pattern": "59${seat}", displays: r.displays },
      console: { enabled: r.console }
    }
    if (r.firmware !== "none") {
      attrs["firmware"] = {
        code: { name: "ovmf", storage: "fwcode" },
        ...(r.firmware === "code+vars" ? { vars: { name: "nv", storage: "fwvars" } } : {})
      }
    }
    return {
      name: r.name,
      json: {
        ...(r.id !== undefined ? { id: r.id } : {}),
        vars: { seat: "01" },
        attrs,
        volumes,
        connections: r.connections.map((network, i) => ({ name: `c${i}`, network })),
        devices: r.devices.map((cls, i) => ({ name: `d${i}`, class: cls }))
      }
    }
  })

// ---------------------------------------------------------------------------------------------
// Parsing generated options

/** Splits `a=b,c,d=e,,f` into parameters, honouring QEMU's `,,` escape (the plan's own parser). */
export const splitParams = splitParameters

export interface ParsedDevice {
  readonly driver: string
  readonly params: ReadonlyMap<string, string>
  readonly line: string
}

/** The `-device` options of an argv, in order. */
export const parseDevices = (argv: ReadonlyArray<string>): ReadonlyArray<ParsedDevice> => {
  const out: Array<ParsedDevice> = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== "-device") continue
    const line = argv[i + 1]!
    const [first, ...rest] = splitParams(line)
    out.push({ driver: first![0], params: new Map(rest), line })
  }
  return out
}

/** Values of one option type's parameter, e.g. every `-blockdev`'s `node-name`. */
export const optionValues = (argv: ReadonlyArray<string>, type: string, key: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== `-${type}`) continue
    const value = new Map(splitParams(argv[i + 1] ?? "")).get(key)
    if (value !== undefined) out.push(value)
  }
  return out
}

/** A stable key for a device across configurations (root ports are keyed by what they carry). */
export const deviceKey = (d: ParsedDevice): string | undefined => {
  const p = d.params
  switch (d.driver) {
    case "ioh3420":
      return undefined
    case "virtio-net-pci":
      return `net:${p.get("netdev")}`
    case "virtserialport":
    case "usb-redir":
      return `${d.driver}:${p.get("chardev")}`
    case "usb-tablet":
    case "tpm-tis":
    case "virtio-serial-pci":
    case "qemu-xhci":
    case "virtio-scsi-pci":
      return d.driver
    default:
      return p.has("drive") ? `drive:${p.get("drive")}` : `${d.driver}:${p.get("id")}`
  }
}

/** Where a device sits: its bus and position on it (root ports are identified by their address). */
export const deviceAddress = (d: ParsedDevice): string =>
  ["bus", "addr", "port", "channel", "scsi-id", "lun", "nr"].map((k) => `${k}=${d.params.get(k) ?? ""}`).join(",")

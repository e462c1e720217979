/**
 * Network connections (qemu.md §5.4): a tap backend named after the connection
 * (identity.md §5.1) with machina's up/down scripts, and a virtio-net NIC on its own root port.
 */
import { tapName } from "../Identity.js"
import { flag, type Parameter, param } from "./Options.js"
import { type GuestDevice, leafDevice } from "./Topology.js"

export const DEFAULT_UP_SCRIPT = "/usr/bin/machina-ifup"
export const DEFAULT_DOWN_SCRIPT = "/usr/bin/machina-ifdown"

export interface TapBackend {
  readonly id: string
  readonly machine: string
  readonly connection: string
  /** "" = machina's script. */
  readonly up: string
  readonly down: string
  /**
   * The tap exists before QEMU starts (an unprivileged machine: `machina prepare` creates it owned
   * by the machine's user and attaches it to its bridge): no up/down scripts (`script=no`).
   */
  readonly existing?: boolean
}

/** `tap,id=<id>,ifname=<link>,script=<up>,downscript=<down>` (`script=no,downscript=no` for an existing tap). */
export const tapNetdev = (t: TapBackend): ReadonlyArray<Parameter> => [
  flag("tap"),
  param("id", t.id),
  param("ifname", tapName(t.machine, t.connection)),
  param("script", t.existing === true ? "no" : t.up !== "" ? t.up : DEFAULT_UP_SCRIPT),
  param("downscript", t.existing === true ? "no" : t.down !== "" ? t.down : DEFAULT_DOWN_SCRIPT)
]

/**
 * `virtio-net-pci,bus=<root port>,mac=<mac>,netdev=<id>` (no id, as in the original). An empty MAC
 * renders as a bare `mac`, as in the original; validated connections always have a name, hence a MAC.
 */
export const virtioNetDevice = (bus: string, mac: string, netdev: string): GuestDevice =>
  leafDevice("virtio-net-pci", [param("bus", bus), param("mac", mac), param("netdev", netdev)])

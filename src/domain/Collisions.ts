/**
 * Identifiers, ports and files that must be unique across the machines of one host: MAC
 * addresses, volume WWNs and serials, mediated device ids, tap names, SPICE and guest-agent
 * ports, machine UUIDs and names, and writable image files. Two machines sharing one of them
 * would clash on the network, confuse guests, overwrite each other's disks or fail to start.
 */
import * as Either from "effect/Either"
import type { Host } from "./ConfigFiles.js"
import { at, type ConfigIssue, issueAt, type Origin } from "./ConfigIssue.js"
import { tapName } from "./Identity.js"
import type { Composed } from "./Merge.js"
import { effectivePort } from "./Pattern.js"
import { unitName } from "./Unit.js"
import { isZeroUuid } from "./Uuid.js"
import { volumeFiles } from "./VolumeFiles.js"

export interface Claim {
  readonly kind: string
  readonly value: string
  readonly machine: string
  readonly what: string
  readonly origin: Origin
}

/**
 * Everything a machine claims on its host. With the host, also its writable image files (paths
 * depend on the host's storage pools).
 */
export const claims = (c: Composed, host?: Host): ReadonlyArray<Claim> => {
  const out: Array<Claim> = []
  const machine = c.machine.name
  const d = c.definition
  out.push({ kind: "machine name", value: machine, machine, what: "its name", origin: { file: c.machine.file, path: c.machine.name !== c.machine.fileName ? "$.name" : "$" } })
  if (!isZeroUuid(c.machine.idBytes)) {
    out.push({ kind: "machine UUID", value: c.machine.id, machine, what: "its id", origin: { file: c.machine.file, path: "$.id" } })
  }
  d.connections.forEach((conn, i) => {
    const origin = c.origins.connections[i]!
    if (conn.mac !== "") out.push({ kind: "MAC address", value: conn.mac.toLowerCase(), machine, what: `connection ${conn.name}`, origin: at(origin, "mac") })
    if (conn.name !== "") out.push({ kind: "tap interface name", value: tapName(machine, conn.name), machine, what: `connection ${conn.name}`, origin: at(origin, "name") })
  })
  d.volumes.forEach((v, i) => {
    const origin = c.origins.volumes[i]!
    if (v.wwn !== "") out.push({ kind: "WWN", value: v.wwn, machine, what: `volume ${v.name}`, origin: at(origin, "wwn") })
    if (v.serial !== "") out.push({ kind: "volume serial", value: v.serial, machine, what: `volume ${v.name}`, origin: at(origin, "serial") })
  })
  d.devices.forEach((dev, i) => {
    if (dev.id !== "") out.push({ kind: "mediated device id", value: dev.id, machine, what: `device ${dev.name}`, origin: at(c.origins.devices[i]!, "id") })
  })
  const fallback: Origin = { file: c.machine.file, path: "$" }
  const agent = d.attrs.agent.qemu
  if (agent.enabled) {
    const port = effectivePort(agent.port, agent.portPattern, d.vars)
    if (Either.isRight(port)) {
      out.push({ kind: "TCP port", value: String(port.right), machine, what: "the QEMU guest agent", origin: c.origins.attrs[agent.port !== 0 ? "agent.qemu.port" : "agent.qemu.port-pattern"] ?? fallback })
    }
  }
  const spice = d.attrs.spice
  if (spice.enabled) {
    const port = effectivePort(spice.port, spice.portPattern, d.vars)
    if (Either.isRight(port)) {
      out.push({ kind: "TCP port", value: String(port.right), machine, what: "SPICE", origin: c.origins.attrs[spice.port !== 0 ? "spice.port" : "spice.port-pattern"] ?? fallback })
    }
  }
  if (host !== undefined) {
    // Within one machine, a shared writable file is an error of its own (VolumeFiles): one claim
    // per file and machine here.
    const own = new Set<string>()
    for (const f of volumeFiles(host, c)) {
      if (!f.writable || own.has(f.path)) continue
      own.add(f.path)
      out.push({ kind: "writable image file", value: f.path, machine, what: f.what, origin: f.origin })
    }
  }
  return out
}

/** A claim that repeats an earlier one (`holder`). */
export interface Collision {
  readonly claim: Claim
  readonly holder: Claim
}

/** Every claim that repeats an earlier claim (in machine order), with the first holder. */
export const findCollisions = (machines: ReadonlyArray<Composed>, host?: Host): ReadonlyArray<Collision> => {
  const first = new Map<string, Claim>()
  const found: Array<Collision> = []
  for (const c of machines) {
    for (const claim of claims(c, host)) {
      const key = `${claim.kind}\u0000${claim.value}`
      const holder = first.get(key)
      if (holder === undefined) first.set(key, claim)
      else found.push({ claim, holder })
    }
  }
  return found
}

export const collisionIssue = ({ claim, holder }: Collision): ConfigIssue => {
  if (claim.kind === "machine name") {
    return issueAt(claim.origin, `machine name ${claim.value} is also the name of the machine in ${holder.origin.file}; both would use unit ${unitName(claim.value)}`)
  }
  if (claim.kind === "machine UUID") {
    return issueAt(claim.origin, `machine UUID ${claim.value} (machine ${claim.machine}) is also the id of machine ${holder.machine}`)
  }
  const whose = holder.machine === claim.machine ? "this machine" : `machine ${holder.machine}`
  return issueAt(
    claim.origin,
    `${claim.kind} ${claim.value} of ${claim.what} (machine ${claim.machine}) is also used by ${holder.what} of ${whose}`
  )
}

/** One issue per claim that repeats an earlier claim (in machine order), naming the first holder. */
export const collisions = (machines: ReadonlyArray<Composed>, host?: Host): ReadonlyArray<ConfigIssue> =>
  findCollisions(machines, host).map(collisionIssue)

/** The collisions in which any of `names` (effective machine names) takes part. */
export const collisionsInvolving = (
  machines: ReadonlyArray<Composed>,
  names: ReadonlySet<string>,
  host?: Host
): ReadonlyArray<ConfigIssue> =>
  findCollisions(machines, host)
    .filter(({ claim, holder }) => names.has(claim.machine) || names.has(holder.machine))
    .map(collisionIssue)

/** As `collisions`, each with the machine whose claim repeats an earlier one. */
export const collisionsByMachine = (
  machines: ReadonlyArray<Composed>,
  host?: Host
): ReadonlyArray<{ readonly machine: string; readonly issue: ConfigIssue }> =>
  findCollisions(machines, host).map((c) => ({ machine: c.claim.machine, issue: collisionIssue(c) }))

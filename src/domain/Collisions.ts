/**
 * Identifiers and ports that must be unique across the machines of one host: MAC addresses,
 * volume WWNs and serials, mediated device ids, tap names, SPICE and guest-agent ports. Two
 * machines sharing one of them would clash on the network, confuse guests, or fail to start.
 */
import * as Either from "effect/Either"
import { at, type ConfigIssue, issueAt, type Origin } from "./ConfigIssue.js"
import { tapName } from "./Identity.js"
import type { Composed } from "./Merge.js"
import { effectivePort } from "./Pattern.js"

interface Claim {
  readonly kind: string
  readonly value: string
  readonly machine: string
  readonly what: string
  readonly origin: Origin
}

/** Everything a machine claims on its host. */
export const claims = (c: Composed): ReadonlyArray<Claim> => {
  const out: Array<Claim> = []
  const machine = c.machine.name
  const d = c.definition
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
  return out
}

/** One issue per claim that repeats an earlier claim (in machine order), naming the first holder. */
export const collisions = (machines: ReadonlyArray<Composed>): ReadonlyArray<ConfigIssue> =>
  collisionsByMachine(machines).map((c) => c.issue)

/** As `collisions`, each with the machine whose claim repeats an earlier one. */
export const collisionsByMachine = (
  machines: ReadonlyArray<Composed>
): ReadonlyArray<{ readonly machine: string; readonly issue: ConfigIssue }> => {
  const first = new Map<string, Claim>()
  const issues: Array<{ machine: string; issue: ConfigIssue }> = []
  for (const c of machines) {
    for (const claim of claims(c)) {
      const key = `${claim.kind}\u0000${claim.value}`
      const holder = first.get(key)
      if (holder === undefined) {
        first.set(key, claim)
      } else {
        const whose = holder.machine === claim.machine ? "this machine" : `machine ${holder.machine}`
        issues.push({
          machine: claim.machine,
          issue: issueAt(
            claim.origin,
            `${claim.kind} ${claim.value} of ${claim.what} (machine ${claim.machine}) is also used by ${holder.what} of ${whose}`
          )
        })
      }
    }
  }
  return issues
}

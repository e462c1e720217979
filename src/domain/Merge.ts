/**
 * Tag resolution and merging (config.md §6): the machine's own definition first, then its tags in
 * order; the first non-zero value wins, `enabled` flags are OR-ed, lists are de-duplicated by name
 * keeping the first, and derived identifiers fill what the configuration leaves out.
 */
import * as Either from "effect/Either"
import type { Attributes, Connection, Definition, Device, Privileges, Volume } from "./Config.js"
import { isVolumeSet } from "./Config.js"
import type { Host, Machine } from "./ConfigFiles.js"
import { at, type ConfigInvalidError, invalid, issue, type Origin } from "./ConfigIssue.js"
import { deriveDeviceId, deriveGroupId, deriveMac, deriveSerial, deriveWwn, groupName, makeSeed } from "./Identity.js"
import { formatUuid } from "./Uuid.js"
import { formatWwn } from "./Wwn.js"

/** A definition together with where it was written. */
export interface Source {
  readonly definition: Definition
  readonly origin: Origin
}

/** Where each merged item and attribute came from, for messages that point at the right file. */
export interface MergeOrigins {
  readonly volumes: ReadonlyArray<Origin>
  readonly connections: ReadonlyArray<Origin>
  readonly devices: ReadonlyArray<Origin>
  /** Keyed by attribute path, e.g. `spice.port-pattern`, `cpu.processor`, `firmware.code`. */
  readonly attrs: Readonly<Record<string, Origin>>
}

/** A machine merged with its tags and populated with derived identifiers. */
export interface Composed {
  readonly machine: Machine
  readonly definition: Definition
  readonly origins: MergeOrigins
}

/** The priority list: the machine's own definition, then each tag in order. */
export const collectSources = (host: Host, machine: Machine): Either.Either<ReadonlyArray<Source>, ConfigInvalidError> => {
  const sources: Array<Source> = [{ definition: machine.definition, origin: { file: machine.file, path: "$" } }]
  const missing = []
  for (const [i, tag] of machine.tags.entries()) {
    const definition = host.config.tag[tag]
    if (definition === undefined) {
      const known = Object.keys(host.config.tag).sort()
      missing.push(
        issue(
          machine.file,
          `$.tags[${i}]`,
          `tag ${JSON.stringify(tag)} is not defined in ${host.file}` +
            (known.length > 0 ? ` (defined tags: ${known.join(", ")})` : " (it defines no tags)")
        )
      )
    } else {
      sources.push({ definition, origin: { file: host.file, path: `$.tag${/^[A-Za-z_][A-Za-z0-9_-]*$/.test(tag) ? `.${tag}` : `[${JSON.stringify(tag)}]`}` } })
    }
  }
  return missing.length > 0 ? Either.left(invalid(missing)) : Either.right(sources)
}

/** Merges variables: union, first definition wins per key. */
export const mergeVars = (...maps: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const map of maps) {
    for (const [k, v] of Object.entries(map)) if (!(k in out)) out[k] = v
  }
  return out
}

/** Merges named items: concatenation in priority order, first item per name kept. */
export const mergeNamed = <A extends { readonly name: string }>(
  lists: ReadonlyArray<ReadonlyArray<A>>
): Array<{ readonly item: A; readonly list: number; readonly index: number }> => {
  const seen = new Set<string>()
  const out: Array<{ item: A; list: number; index: number }> = []
  lists.forEach((list, l) =>
    list.forEach((item, index) => {
      if (seen.has(item.name)) return
      seen.add(item.name)
      out.push({ item, list: l, index })
    })
  )
  return out
}

/**
 * Union of string lists ordered from the lowest-priority source to the highest, duplicates
 * dropped (config.md §6 step 5, QMP socket names and paths). As in the original, a list that is
 * the only non-empty one is kept verbatim.
 */
const mergeSocketLists = (lists: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const nonEmpty = lists.filter((l) => l.length > 0)
  if (nonEmpty.length <= 1) return nonEmpty[0] ?? []
  const out: Array<string> = []
  for (const list of [...lists].reverse()) for (const s of list) if (!out.includes(s)) out.push(s)
  return out
}

const mergeAttributes = (sources: ReadonlyArray<Source>): { attrs: Attributes; origins: Record<string, Origin> } => {
  const origins: Record<string, Origin> = {}
  const first = <A>(key: string, get: (a: Attributes) => A, isSet: (a: A) => boolean, zero: A, path: ReadonlyArray<string>): A => {
    for (const s of sources) {
      const value = get(s.definition.attrs)
      if (isSet(value)) {
        origins[key] = at(s.origin, "attrs", ...path)
        return value
      }
    }
    return zero
  }
  const positive = (n: number) => n > 0
  const nonEmpty = (s: string) => s !== ""
  const any = (key: string, get: (a: Attributes) => boolean, path: ReadonlyArray<string>): boolean =>
    first(key, get, (b) => b, false, path)
  const attrs: Attributes = {
    firmware: {
      code: first("firmware.code", (a) => a.firmware.code, isVolumeSet, emptyVolumeOf(), ["firmware", "code"]),
      vars: first("firmware.vars", (a) => a.firmware.vars, isVolumeSet, emptyVolumeOf(), ["firmware", "vars"])
    },
    cpu: {
      processor: first("cpu.processor", (a) => a.cpu.processor, nonEmpty, "", ["cpu", "processor"]),
      sockets: first("cpu.sockets", (a) => a.cpu.sockets, positive, 0, ["cpu", "sockets"]),
      cores: first("cpu.cores", (a) => a.cpu.cores, positive, 0, ["cpu", "cores"]),
      threads: first("cpu.threads", (a) => a.cpu.threads, positive, 0, ["cpu", "threads"])
    },
    memory: { ram: first("memory.ram", (a) => a.memory.ram, positive, 0, ["memory", "ram"]) },
    enlightenments: { enabled: any("enlightenments.enabled", (a) => a.enlightenments.enabled, ["enlightenments", "enabled"]) },
    tpm: {
      enabled: any("tpm.enabled", (a) => a.tpm.enabled, ["tpm", "enabled"]),
      socket: { path: first("tpm.socket.path", (a) => a.tpm.socket.path, nonEmpty, "", ["tpm", "socket", "path"]) }
    },
    qmp: {
      enabled: any("qmp.enabled", (a) => a.qmp.enabled, ["qmp", "enabled"]),
      sockets: {
        names: mergeSocketLists(sources.map((s) => s.definition.attrs.qmp.sockets.names)),
        paths: mergeSocketLists(sources.map((s) => s.definition.attrs.qmp.sockets.paths))
      }
    },
    agent: {
      qemu: {
        enabled: any("agent.qemu.enabled", (a) => a.agent.qemu.enabled, ["agent", "qemu", "enabled"]),
        port: first("agent.qemu.port", (a) => a.agent.qemu.port, positive, 0, ["agent", "qemu", "port"]),
        portPattern: first("agent.qemu.port-pattern", (a) => a.agent.qemu.portPattern, nonEmpty, "", ["agent", "qemu", "port-pattern"])
      }
    },
    spice: {
      enabled: any("spice.enabled", (a) => a.spice.enabled, ["spice", "enabled"]),
      port: first("spice.port", (a) => a.spice.port, positive, 0, ["spice", "port"]),
      portPattern: first("spice.port-pattern", (a) => a.spice.portPattern, nonEmpty, "", ["spice", "port-pattern"]),
      displays: first("spice.displays", (a) => a.spice.displays, positive, 0, ["spice", "displays"])
    },
    hardware: {
      revision: first("hardware.revision", (a) => a.hardware.revision, nonEmpty, "", ["hardware", "revision"])
    },
    boot: {
      kernel: first("boot.kernel", (a) => a.boot.kernel, isVolumeSet, emptyVolumeOf(), ["boot", "kernel"]),
      initrd: first("boot.initrd", (a) => a.boot.initrd, isVolumeSet, emptyVolumeOf(), ["boot", "initrd"]),
      append: first("boot.append", (a) => a.boot.append, nonEmpty, "", ["boot", "append"])
    }
  }
  return { attrs, origins }
}

const emptyVolumeOf = (): Volume => ({ name: "", storage: "", wwn: "", serial: "", bootable: false })

const mergePrivileges = (sources: ReadonlyArray<Source>): Privileges => {
  const groups = sources.map((s) => s.definition.privileges.filesystem.group)
  return {
    filesystem: {
      group: {
        name: groups.find((g) => g.name !== "")?.name ?? "",
        id: groups.find((g) => g.id > 0)?.id ?? 0
      }
    }
  }
}

/** Merges definitions in priority order without populating identifiers. */
export const mergeSources = (sources: ReadonlyArray<Source>): { definition: Definition; origins: MergeOrigins } => {
  const { attrs, origins: attrOrigins } = mergeAttributes(sources)
  const named = <A extends { readonly name: string }>(get: (d: Definition) => ReadonlyArray<A>, key: string) => {
    const merged = mergeNamed(sources.map((s) => get(s.definition)))
    return {
      items: merged.map((m) => m.item),
      origins: merged.map((m) => at(sources[m.list]!.origin, key, m.index))
    }
  }
  const volumes = named((d) => d.volumes, "volumes")
  const connections = named((d) => d.connections, "connections")
  const devices = named((d) => d.devices, "devices")
  return {
    definition: {
      vars: mergeVars(...sources.map((s) => s.definition.vars)),
      privileges: mergePrivileges(sources),
      attrs,
      volumes: volumes.items,
      connections: connections.items,
      devices: devices.items
    },
    origins: {
      volumes: volumes.origins,
      connections: connections.origins,
      devices: devices.origins,
      attrs: attrOrigins
    }
  }
}

/** Fills derived identifiers (config.md §6 step 7, identity.md §2.6). */
export const populate = (machine: Machine, d: Definition): Definition => {
  const seed = makeSeed(machine.idBytes, machine.name)
  const group = d.privileges.filesystem.group
  const volumes = d.volumes.map((v): Volume =>
    v.name === ""
      ? v
      : {
        ...v,
        wwn: v.wwn !== "" ? v.wwn : formatWwn(deriveWwn(seed, v.name)),
        serial: v.serial !== "" ? v.serial : deriveSerial(seed, v.name)
      }
  )
  const connections = d.connections.map((c): Connection =>
    c.mac === "" && c.name !== "" ? { ...c, mac: deriveMac(seed, c.name) } : c
  )
  const devices = d.devices.map((dev): Device =>
    dev.id !== "" ? dev : { ...dev, id: formatUuid(deriveDeviceId(seed, dev.class, dev.name)) }
  )
  return {
    ...d,
    privileges: {
      filesystem: {
        group: {
          name: group.name !== "" ? group.name : groupName(machine.name),
          id: group.id > 0 ? group.id : Either.getOrThrow(deriveGroupId(seed)) // exhaustion needs 4096 rejected words: unreachable
        }
      }
    },
    volumes,
    connections,
    devices
  }
}

/** Resolves a machine's tags against the host, merges and populates ("Build" in the original). */
export const compose = (host: Host, machine: Machine): Either.Either<Composed, ConfigInvalidError> =>
  Either.map(collectSources(host, machine), (sources) => {
    const { definition, origins } = mergeSources(sources)
    return { machine, definition: populate(machine, definition), origins }
  })

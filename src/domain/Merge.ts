/**
 * Tag resolution and merging (config.md §6): the machine's own definition first, then its tags in
 * order; the first non-zero value wins, `enabled` flags are OR-ed, lists are de-duplicated by name
 * keeping the first, and derived identifiers fill what the configuration leaves out.
 */
import * as Either from "effect/Either"
import type { Attributes, Connection, Definition, Device, Privileges, Volume } from "./Config.js"
import { isVolumeSet } from "./Config.js"
import type { Host, Machine } from "./ConfigFiles.js"
import { at, type ConfigInvalidError, invalid, issue, jsonPath, type Origin } from "./ConfigIssue.js"
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
  /** Keyed by variable name: where the merged value of each variable was defined. */
  readonly vars: Readonly<Record<string, Origin>>
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
  for (let i = 0; i < machine.tags.length; i++) {
    const tag = machine.tags[i]!
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
      sources.push({ definition, origin: { file: host.file, path: jsonPath(["tag", tag]) } })
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

/** Where each merged variable comes from: the first source defining it. */
const varOrigins = (sources: ReadonlyArray<Source>): Record<string, Origin> => {
  const out: Record<string, Origin> = {}
  for (const s of sources) {
    for (const k of Object.keys(s.definition.vars)) if (!(k in out)) out[k] = at(s.origin, "vars", k)
  }
  return out
}

/** Merges named items: concatenation in priority order, first item per name kept. */
export const mergeNamed = <A extends { readonly name: string }>(
  lists: ReadonlyArray<ReadonlyArray<A>>
): Array<{ readonly item: A; readonly list: number; readonly index: number }> => {
  const seen = new Set<string>()
  const out: Array<{ item: A; list: number; index: number }> = []
  for (let l = 0; l < lists.length; l++) {
    const list = lists[l]!
    for (let index = 0; index < list.length; index++) {
      const item = list[index]!
      if (seen.has(item.name)) continue
      seen.add(item.name)
      out.push({ item, list: l, index })
    }
  }
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
  for (let i = lists.length - 1; i >= 0; i--) for (const s of lists[i]!) if (!out.includes(s)) out.push(s)
  return out
}

/** `.attrs.<key>` as a JSON path suffix (`.attrs.spice.port-pattern`), made once per attribute key. */
const attrPathSuffixes = new Map<string, string>()

const attrPathSuffix = (key: string): string => {
  let suffix = attrPathSuffixes.get(key)
  if (suffix === undefined) {
    suffix = jsonPath(["attrs", ...key.split(".")]).slice(1)
    attrPathSuffixes.set(key, suffix)
  }
  return suffix
}

const positive = (n: number) => n > 0
const nonEmpty = (s: string) => s !== ""

const mergeAttributes = (sources: ReadonlyArray<Source>): { attrs: Attributes; origins: Record<string, Origin> } => {
  const origins: Record<string, Origin> = {}
  /** The first set value of the attribute at `key` (`cpu.processor`), recording where it came from. */
  const first = <A>(key: string, get: (a: Attributes) => A, isSet: (a: A) => boolean, zero: A): A => {
    for (const s of sources) {
      const value = get(s.definition.attrs)
      if (isSet(value)) {
        origins[key] = { file: s.origin.file, path: s.origin.path + attrPathSuffix(key) }
        return value
      }
    }
    return zero
  }
  const any = (key: string, get: (a: Attributes) => boolean): boolean => first(key, get, (b) => b, false)
  const attrs: Attributes = {
    firmware: {
      code: first("firmware.code", (a) => a.firmware.code, isVolumeSet, emptyVolumeOf()),
      vars: first("firmware.vars", (a) => a.firmware.vars, isVolumeSet, emptyVolumeOf())
    },
    cpu: {
      processor: first("cpu.processor", (a) => a.cpu.processor, nonEmpty, ""),
      sockets: first("cpu.sockets", (a) => a.cpu.sockets, positive, 0),
      cores: first("cpu.cores", (a) => a.cpu.cores, positive, 0),
      threads: first("cpu.threads", (a) => a.cpu.threads, positive, 0)
    },
    memory: { ram: first("memory.ram", (a) => a.memory.ram, positive, 0) },
    enlightenments: { enabled: any("enlightenments.enabled", (a) => a.enlightenments.enabled) },
    tpm: {
      enabled: any("tpm.enabled", (a) => a.tpm.enabled),
      socket: { path: first("tpm.socket.path", (a) => a.tpm.socket.path, nonEmpty, "") },
      data: first("tpm.data", (a) => a.tpm.data, isVolumeSet, emptyVolumeOf())
    },
    qmp: {
      enabled: any("qmp.enabled", (a) => a.qmp.enabled),
      sockets: {
        names: mergeSocketLists(sources.map((s) => s.definition.attrs.qmp.sockets.names)),
        paths: mergeSocketLists(sources.map((s) => s.definition.attrs.qmp.sockets.paths))
      }
    },
    agent: {
      qemu: {
        enabled: any("agent.qemu.enabled", (a) => a.agent.qemu.enabled),
        port: first("agent.qemu.port", (a) => a.agent.qemu.port, positive, 0),
        portPattern: first("agent.qemu.port-pattern", (a) => a.agent.qemu.portPattern, nonEmpty, "")
      }
    },
    spice: {
      enabled: any("spice.enabled", (a) => a.spice.enabled),
      port: first("spice.port", (a) => a.spice.port, positive, 0),
      portPattern: first("spice.port-pattern", (a) => a.spice.portPattern, nonEmpty, ""),
      displays: first("spice.displays", (a) => a.spice.displays, positive, 0)
    },
    hardware: {
      revision: first("hardware.revision", (a) => a.hardware.revision, nonEmpty, ""),
      machineType: first("hardware.machine-type", (a) => a.hardware.machineType, nonEmpty, "")
    },
    boot: {
      kernel: first("boot.kernel", (a) => a.boot.kernel, isVolumeSet, emptyVolumeOf()),
      initrd: first("boot.initrd", (a) => a.boot.initrd, isVolumeSet, emptyVolumeOf()),
      append: first("boot.append", (a) => a.boot.append, nonEmpty, "")
    },
    console: { enabled: any("console.enabled", (a) => a.console.enabled) }
  }
  return { attrs, origins }
}

const emptyVolumeOf = (): Volume => ({ name: "", storage: "", wwn: "", serial: "", bootable: false })

const mergePrivileges = (sources: ReadonlyArray<Source>): Privileges => {
  const groups = sources.map((s) => s.definition.privileges.filesystem.group)
  return {
    user: sources.find((s) => s.definition.privileges.user !== "")?.definition.privileges.user ?? "",
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
      attrs: attrOrigins,
      vars: varOrigins(sources)
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
      user: d.privileges.user,
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
  Either.map(composeUnpopulated(host, machine), (c) => ({ ...c, definition: populate(machine, c.definition) }))

/**
 * As `compose`, without the derived identifiers (MACs, WWNs, serials, device and group ids are
 * left as configured, possibly empty): for what needs only names and networks, the tap hooks,
 * which would otherwise hash a few times per machine for nothing. It fails exactly when `compose`
 * does (populating cannot fail).
 */
export const composeUnpopulated = (host: Host, machine: Machine): Either.Either<Composed, ConfigInvalidError> => {
  const sources = collectSources(host, machine)
  if (Either.isLeft(sources)) return Either.left(sources.left)
  const { definition, origins } = mergeSources(sources.right)
  return Either.right({ machine, definition, origins })
}

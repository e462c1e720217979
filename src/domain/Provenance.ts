/**
 * Where each value of a merged machine came from: the machine's own file, one of its tags in the
 * host file, or derivation from the machine's identity (MACs, WWNs, serials, device ids, the
 * filesystem group). Computed with the same merge as `compose` (Merge.ts), so it cannot disagree
 * with what `cat`, `args` and `generate` use.
 */
import * as Either from "effect/Either"
import type { Definition } from "./Config.js"
import type { Host, Machine } from "./ConfigFiles.js"
import type { ConfigInvalidError, Origin } from "./ConfigIssue.js"
import { collectSources, type Composed, mergeSources, populate, type Source } from "./Merge.js"

/** Who set a value. */
export type ProvenanceSource =
  | { readonly kind: "machine" }
  | { readonly kind: "tag"; readonly tag: string }
  | { readonly kind: "derived" }

/** One value of the merged definition, its JSON path there (`$.attrs.memory.ram`) and its origin. */
export interface ProvenanceEntry {
  readonly path: string
  readonly value: string | number | boolean
  readonly source: ProvenanceSource
  /** The file and JSON path the value was written at; undefined for derived values. */
  readonly origin: Origin | undefined
}

export interface Provenance {
  readonly composed: Composed
  readonly entries: ReadonlyArray<ProvenanceEntry>
}

/** `spice.port-pattern` → the value at attrs.spice.portPattern. */
const attrValue = (attrs: Definition["attrs"], key: string): unknown => {
  let value: unknown = attrs
  for (const segment of key.split(".")) {
    const field = segment.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    value = (value as Record<string, unknown> | undefined)?.[field]
  }
  return value
}

/** A volume-valued attribute (firmware code, kernel) shown as `storage/name`. */
const scalar = (value: unknown): string | number | boolean | undefined => {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value
  if (typeof value === "object" && value !== null && "name" in value && "storage" in value) {
    const v = value as { name: string; storage: string }
    return `${v.storage}/${v.name}`
  }
  return undefined
}

const isUnder = (path: string, prefix: string): boolean =>
  path === prefix || (path.startsWith(prefix) && (path[prefix.length] === "." || path[prefix.length] === "["))

/**
 * The values of `machine` merged with its tags, each with the source that set it. Entries follow
 * the merged definition: vars, the filesystem group, attributes (in merge order), then volumes,
 * connections and devices with their derived identifiers.
 */
export const provenance = (host: Host, machine: Machine): Either.Either<Provenance, ConfigInvalidError> => {
  const collected = collectSources(host, machine)
  if (Either.isLeft(collected)) return Either.left(collected.left)
  const sources = collected.right
  const { definition: merged, origins } = mergeSources(sources)
  const populated = populate(machine, merged)
  const sourceOf = (i: number): ProvenanceSource => (i === 0 ? { kind: "machine" } : { kind: "tag", tag: machine.tags[i - 1]! })
  /** The source an origin belongs to: same file, longest path prefix (the machine's is `$`). */
  const sourceAt = (origin: Origin): ProvenanceSource => {
    let best = -1
    sources.forEach((s: Source, i) => {
      if (s.origin.file === origin.file && isUnder(origin.path, s.origin.path) && (best === -1 || s.origin.path.length > sources[best]!.origin.path.length)) best = i
    })
    return best === -1 ? { kind: "derived" } : sourceOf(best)
  }
  const entries: Array<ProvenanceEntry> = []
  const push = (path: string, value: unknown, origin: Origin | undefined) => {
    const v = scalar(value)
    if (v === undefined) return
    entries.push({ path, value: v, source: origin === undefined ? { kind: "derived" } : sourceAt(origin), origin })
  }
  const derived = (path: string, value: unknown) => push(path, value, undefined)

  for (const [key, value] of Object.entries(populated.vars)) {
    const i = sources.findIndex((s) => key in s.definition.vars)
    const origin = i === -1 ? undefined : { file: sources[i]!.origin.file, path: `${sources[i]!.origin.path}.vars[${JSON.stringify(key)}]` }
    push(`$.vars[${JSON.stringify(key)}]`, value, origin)
  }

  const group = populated.privileges.filesystem.group
  for (const field of ["name", "id"] as const) {
    const i = sources.findIndex((s) => {
      const g = s.definition.privileges.filesystem.group
      return field === "name" ? g.name !== "" : g.id > 0
    })
    const path = `$.privileges.filesystem.group.${field}`
    if (i === -1) derived(path, group[field])
    else push(path, group[field], { file: sources[i]!.origin.file, path: sources[i]!.origin.path + path.slice(1) })
  }

  for (const [key, origin] of Object.entries(origins.attrs)) push(`$.attrs.${key}`, attrValue(populated.attrs, key), origin)
  for (const list of ["names", "paths"] as const) {
    populated.attrs.qmp.sockets[list].forEach((value, j) => {
      const i = sources.findIndex((s) => s.definition.attrs.qmp.sockets[list].includes(value))
      const origin = i === -1 ? undefined : { file: sources[i]!.origin.file, path: `${sources[i]!.origin.path}.attrs.qmp.sockets.${list}` }
      push(`$.attrs.qmp.sockets.${list}[${j}]`, value, origin)
    })
  }

  populated.volumes.forEach((v, i) => {
    const origin = origins.volumes[i]!
    const before = merged.volumes[i]!
    const base = `$.volumes[${i}]`
    push(`${base}.name`, v.name, { file: origin.file, path: `${origin.path}.name` })
    if (v.storage !== "") push(`${base}.storage`, v.storage, { file: origin.file, path: `${origin.path}.storage` })
    if (v.bootable) push(`${base}.bootable`, true, { file: origin.file, path: `${origin.path}.bootable` })
    for (const field of ["wwn", "serial"] as const) {
      if (v[field] === "") continue
      if (before[field] !== "") push(`${base}.${field}`, v[field], { file: origin.file, path: `${origin.path}.${field}` })
      else derived(`${base}.${field}`, v[field])
    }
  })
  populated.connections.forEach((c, i) => {
    const origin = origins.connections[i]!
    const base = `$.connections[${i}]`
    push(`${base}.name`, c.name, { file: origin.file, path: `${origin.path}.name` })
    push(`${base}.network`, c.network, { file: origin.file, path: `${origin.path}.network` })
    if (c.ip !== "") push(`${base}.ip`, c.ip, { file: origin.file, path: `${origin.path}.ip` })
    if (merged.connections[i]!.mac !== "") push(`${base}.mac`, c.mac, { file: origin.file, path: `${origin.path}.mac` })
    else if (c.mac !== "") derived(`${base}.mac`, c.mac)
  })
  populated.devices.forEach((d, i) => {
    const origin = origins.devices[i]!
    const base = `$.devices[${i}]`
    push(`${base}.name`, d.name, { file: origin.file, path: `${origin.path}.name` })
    push(`${base}.class`, d.class, { file: origin.file, path: `${origin.path}.class` })
    if (merged.devices[i]!.id !== "") push(`${base}.id`, d.id, { file: origin.file, path: `${origin.path}.id` })
    else if (d.id !== "") derived(`${base}.id`, d.id)
  })
  return Either.right({ composed: { machine, definition: populated, origins }, entries })
}

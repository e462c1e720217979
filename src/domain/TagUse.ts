/**
 * The host resources a definition (a machine merged with its tags, or a tag on its own) refers
 * to: storage pools, networks, a processor, mediated-device classes.
 *
 * Tags no machine uses are never merged, so nothing validates them: a tag naming a pool, network,
 * processor or device class the host does not define would only fail on the day a machine starts
 * using it. `unusedTagWarnings` reports those references as warnings (the original accepted such
 * tags silently), at the tag's JSON path in the host file.
 */
import type { Definition, Volume } from "./Config.js"
import type { Host } from "./ConfigFiles.js"
import { type ConfigWarning, jsonPath, warning } from "./ConfigIssue.js"
import { offeredClasses } from "./qemu/Vfio.js"

export type ResourceKind = "storage" | "network" | "processor" | "mdev"

export interface ResourceReference {
  /** The host section the name belongs in (`mdev`: a device class offered by an entry there). */
  readonly kind: ResourceKind
  readonly name: string
  /** JSON path segments inside the definition. */
  readonly path: ReadonlyArray<PropertyKey>
}

/** Every named resource `d` refers to, in a stable order (empty names are not references). */
export const referencesOf = (d: Definition): ReadonlyArray<ResourceReference> => {
  const out: Array<ResourceReference> = []
  const pool = (path: ReadonlyArray<PropertyKey>, v: Volume) => {
    if (v.storage !== "") out.push({ kind: "storage", name: v.storage, path: [...path, "storage"] })
  }
  pool(["attrs", "firmware", "code"], d.attrs.firmware.code)
  pool(["attrs", "firmware", "vars"], d.attrs.firmware.vars)
  pool(["attrs", "boot", "kernel"], d.attrs.boot.kernel)
  pool(["attrs", "boot", "initrd"], d.attrs.boot.initrd)
  pool(["attrs", "tpm", "data"], d.attrs.tpm.data)
  d.volumes.forEach((v, i) => pool(["volumes", i], v))
  d.connections.forEach((c, i) => {
    if (c.network !== "") out.push({ kind: "network", name: c.network, path: ["connections", i, "network"] })
  })
  d.devices.forEach((dev, i) => {
    if (dev.class !== "") out.push({ kind: "mdev", name: dev.class, path: ["devices", i, "class"] })
  })
  if (d.attrs.cpu.processor !== "") out.push({ kind: "processor", name: d.attrs.cpu.processor, path: ["attrs", "cpu", "processor"] })
  return out
}

const has = (record: Readonly<Record<string, unknown>>, key: string): boolean => Object.prototype.hasOwnProperty.call(record, key)

const known = (names: ReadonlyArray<string>): string => (names.length === 0 ? "none defined" : `known: ${[...names].sort().join(", ")}`)

/** Why `ref` is missing on `host`, or undefined when the host defines it. */
const missing = (host: Host, ref: ResourceReference): string | undefined => {
  const { mdev, network, processor, storage } = host.config
  const name = JSON.stringify(ref.name)
  switch (ref.kind) {
    case "storage":
      return has(storage, ref.name) ? undefined : `storage pool ${name} is not defined in the host's "storage" (${known(Object.keys(storage))})`
    case "network":
      return has(network, ref.name) ? undefined : `network ${name} is not defined in the host's "network" (${known(Object.keys(network))})`
    case "processor":
      return has(processor, ref.name) ? undefined : `processor ${name} is not defined in the host's "processor" (${known(Object.keys(processor))})`
    case "mdev": {
      const classes = offeredClasses(mdev)
      return classes.includes(ref.name) ? undefined : `device class ${name} is not offered by any host "mdev" entry (${known(classes)})`
    }
  }
}

/**
 * Warnings for the tags of the host file that no machine in `used` applies and that refer to
 * resources the host does not define. A tag some machine uses is checked with that machine (an
 * error there), so it is not repeated here.
 */
export const unusedTagWarnings = (host: Host, used: ReadonlySet<string>): ReadonlyArray<ConfigWarning> =>
  Object.entries(host.config.tag)
    .filter(([name]) => !used.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([name, definition]) =>
      referencesOf(definition).flatMap((ref) => {
        const why = missing(host, ref)
        return why === undefined
          ? []
          : [warning(host.file, jsonPath(["tag", name, ...ref.path]), `${why}; tag ${JSON.stringify(name)} is used by no machine, so nothing else checks it`)]
      }))

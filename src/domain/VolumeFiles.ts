/**
 * The image files a machine opens and whether it opens them for writing. QEMU refuses to open one
 * image twice for writing (its image locking), within one machine or across two machines that run
 * together; read-only images (ISOs, firmware code, kernels, read-only pools) may be shared.
 */
import * as Either from "effect/Either"
import type { Definition, Volume } from "./Config.js"
import { isVolumeSet } from "./Config.js"
import type { Host, Machine } from "./ConfigFiles.js"
import { type ConfigIssue, issueAt, jsonPath, type Origin } from "./ConfigIssue.js"
import type { Composed } from "./Merge.js"
import { firstWinsVars, volumeFileName } from "./Pattern.js"

export interface VolumeFile {
  /** `volume "os"`, `firmware.vars volume "efivars"`, ... */
  readonly what: string
  readonly path: string
  readonly writable: boolean
  readonly origin: Origin
}

const WRITABLE_TYPES: ReadonlySet<string> = new Set(["raw", "raw-scsi", "raw-block", "firmware"])

const patternVars = (machine: Machine, definition: Definition): ReadonlyMap<string, string> =>
  firstWinsVars(
    { "machine-name": machine.name, "machine-description": machine.description, "machine-id": machine.id },
    definition.vars
  )

/** Composed machines and hosts are immutable values: their files are computed once. */
const computed = new WeakMap<Composed, { readonly host: Host; readonly files: ReadonlyArray<VolumeFile> }>()

/**
 * Every image file of a composed machine with its path as QEMU gets it (config.md §3.2). Volumes
 * whose pool is unknown or whose path is empty are left out: generation reports those.
 */
export const volumeFiles = (host: Host, c: Composed): ReadonlyArray<VolumeFile> => {
  // `generate` asks twice per machine (duplicate files, then collisions across the host).
  const cached = computed.get(c)
  if (cached !== undefined && cached.host === host) return cached.files
  const files = computeVolumeFiles(host, c)
  computed.set(c, { host, files })
  return files
}

const computeVolumeFiles = (host: Host, c: Composed): ReadonlyArray<VolumeFile> => {
  const vars = patternVars(c.machine, c.definition)
  const pools = host.config.storage
  const out: Array<VolumeFile> = []
  const add = (what: string, volume: Volume, origin: Origin, writable: (readonlyPool: boolean, type: string) => boolean) => {
    if (!Object.prototype.hasOwnProperty.call(pools, volume.storage)) return
    const pool = pools[volume.storage]!
    // A pattern that cannot be expanded is left out too: generation reports it.
    const path = Either.getOrElse(volumeFileName(pool, (name) => (name === "volume" ? volume.name : vars.get(name)), volume.name), () => "")
    if (path === "") return
    out.push({ what, path, writable: writable(pool.readonly, pool.type), origin })
  }
  const attrOrigin = (key: string) => c.origins.attrs[key] ?? { file: c.machine.file, path: jsonPath(["attrs", ...key.split(".")]) }
  const { boot, firmware } = c.definition.attrs
  if (isVolumeSet(firmware.code)) {
    add(`firmware.code volume ${JSON.stringify(firmware.code.name)}`, firmware.code, attrOrigin("firmware.code"), () => false)
    if (isVolumeSet(firmware.vars)) {
      add(`firmware.vars volume ${JSON.stringify(firmware.vars.name)}`, firmware.vars, attrOrigin("firmware.vars"), (ro) => !ro)
    }
  }
  if (isVolumeSet(boot.kernel)) {
    add(`boot.kernel volume ${JSON.stringify(boot.kernel.name)}`, boot.kernel, attrOrigin("boot.kernel"), () => false)
    if (isVolumeSet(boot.initrd)) add(`boot.initrd volume ${JSON.stringify(boot.initrd.name)}`, boot.initrd, attrOrigin("boot.initrd"), () => false)
  }
  c.definition.volumes.forEach((v, i) => {
    const origin = c.origins.volumes[i] ?? { file: c.machine.file, path: jsonPath(["volumes", i]) }
    add(`volume ${JSON.stringify(v.name)}`, v, origin, (ro, type) => !ro && WRITABLE_TYPES.has(type))
  })
  return out
}

/**
 * Two writable images of one machine that resolve to the same file: an error at the second,
 * naming both and the path (QEMU would refuse to start).
 */
export const duplicateWritableFiles = (host: Host, c: Composed): ReadonlyArray<ConfigIssue> => {
  const first = new Map<string, VolumeFile>()
  const issues: Array<ConfigIssue> = []
  for (const f of volumeFiles(host, c)) {
    if (!f.writable) continue
    const holder = first.get(f.path)
    if (holder === undefined) first.set(f.path, f)
    else {
      issues.push(issueAt(
        f.origin,
        `${f.what} and ${holder.what} of machine ${c.machine.name} are both the writable file ${f.path}; QEMU cannot open one image twice for writing`
      ))
    }
  }
  return issues
}

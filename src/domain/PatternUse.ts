/**
 * The patterns of a host as its machines use them: problems `check` reports that generation
 * alone would not show.
 *
 * - `storagePatternIssues`: every storage pool's pattern must be well formed (no `${` inside a
 *   variable name, no unclosed `${`, expressions that parse), whether or not a machine uses it.
 * - `unknownStorageVariables`: plain references in a machine's storage patterns to variables it
 *   does not define. They expand to "" (the original's behaviour, kept for compatibility), which
 *   is rarely what was meant: material for warnings.
 *
 * Pure: no I/O.
 */
import * as Either from "effect/Either"
import { isVolumeSet, type Volume } from "./Config.js"
import type { Host } from "./ConfigFiles.js"
import { type ConfigIssue, issue, jsonPath } from "./ConfigIssue.js"
import type { Composed } from "./Merge.js"
import { checkPattern, plainReferences, STORAGE_BUILTINS } from "./Pattern.js"

/** Where a storage pool's pattern is written. */
const poolPatternPath = (pool: string): string => jsonPath(["storage", pool, "pattern"])

const own = <A>(record: Readonly<Record<string, A>>, key: string): A | undefined =>
  Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined

/** One issue per storage pool whose pattern is malformed or holds an expression that does not parse. */
export const storagePatternIssues = (host: Host): ReadonlyArray<ConfigIssue> => {
  const out: Array<ConfigIssue> = []
  for (const [name, pool] of Object.entries(host.config.storage)) {
    if (pool.pattern === "") continue
    const checked = checkPattern("storage", pool.pattern)
    if (Either.isLeft(checked)) out.push(issue(host.file, poolPatternPath(name), checked.left.message))
  }
  return out
}

/** A plain reference in a storage pattern to a variable the machine does not define. */
export interface UnknownStorageVariable {
  /** The host file and the JSON path of the pool's `pattern`. */
  readonly file: string
  readonly path: string
  readonly pool: string
  readonly pattern: string
  readonly variable: string
  readonly machine: string
  /** What uses the pool: `volume "os"`, `firmware.code "OVMF_CODE"`, ... */
  readonly usedBy: ReadonlyArray<string>
  /** A defined variable the reference probably meant (`$machine-name` reads `$machine`). */
  readonly suggestion?: string
}

/** The one-line text of an unknown storage variable, for warnings. */
export const unknownStorageVariableMessage = (u: UnknownStorageVariable): string =>
  `storage pattern "${u.pattern}" refers to unknown variable "${u.variable}", which expands to "" ` +
  `(used by ${u.usedBy.join(", ")} of machine ${u.machine})` +
  (u.suggestion !== undefined ? `; did you mean \${${u.suggestion}}?` : "")

/** The volumes of a machine that go through a storage pool, each with what uses it. */
const pooledVolumes = (composed: Composed): ReadonlyArray<readonly [Volume, string]> => {
  const { attrs, volumes } = composed.definition
  const out: Array<readonly [Volume, string]> = []
  const attr = (key: string, volume: Volume) => {
    if (isVolumeSet(volume)) out.push([volume, `${key} ${JSON.stringify(volume.name)}`])
  }
  attr("firmware.code", attrs.firmware.code)
  if (isVolumeSet(attrs.firmware.code)) attr("firmware.vars", attrs.firmware.vars)
  attr("boot.kernel", attrs.boot.kernel)
  if (isVolumeSet(attrs.boot.kernel)) attr("boot.initrd", attrs.boot.initrd)
  for (const v of volumes) out.push([v, `volume ${JSON.stringify(v.name)}`])
  return out
}

/**
 * Plain references to undefined variables in the storage patterns a merged machine uses
 * (config.md §5.2: the built-ins, `volume`, then the merged vars), one entry per pool and
 * variable in order of first use. Malformed patterns and expressions are not listed here: they
 * are errors (`storagePatternIssues`, generation).
 */
export const unknownStorageVariables = (host: Host, composed: Composed): ReadonlyArray<UnknownStorageVariable> => {
  const vars = composed.definition.vars
  const defined = (name: string) => STORAGE_BUILTINS.includes(name) || Object.prototype.hasOwnProperty.call(vars, name)
  const byKey = new Map<string, { entry: UnknownStorageVariable; usedBy: Array<string> }>()
  for (const [volume, user] of pooledVolumes(composed)) {
    const pool = own(host.config.storage, volume.storage)
    if (pool === undefined || pool.pattern === "") continue
    const checked = checkPattern("storage", pool.pattern)
    if (Either.isLeft(checked)) continue
    for (const variable of plainReferences(checked.right)) {
      if (defined(variable)) continue
      const key = `${volume.storage}\u0000${variable}`
      const seen = byKey.get(key)
      if (seen !== undefined) {
        if (!seen.usedBy.includes(user)) seen.usedBy.push(user)
        continue
      }
      const usedBy = [user]
      const suggestion = [...STORAGE_BUILTINS, ...Object.keys(vars)].find((name) => name.startsWith(`${variable}-`))
      byKey.set(key, {
        usedBy,
        entry: {
          file: host.file,
          path: poolPatternPath(volume.storage),
          pool: volume.storage,
          pattern: pool.pattern,
          variable,
          machine: composed.machine.name,
          usedBy,
          ...(suggestion !== undefined ? { suggestion } : {})
        }
      })
    }
  }
  return [...byKey.values()].map((v) => v.entry)
}

/** A port pattern referring to a storage built-in, which port patterns do not see (config.md §5.3). */
export interface PortPatternBuiltin {
  readonly file: string
  readonly path: string
  readonly pattern: string
  readonly variable: string
  readonly machine: string
}

/** The one-line text of a built-in in a port pattern, for warnings. */
export const portPatternBuiltinMessage = (b: PortPatternBuiltin): string =>
  `port pattern "${b.pattern}" refers to "${b.variable}", a storage-pattern built-in that port patterns do not see: ` +
  `it expands to "" (as in the original) for machine ${b.machine}; define it in vars or drop it`

/**
 * Plain references to the storage built-ins (`machine-id`, ...) in the port patterns a merged
 * machine uses (enabled agent or SPICE without an explicit port) that its vars do not define:
 * they expand to "" instead of failing, for compatibility, which is rarely what was meant.
 */
export const portPatternBuiltins = (composed: Composed): ReadonlyArray<PortPatternBuiltin> => {
  const { attrs, vars } = composed.definition
  const out: Array<PortPatternBuiltin> = []
  const scan = (key: string, enabled: boolean, port: number, pattern: string) => {
    if (!enabled || port !== 0 || pattern === "") return
    const checked = checkPattern("port", pattern)
    if (Either.isLeft(checked)) return
    const origin = composed.origins.attrs[key] ?? { file: composed.machine.file, path: jsonPath(["attrs", ...key.split(".")]) }
    for (const variable of plainReferences(checked.right)) {
      if (!STORAGE_BUILTINS.includes(variable) || Object.prototype.hasOwnProperty.call(vars, variable)) continue
      out.push({ file: origin.file, path: origin.path, pattern, variable, machine: composed.machine.name })
    }
  }
  scan("agent.qemu.port-pattern", attrs.agent.qemu.enabled, attrs.agent.qemu.port, attrs.agent.qemu.portPattern)
  scan("spice.port-pattern", attrs.spice.enabled, attrs.spice.port, attrs.spice.portPattern)
  return out
}

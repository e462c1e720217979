/**
 * Building `--format json` documents by the conventions of Output.ts: timestamps in ISO 8601,
 * unset fields omitted. No Schema here, so commands load nothing heavy to print JSON.
 */

/** The ISO 8601 form of a time in microseconds since the epoch; `undefined` for 0 (unset). */
export const isoFromMicros = (micros: number): string | undefined => {
  if (!(micros > 0)) return undefined
  const whole = Math.floor(micros / 1e6)
  const fraction = Math.round(micros - whole * 1e6)
  return isoFromSeconds(whole, fraction)
}

/** ISO 8601 from whole seconds and microseconds (QEMU's event timestamps); `undefined` when negative. */
export const isoFromSeconds = (seconds: number, microseconds: number): string | undefined => {
  if (seconds < 0 || microseconds < 0) return undefined
  const base = new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, "")
  return microseconds > 0 ? `${base}.${String(microseconds).padStart(6, "0")}Z` : `${base}Z`
}

/**
 * `value` without the fields that are unset (`undefined`, `""`, `0`, `false`, `null`, empty lists
 * and objects), recursively; values at the paths `keep` accepts stay as they are (a variables map:
 * a variable set to `""` is set).
 */
export const omitUnset = (value: unknown, keep: (path: ReadonlyArray<string>) => boolean = () => false): unknown => {
  const prune = (v: unknown, path: ReadonlyArray<string>): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => prune(x, [...path, String(i)]))
    if (v === null || typeof v !== "object" || (path.length > 0 && keep(path))) return v
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const pruned = prune(x, [...path, k])
      if (isUnset(pruned)) continue
      out[k] = pruned
    }
    return out
  }
  return prune(value, [])
}

const isUnset = (v: unknown): boolean =>
  v === undefined || v === null || v === "" || v === 0 || v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)

/** The fields of `A` that may be `undefined` become optional ones, without `undefined`. */
export type Defined<A> =
  & { readonly [K in keyof A as undefined extends A[K] ? never : K]: A[K] }
  & { readonly [K in keyof A as undefined extends A[K] ? K : never]?: Exclude<A[K], undefined> }

/** `record` without its `undefined` and `""` fields (for documents built field by field). */
export const defined = <A extends Record<string, unknown>>(record: A): Defined<A> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined && v !== "")) as Defined<A>

/**
 * The shape of the configuration files as plain data (Config.ts declares the files with it): text,
 * flags, bounded integers, literal choices, lists, string-keyed records and structs whose fields
 * are all optional with a default, some under another key in the file (`port-pattern`).
 *
 * Two things are derived from a shape:
 * - `decodeShape` decodes a parsed JSON document in one walk, matching keys as the original's Go
 *   decoding did (config.md §7: an exact key first, then case-insensitively; `null` leaves the
 *   default; unknown keys are collected for warnings). It gives up on the first value the shape
 *   rejects; the caller then asks Schema for the full report.
 * - `schemaOf` builds the equivalent Effect Schema, on first use, for everything else: the issues
 *   of a file that does not decode, `cat --format json`'s schema, property tests.
 *
 * Why not only Schema: every command and every hook systemd runs decodes the host file and a
 * machine file or two, and building the schemas of the whole format when the module loads cost
 * more than the decoding (about 6 ms and 600 KB of every hook's start-up). A shape costs a few
 * objects. test/property/ConfigShape.test.ts checks on generated documents that the walk gives
 * what canonicalising and Schema's decoder give (values, key order, warnings), and gives up
 * exactly when Schema fails.
 */
import type * as Schema from "effect/Schema"
import { schemaModule } from "./SchemaModule.js"

export interface Text {
  readonly _tag: "Text"
}
export interface Flag {
  readonly _tag: "Flag"
}
/** A safe integer within `min`..`max`, as Schema's `Int` refined by `nonNegative` or `between`. */
export interface Int {
  readonly _tag: "Int"
  readonly min: number
  readonly max: number
  /** Schema's refinement: `nonNegative()`, else `between(min, max)` (the messages differ). */
  readonly refinement: "nonNegative" | "between"
}
export interface Choice<L extends string = string> {
  readonly _tag: "Choice"
  readonly literals: ReadonlyArray<L>
}
export interface List<S extends Shape = Shape> {
  readonly _tag: "List"
  readonly element: S
}
/** A record of string keys. */
export interface Dict<S extends Shape = Shape> {
  readonly _tag: "Dict"
  readonly value: S
}
export interface Field<S extends Shape = Shape, K extends string | undefined = string | undefined> {
  readonly shape: S
  readonly default: () => TypeOf<S>
  /** The key in the file when it is not the field's name. */
  readonly key: K
}
export type Fields = { readonly [name: string]: Field<any, string | undefined> }
export interface Struct<F extends Fields = Fields> {
  readonly _tag: "Struct"
  readonly fields: F
}
export type Shape = Text | Flag | Int | Choice | List<any> | Dict<any> | Struct<any>

/** The decoded value of a shape (as `Schema.Schema.Type` of its schema). */
export type TypeOf<S> = S extends Text ? string
  : S extends Flag ? boolean
  : S extends Int ? number
  : S extends Choice<infer L> ? L
  : S extends List<infer E> ? ReadonlyArray<TypeOf<E>>
  : S extends Dict<infer V> ? { readonly [key: string]: TypeOf<V> }
  : S extends Struct<infer F> ? { readonly [K in keyof F]: TypeOf<F[K]["shape"]> }
  : never

/** A shape's value in the file (as `Schema.Schema.Encoded` of its schema): every field optional, under its key. */
export type EncodedOf<S> = S extends Text ? string
  : S extends Flag ? boolean
  : S extends Int ? number
  : S extends Choice<infer L> ? L
  : S extends List<infer E> ? ReadonlyArray<EncodedOf<E>>
  : S extends Dict<infer V> ? { readonly [key: string]: EncodedOf<V> }
  : S extends Struct<infer F> ? { readonly [K in keyof F as F[K]["key"] extends string ? F[K]["key"] : K]?: EncodedOf<F[K]["shape"]> }
  : never

export const text: Text = { _tag: "Text" }
export const flag: Flag = { _tag: "Flag" }
export const count: Int = { _tag: "Int", min: 0, max: Number.MAX_SAFE_INTEGER, refinement: "nonNegative" }
export const port: Int = { _tag: "Int", min: 0, max: 65535, refinement: "between" }
export const uint32: Int = { _tag: "Int", min: 0, max: 4294967295, refinement: "between" }
export const choice = <const L extends ReadonlyArray<string>>(...literals: L): Choice<L[number]> => ({ _tag: "Choice", literals })
export const list = <S extends Shape>(element: S): List<S> => ({ _tag: "List", element })
export const dict = <S extends Shape>(value: S): Dict<S> => ({ _tag: "Dict", value })
/** A struct's field as declared: a shape (absent means its zero value), or `field(...)`. */
type Entry = Shape | Field<any, string | undefined>
type FieldOf<E> = E extends Field<infer S, infer K> ? Field<S, K> : E extends Shape ? Field<E, undefined> : never

/**
 * A struct of optional fields. A field given as a bare shape defaults to its zero value, as Go's
 * decoding leaves it: "", false, 0, an empty list or record, a struct of zero values, a choice's
 * first literal.
 */
export const struct = <E extends { readonly [name: string]: Entry }>(entries: E): Struct<{ readonly [K in keyof E]: FieldOf<E[K]> }> => {
  const fields: Record<string, Field> = {}
  for (const [name, entry] of Object.entries(entries)) {
    fields[name] = "_tag" in entry ? { shape: entry, default: () => zeroOf(entry) as never, key: undefined } : entry
  }
  return { _tag: "Struct", fields } as never
}

/** A field with another default than its zero value, or under another key in the file. */
export const field = <S extends Shape, K extends string | undefined = undefined>(
  shape: S,
  options: { readonly default?: () => TypeOf<S>; readonly key?: K }
): Field<S, K> => ({ shape, default: options.default ?? (() => zeroOf(shape) as TypeOf<S>), key: options.key as K })

const zeros = new WeakMap<Struct, unknown>()

/**
 * The value of a shape when the file has none. A struct's is made once (decoding copies a default
 * into each file, so no two files share it).
 */
const zeroOf = (shape: Shape): unknown => {
  switch (shape._tag) {
    case "Text":
      return ""
    case "Flag":
      return false
    case "Int":
      return shape.min
    case "Choice":
      return shape.literals[0]
    case "List":
      return []
    case "Dict":
      return {}
    case "Struct": {
      let zero = zeros.get(shape)
      if (zero === undefined) {
        const out: Record<string, unknown> = {}
        for (const [name, f] of Object.entries(shape.fields as Fields)) out[name] = f.default()
        zero = out
        zeros.set(shape, zero)
      }
      return zero
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Where an unknown key was met, and the keys its object knows (for a did-you-mean). */
export interface UnknownKey {
  readonly path: ReadonlyArray<PropertyKey>
  readonly key: string
  readonly expected: ReadonlyArray<string>
}

const GIVE_UP: unique symbol = Symbol("give up")

const isPlainObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A struct's fields by their key in the file, exactly and lowercased (the first field wins a lowercase clash). */
interface KeyIndex {
  readonly byKey: ReadonlyMap<string, string>
  readonly byLower: ReadonlyMap<string, string>
  /** The keys in the file, in declared order (what an unknown key's warning suggests from). */
  readonly keys: ReadonlyArray<string>
  /** The field names, in declared order. */
  readonly names: ReadonlyArray<string>
}
const keyIndexes = new WeakMap<Struct, KeyIndex>()
const keyIndexOf = (shape: Struct): KeyIndex => {
  let index = keyIndexes.get(shape)
  if (index === undefined) {
    const byKey = new Map<string, string>()
    const byLower = new Map<string, string>()
    const keys: Array<string> = []
    const names = Object.keys(shape.fields)
    for (const name of names) {
      const key = (shape.fields[name] as Field).key ?? name
      keys.push(key)
      byKey.set(key, name)
      if (!byLower.has(key.toLowerCase())) byLower.set(key.toLowerCase(), name)
    }
    index = { byKey, byLower, keys, names }
    keyIndexes.set(shape, index)
  }
  return index
}

/** `path`: the JSON path of `value` (keys as in the file), extended in place while a member is visited. */
const walk = (shape: Shape, value: unknown, path: Array<PropertyKey>, unknown: Array<UnknownKey>): unknown => {
  switch (shape._tag) {
    case "Text":
      return typeof value === "string" ? value : GIVE_UP
    case "Flag":
      return typeof value === "boolean" ? value : GIVE_UP
    case "Int":
      return typeof value === "number" && Number.isSafeInteger(value) && value >= shape.min && value <= shape.max ? value : GIVE_UP
    case "Choice":
      return typeof value === "string" && shape.literals.includes(value) ? value : GIVE_UP
    case "List": {
      if (!Array.isArray(value)) return GIVE_UP
      const out: Array<unknown> = []
      let failed = false
      for (let i = 0; i < value.length; i++) {
        path.push(i)
        const item = walk(shape.element, value[i], path, unknown)
        path.pop()
        if (item === GIVE_UP) failed = true
        else out.push(item)
      }
      return failed ? GIVE_UP : out
    }
    case "Dict": {
      if (!isPlainObject(value)) return GIVE_UP
      const out: Record<string, unknown> = {}
      let failed = false
      for (const key of Object.keys(value)) {
        const member = value[key]
        if (member === null) continue
        path.push(key)
        const item = walk(shape.value, member, path, unknown)
        path.pop()
        if (item === GIVE_UP) failed = true
        else out[key] = item
      }
      return failed ? GIVE_UP : out
    }
    case "Struct": {
      if (!isPlainObject(value)) return GIVE_UP
      const index = keyIndexOf(shape)
      // Every member is visited, in the file's order (its unknown keys are reported even when a
      // later member of the same name replaces it, as Go's decoder visits them); the last wins.
      const given = new Map<string, unknown>()
      for (const key of Object.keys(value)) {
        const member = value[key]
        const name = index.byKey.get(key) ?? index.byLower.get(key.toLowerCase())
        if (name === undefined) {
          unknown.push({ path: [...path, key], key, expected: index.keys })
          continue
        }
        if (member === null) continue
        const f = shape.fields[name] as Field
        path.push(f.key ?? name)
        given.set(name, walk(f.shape, member, path, unknown))
        path.pop()
      }
      const out: Record<string, unknown> = {}
      for (const name of index.names) {
        const f = shape.fields[name] as Field
        const decoded = given.has(name) ? given.get(name) : copy(f.shape, f.default())
        if (decoded === GIVE_UP) return GIVE_UP
        out[name] = decoded
      }
      return out
    }
  }
}

/** A fresh copy of a (default) value: no two documents share a container. */
const copy = (shape: Shape, value: unknown): unknown => {
  switch (shape._tag) {
    case "List":
      return (value as ReadonlyArray<unknown>).map((v) => copy(shape.element, v))
    case "Dict": {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = copy(shape.value, v)
      return out
    }
    case "Struct": {
      const out: Record<string, unknown> = {}
      for (const name of keyIndexOf(shape).names) out[name] = copy((shape.fields[name] as Field).shape, (value as Record<string, unknown>)[name])
      return out
    }
    default:
      return value
  }
}

/**
 * Decodes a parsed JSON value: keys matched as the original did, `null` members dropped, defaults
 * for what is absent. Unknown keys are pushed onto `unknown`. Undefined when the value does not
 * decode (Schema then tells why).
 */
export const decodeShape = <S extends Shape>(
  shape: S,
  value: unknown,
  unknown: Array<UnknownKey> = []
): { readonly value: TypeOf<S> } | undefined => {
  const decoded = walk(shape, value, [], unknown)
  return decoded === GIVE_UP ? undefined : { value: decoded as TypeOf<S> }
}

/**
 * A decoded value back in the file's form (fields under their keys in the file, declared order),
 * as Schema's `encodeSync` of `schemaOf(shape)` gives it; undefined when `value` is not one.
 */
export const encodeShape = <S extends Shape>(shape: S, value: unknown): { readonly value: EncodedOf<S> } | undefined => {
  const encoded = encode(shape, value)
  return encoded === GIVE_UP ? undefined : { value: encoded as EncodedOf<S> }
}

const encode = (shape: Shape, value: unknown): unknown => {
  switch (shape._tag) {
    case "List": {
      if (!Array.isArray(value)) return GIVE_UP
      const out: Array<unknown> = []
      for (const v of value) {
        const e = encode(shape.element, v)
        if (e === GIVE_UP) return GIVE_UP
        out.push(e)
      }
      return out
    }
    case "Dict": {
      if (!isPlainObject(value)) return GIVE_UP
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(value)) {
        const e = encode(shape.value, value[key])
        if (e === GIVE_UP) return GIVE_UP
        out[key] = e
      }
      return out
    }
    case "Struct": {
      if (!isPlainObject(value)) return GIVE_UP
      const out: Record<string, unknown> = {}
      for (const name of keyIndexOf(shape).names) {
        if (!Object.prototype.hasOwnProperty.call(value, name)) return GIVE_UP
        const f = shape.fields[name] as Field
        const e = encode(f.shape, value[name])
        if (e === GIVE_UP) return GIVE_UP
        out[f.key ?? name] = e
      }
      return out
    }
    default:
      return walk(shape, value, [], [])
  }
}

// ---------------------------------------------------------------------------------------------
// The equivalent Schema, built on first use

const schemas = new WeakMap<Shape, Schema.Schema.Any>()
const plain = new Map<string, Schema.Schema.Any>()

const build = (shape: Shape): Schema.Schema.Any => {
  const S = schemaModule()
  switch (shape._tag) {
    case "Text":
      return S.String
    case "Flag":
      return S.Boolean
    case "Int": {
      // One schema per bound, as the messages are the same for all of them.
      const key = `${shape.refinement}:${shape.min}:${shape.max}`
      let s = plain.get(key)
      if (s === undefined) {
        s = shape.refinement === "nonNegative" ? S.Int.pipe(S.nonNegative()) : S.Int.pipe(S.between(shape.min, shape.max))
        plain.set(key, s)
      }
      return s
    }
    case "Choice":
      return S.Literal(...shape.literals)
    case "List":
      return S.Array(schemaOf(shape.element))
    case "Dict":
      return S.Record({ key: S.String, value: schemaOf(shape.value) })
    case "Struct": {
      const fields: Record<string, Schema.Struct.Field> = {}
      for (const name of Object.keys(shape.fields)) {
        const f = shape.fields[name] as Field
        const optional = S.optionalWith(schemaOf(f.shape), { default: f.default as () => never, exact: true })
        fields[name] = f.key === undefined ? optional : optional.pipe(S.fromKey(f.key))
      }
      return S.Struct(fields)
    }
  }
}

/** The Effect Schema of a shape (built once): decodes what `decodeShape` decodes, to the same value. */
export const schemaOf = <S extends Shape>(shape: S): Schema.Schema<TypeOf<S>, EncodedOf<S>, never> => {
  let s = schemas.get(shape)
  if (s === undefined) {
    s = build(shape)
    schemas.set(shape, s)
  }
  return s as unknown as Schema.Schema<TypeOf<S>, EncodedOf<S>, never>
}

/**
 * A small JSON Schema (draft 2020-12) validator for the subset the schemas in `schemas/` use:
 * type, enum, const, properties, required, additionalProperties (boolean or schema),
 * patternProperties, propertyNames, items, prefixItems, minItems, maxItems, minLength, maxLength,
 * pattern, minimum, maximum, exclusiveMinimum, exclusiveMaximum, format "date-time", allOf,
 * anyOf, oneOf, not, $ref (local `#/$defs/...` pointers) and $defs. Annotation keywords (title,
 * description, $schema, $id, $comment, examples, default) are ignored. Any other keyword throws:
 * a schema the validator does not fully understand must not pass documents silently.
 */
import { readFileSync } from "node:fs"

export interface SchemaError {
  /** JSON path of the offending value (`$.machines[0].name`). */
  readonly path: string
  readonly message: string
}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }
type JsonSchemaNode = boolean | { readonly [k: string]: unknown }

const ANNOTATIONS = new Set(["title", "description", "$schema", "$id", "$comment", "examples", "default", "$defs"])
const KNOWN = new Set([
  "type", "enum", "const", "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
  "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum",
  "exclusiveMinimum", "exclusiveMaximum", "format", "allOf", "anyOf", "oneOf", "not", "$ref"
])

/** RFC 3339 date-time (the JSON Schema `date-time` format), checked for real calendar values. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

export const isDateTime = (s: string): boolean => {
  const m = DATE_TIME.exec(s)
  if (m === null) return false
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return false
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate()
  return day >= 1 && day <= days
}

const typeOf = (v: Json): string =>
  v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : typeof v

const matchesType = (v: Json, type: string): boolean => {
  const actual = typeOf(v)
  return actual === type || (type === "number" && actual === "integer")
}

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

const child = (path: string, key: string | number): string =>
  typeof key === "number" ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`

/** Every way `value` violates `schema` (empty: valid). `root` resolves `$ref`s. */
export const validate = (schema: JsonSchemaNode, value: unknown, root: JsonSchemaNode = schema): ReadonlyArray<SchemaError> => {
  const errors: Array<SchemaError> = []
  const resolve = (ref: string): JsonSchemaNode => {
    if (!ref.startsWith("#/")) throw new Error(`unsupported $ref ${ref}`)
    let node: unknown = root
    for (const part of ref.slice(2).split("/")) {
      const key = part.replace(/~1/g, "/").replace(/~0/g, "~")
      node = (node as Record<string, unknown> | undefined)?.[key]
      if (node === undefined) throw new Error(`unresolved $ref ${ref}`)
    }
    return node as JsonSchemaNode
  }
  const check = (s: JsonSchemaNode, v: Json, path: string, out: Array<SchemaError>): void => {
    if (s === true) return
    if (s === false) return void out.push({ path, message: "no value is allowed here" })
    for (const key of Object.keys(s)) {
      if (!KNOWN.has(key) && !ANNOTATIONS.has(key)) throw new Error(`unsupported JSON Schema keyword ${key} at ${path}`)
    }
    const fail = (message: string) => out.push({ path, message })
    if (s["$ref"] !== undefined) check(resolve(s["$ref"] as string), v, path, out)
    if (s["type"] !== undefined) {
      const types = Array.isArray(s["type"]) ? (s["type"] as Array<string>) : [s["type"] as string]
      if (!types.some((t) => matchesType(v, t))) return void fail(`expected ${types.join(" or ")}, got ${typeOf(v)}`)
    }
    if (s["enum"] !== undefined && !(s["enum"] as Array<unknown>).some((e) => deepEqual(e, v))) {
      fail(`expected one of ${JSON.stringify(s["enum"])}, got ${JSON.stringify(v)}`)
    }
    if ("const" in s && !deepEqual(s["const"], v)) fail(`expected ${JSON.stringify(s["const"])}, got ${JSON.stringify(v)}`)
    if (typeof v === "string") {
      if (typeof s["minLength"] === "number" && [...v].length < s["minLength"]) fail(`expected at least ${s["minLength"]} character(s)`)
      if (typeof s["maxLength"] === "number" && [...v].length > s["maxLength"]) fail(`expected at most ${s["maxLength"]} character(s)`)
      if (typeof s["pattern"] === "string" && !new RegExp(s["pattern"], "u").test(v)) fail(`${JSON.stringify(v)} does not match ${s["pattern"]}`)
      if (s["format"] === "date-time" && !isDateTime(v)) fail(`${JSON.stringify(v)} is not an RFC 3339 date-time`)
    }
    if (typeof v === "number") {
      if (typeof s["minimum"] === "number" && v < s["minimum"]) fail(`${v} is less than ${s["minimum"]}`)
      if (typeof s["maximum"] === "number" && v > s["maximum"]) fail(`${v} is greater than ${s["maximum"]}`)
      if (typeof s["exclusiveMinimum"] === "number" && v <= s["exclusiveMinimum"]) fail(`${v} is not greater than ${s["exclusiveMinimum"]}`)
      if (typeof s["exclusiveMaximum"] === "number" && v >= s["exclusiveMaximum"]) fail(`${v} is not less than ${s["exclusiveMaximum"]}`)
    }
    if (Array.isArray(v)) {
      if (typeof s["minItems"] === "number" && v.length < s["minItems"]) fail(`expected at least ${s["minItems"]} item(s)`)
      if (typeof s["maxItems"] === "number" && v.length > s["maxItems"]) fail(`expected at most ${s["maxItems"]} item(s)`)
      const prefix = (s["prefixItems"] as Array<JsonSchemaNode> | undefined) ?? []
      v.forEach((item, i) => {
        if (i < prefix.length) check(prefix[i]!, item, child(path, i), out)
        else if (s["items"] !== undefined) check(s["items"] as JsonSchemaNode, item, child(path, i), out)
      })
    }
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const obj = v as { readonly [k: string]: Json }
      for (const r of (s["required"] as Array<string> | undefined) ?? []) {
        if (!Object.prototype.hasOwnProperty.call(obj, r)) fail(`missing required property ${JSON.stringify(r)}`)
      }
      const props = (s["properties"] as Record<string, JsonSchemaNode> | undefined) ?? {}
      const patterns = Object.entries((s["patternProperties"] as Record<string, JsonSchemaNode> | undefined) ?? {})
      for (const [k, x] of Object.entries(obj)) {
        if (s["propertyNames"] !== undefined) check(s["propertyNames"] as JsonSchemaNode, k, child(path, k), out)
        let matched = false
        if (Object.prototype.hasOwnProperty.call(props, k)) {
          matched = true
          check(props[k]!, x, child(path, k), out)
        }
        for (const [p, ps] of patterns) {
          if (new RegExp(p, "u").test(k)) {
            matched = true
            check(ps, x, child(path, k), out)
          }
        }
        if (!matched && s["additionalProperties"] !== undefined) {
          const extra = s["additionalProperties"] as JsonSchemaNode
          if (extra === false) out.push({ path: child(path, k), message: `unexpected property ${JSON.stringify(k)}` })
          else check(extra, x, child(path, k), out)
        }
      }
    }
    for (const sub of (s["allOf"] as Array<JsonSchemaNode> | undefined) ?? []) check(sub, v, path, out)
    const alternatives = (key: "anyOf" | "oneOf") => {
      const subs = s[key] as Array<JsonSchemaNode> | undefined
      if (subs === undefined) return
      const results = subs.map((sub) => {
        const e: Array<SchemaError> = []
        check(sub, v, path, e)
        return e
      })
      const passing = results.filter((e) => e.length === 0).length
      if (key === "anyOf" && passing === 0) {
        // The alternative that got furthest explains best.
        const best = results.reduce((a, b) => (b.length < a.length ? b : a))
        fail(`matches none of ${subs.length} alternatives`)
        out.push(...best)
      }
      if (key === "oneOf" && passing !== 1) fail(`matches ${passing} of the oneOf alternatives, expected exactly 1`)
    }
    alternatives("anyOf")
    alternatives("oneOf")
    if (s["not"] !== undefined) {
      const e: Array<SchemaError> = []
      check(s["not"] as JsonSchemaNode, v, path, e)
      if (e.length === 0) fail("matches a schema it must not match")
    }
  }
  check(schema, value as Json, "$", errors)
  return errors
}

/** Throws listing every violation; for tests (`expectValid(schema, JSON.parse(stdout))`). */
export const assertValid = (schema: JsonSchemaNode, value: unknown, what = "document"): void => {
  const errors = validate(schema, value)
  if (errors.length > 0) {
    throw new Error(`${what} does not match its JSON Schema:\n${errors.map((e) => `  ${e.path}: ${e.message}`).join("\n")}`)
  }
}

/** The checked-in schema `schemas/<command>.schema.json` of the repository. */
export const commandSchema = (command: string): JsonSchemaNode =>
  JSON.parse(readFileSync(new URL(`../../schemas/${command}.schema.json`, import.meta.url), "utf8")) as JsonSchemaNode

/** Parses `text` as `command`'s JSON output and asserts it matches the command's schema. */
export const parseValid = <A = unknown>(command: string, text: string): A => {
  const doc = JSON.parse(text) as unknown
  assertValid(commandSchema(command), doc, `${command} --format json output`)
  return doc as A
}

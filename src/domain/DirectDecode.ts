/**
 * A direct decoder (and encoder) for the configuration schemas (Config.ts): it walks a schema's AST
 * over a value and builds the decoded (or encoded) value itself, for the kinds of schema the configuration uses (structs with
 * optional fields and defaults, renamed keys, records, arrays, strings, booleans, refined numbers,
 * literal choices). It gives up (`undefined`) on any value the schema rejects and on any kind of
 * schema it does not know; the caller then decodes with Schema's own decoder, which reports the
 * issues. On success its value is the one Schema's decoder (encoder) gives, key order included
 * (test/property/DirectDecode.test.ts checks both against Schema on generated values).
 *
 * Why: Schema's decoder is built per schema on first use, which for the host file's schema costs
 * more than decoding a file, and every command and hook decodes the host file and a machine or
 * two once per process. Walking the AST directly costs a fraction of either.
 */
import * as Option from "effect/Option"
import type * as AST from "effect/SchemaAST"

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const has = (o: object, key: PropertyKey) => Object.prototype.hasOwnProperty.call(o, key)

/** What a walk gives when it cannot decode the value. */
const GIVE_UP: unique symbol = Symbol("give up")
type Result = unknown | typeof GIVE_UP

/** `decoding`: from the encoded side (a file) to the type; else the other way (Schema's encode). */
const walk = (ast: AST.AST, value: unknown, decoding: boolean): Result => {
  switch (ast._tag) {
    case "StringKeyword":
      return typeof value === "string" ? value : GIVE_UP
    case "BooleanKeyword":
      return typeof value === "boolean" ? value : GIVE_UP
    case "NumberKeyword":
      return typeof value === "number" ? value : GIVE_UP
    case "Literal":
      return value === ast.literal ? value : GIVE_UP
    case "Union":
      // A choice of literals; any other union is left to Schema.
      for (const member of ast.types) {
        if (member._tag !== "Literal") return GIVE_UP
      }
      return ast.types.some((member) => (member as AST.Literal).literal === value) ? value : GIVE_UP
    case "Refinement": {
      // Both ways the value must pass every filter (encoding checks the type side first; the
      // result is the same value).
      const from = walk(ast.from, value, decoding)
      if (from === GIVE_UP) return GIVE_UP
      return Option.isNone(ast.filter(from, { errors: "all" }, ast)) ? from : GIVE_UP
    }
    case "TupleType": {
      // An array of one element type.
      if (!Array.isArray(value) || ast.elements.length > 0 || ast.rest.length !== 1) return GIVE_UP
      const element = ast.rest[0]!.type
      const out: Array<unknown> = []
      for (const item of value) {
        const decoded = walk(element, item, decoding)
        if (decoded === GIVE_UP) return GIVE_UP
        out.push(decoded)
      }
      return out
    }
    case "TypeLiteral": {
      if (!isObject(value) || ast.indexSignatures.length > 1) return GIVE_UP
      if (ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0) return value
      // As Schema: the fields in their declared order, then the index signature's other keys in
      // the value's order; keys the struct does not know are dropped.
      const out: Record<string, unknown> = {}
      for (const ps of ast.propertySignatures) {
        if (typeof ps.name !== "string") return GIVE_UP
        if (!has(value, ps.name)) {
          if (ps.isOptional) continue
          return GIVE_UP
        }
        const decoded = walk(ps.type, value[ps.name], decoding)
        if (decoded === GIVE_UP) return GIVE_UP
        out[ps.name] = decoded
      }
      const index = ast.indexSignatures[0]
      if (index !== undefined) {
        if (index.parameter._tag !== "StringKeyword") return GIVE_UP
        for (const key of Object.keys(value)) {
          const decoded = walk(index.type, value[key], decoding)
          if (decoded === GIVE_UP) return GIVE_UP
          if (!ast.propertySignatures.some((ps) => ps.name === key)) out[key] = decoded
        }
      }
      return out
    }
    case "Transformation": {
      // A struct's optional fields with defaults and renamed keys; other transformations are left to Schema.
      if (ast.transformation._tag !== "TypeLiteralTransformation") return GIVE_UP
      const first = walk(decoding ? ast.from : ast.to, value, decoding)
      if (first === GIVE_UP) return GIVE_UP
      const fields = first as Record<string, unknown>
      for (const pst of ast.transformation.propertySignatureTransformations) {
        const [from, to] = decoding ? [pst.from as string, pst.to as string] : [pst.to as string, pst.from as string]
        const given = (decoding ? pst.decode : pst.encode)(has(fields, from) ? Option.some(fields[from]) : Option.none())
        delete fields[from]
        if (Option.isSome(given)) fields[to] = given.value
      }
      return walk(decoding ? ast.to : ast.from, fields, decoding)
    }
    default:
      return GIVE_UP
  }
}

/** The value `schema` decodes `value` to, or undefined when this decoder cannot tell (see above). */
export const decodeDirect = <A>(ast: AST.AST, value: unknown): { readonly value: A } | undefined => {
  const decoded = walk(ast, value, true)
  return decoded === GIVE_UP ? undefined : { value: decoded as A }
}

/** The value `schema` encodes `value` to (as `Schema.encodeSync`), or undefined when this cannot tell. */
export const encodeDirect = <I>(ast: AST.AST, value: unknown): { readonly value: I } | undefined => {
  const encoded = walk(ast, value, false)
  return encoded === GIVE_UP ? undefined : { value: encoded as I }
}

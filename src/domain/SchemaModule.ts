/**
 * The part of `effect/Schema` (and `effect/ParseResult`) that the modules every hook loads use,
 * which they need only when something fails (an error class is built, a file does not decode) or
 * a command asks for a schema. Imported as it is written, this module initialises Schema with it;
 * in machina's bundles it is replaced (`schemaOnDemand` in scripts/build.mjs) by one that loads
 * this one on the first call, so a hook that succeeds never initialises Schema (its module, about
 * 1 ms and 400 KB of objects, and its share of the code cache). The members used are named, and
 * the namespace never handed over, so that the bundles keep only those. Types come from
 * `import type`, which loads nothing.
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

// Members, not the namespace itself: esbuild keeps only what is named here.
const api = {
  Array: Schema.Array,
  between: Schema.between,
  Boolean: Schema.Boolean,
  Class: Schema.Class,
  decodeUnknownEither: Schema.decodeUnknownEither,
  decodeUnknownSync: Schema.decodeUnknownSync,
  Defect: Schema.Defect,
  DurationFromSelf: Schema.DurationFromSelf,
  fromKey: Schema.fromKey,
  Int: Schema.Int,
  isSchema: Schema.isSchema,
  Literal: Schema.Literal,
  nonNegative: Schema.nonNegative,
  Number: Schema.Number,
  optional: Schema.optional,
  optionalWith: Schema.optionalWith,
  Record: Schema.Record,
  String: Schema.String,
  Struct: Schema.Struct,
  TaggedError: Schema.TaggedError
}

/** What of Schema these modules use (a field function gets it as its argument). */
export type SchemaApi = typeof api

export const schemaModule = (): SchemaApi => api
export const parseResultModule = (): { readonly ArrayFormatter: typeof ParseResult.ArrayFormatter } => ({ ArrayFormatter: ParseResult.ArrayFormatter })

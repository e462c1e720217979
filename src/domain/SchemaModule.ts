/**
 * The part of `effect/Schema` (and `effect/ParseResult`) that the modules every hook loads use,
 * which they need only when something fails (an error class is built, a file does not decode) or
 * a command asks for a schema. Imported as it is written, this module initialises Schema with it;
 * in machina's bundles it is replaced (`schemaOnDemand` in scripts/build.mjs) by one that loads
 * this one on the first call, so a hook that succeeds never initialises Schema (its module, about
 * 1 ms and 400 KB of objects, and its share of the code cache). Named imports, not the namespace,
 * so that the bundles keep only what is used. Types come from `import type`, which loads nothing.
 */
import { ArrayFormatter } from "effect/ParseResult"
import {
  Array as ArrayOf,
  Boolean,
  Class,
  decodeUnknownEither,
  decodeUnknownSync,
  Defect,
  DurationFromSelf,
  fromKey,
  Int,
  between,
  isSchema,
  Literal,
  nonNegative,
  Number,
  optional,
  optionalWith,
  Record,
  String,
  Struct,
  TaggedError
} from "effect/Schema"

const api = {
  Array: ArrayOf,
  Boolean,
  Class,
  decodeUnknownEither,
  decodeUnknownSync,
  Defect,
  DurationFromSelf,
  fromKey,
  Int,
  between,
  isSchema,
  Literal,
  nonNegative,
  Number,
  optional,
  optionalWith,
  Record,
  String,
  Struct,
  TaggedError
}

/** What of Schema these modules use (a field function gets it as its argument). */
export type SchemaApi = typeof api

export const schemaModule = (): SchemaApi => api
export const parseResultModule = (): { readonly ArrayFormatter: typeof ArrayFormatter } => ({ ArrayFormatter })

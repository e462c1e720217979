/**
 * `Schema.TaggedError`, built the first time an error of the class is made (or its schema side is
 * asked for) instead of when its module loads.
 *
 * Building a `Schema.TaggedError` class builds half a dozen schemas and ASTs (about half a
 * millisecond each on a busy machine, and garbage the young generation then copies). The hooks
 * that systemd and QEMU run for every machine start (`machina-ifup`, `shutdown --system` ...)
 * load the modules of dozens of error kinds they only make when something fails: declared with
 * this, those cost next to nothing at start-up.
 *
 * Same declaration, same classes once used: `class XError extends LazyTaggedError<XError>()("XError",
 * { ... }) { get message() ... }`. An instance is made by the real `Schema.TaggedError` class (its
 * constructor validates the fields as before), with `XError.prototype` first in its chain, so
 * `instanceof`, `_tag`, `message`, `yield*`, equality and printing are those of `Schema.TaggedError`.
 * The class's statics are there once it is built; `_tag` is there from the start, and `fields`,
 * `identifier`, `ast`, `make`, `annotations`, `pipe` and Schema's type id build it when read first
 * (so the class can serve as a schema, alone or inside another).
 * Fields built from schemas can be given as a function, called when the class is built (see
 * `FieldsOr`).
 *
 * `LazyClass` does the same for `Schema.Class` (the configuration's issues and warnings, whose
 * module every command and hook loads, and which they make only for a file with problems).
 *
 * Pure: no I/O.
 */
import type * as Schema from "effect/Schema"
import { type SchemaApi, schemaModule } from "./SchemaModule.js"

/** `Schema.TypeId`, Schema's mark of a schema, without loading Schema. */
const SCHEMA_TYPE_ID: typeof Schema.TypeId = Symbol.for("effect/Schema") as typeof Schema.TypeId

// Schema's mark of a schema (`Schema.isSchema`) too: a class used inside another schema
// (`Schema.Array(X)`) is built then.
const BUILT_ON_READ = ["fields", "identifier", "ast", "make", "annotations", "pipe", SCHEMA_TYPE_ID] as const

type Constructor = new(props: unknown, options: unknown) => object

/** A class that stands for the one `make` builds, built when first used (see above). */
const lazyClass = (make: () => Constructor, statics: Record<string, unknown>) => {
  let real: Constructor | undefined
  const build = () => {
    if (real === undefined) {
      const built = make()
      // Instances and statics of the declared class now reach the real ones.
      Object.setPrototypeOf(Lazy.prototype, built.prototype)
      Object.setPrototypeOf(Lazy, built)
      for (const key of BUILT_ON_READ) delete (Lazy as unknown as Record<PropertyKey, unknown>)[key]
      real = built
    }
    return real
  }
  class Lazy {
    constructor(props?: unknown, options?: unknown) {
      // The real class makes the instance, for the class that was asked for (`new.target`).
      return Reflect.construct(build(), [props, options], new.target)
    }
  }
  Object.assign(Lazy, statics)
  for (const key of BUILT_ON_READ) {
    Object.defineProperty(Lazy, key, {
      configurable: true,
      get(this: unknown) {
        build()
        return Reflect.get(Lazy, key, this)
      }
    })
  }
  return Lazy
}

/**
 * Fields as Schema takes them (or a struct of them), or a function of the Schema module giving
 * them: `(S) => ({ path: S.String, kind: S.Literal("a", "b") })`, called when the class is built.
 * A module that declares its errors so loads no Schema (see SchemaModule.ts).
 */
type FieldsOr<Fields extends Schema.Struct.Fields> = Fields | Schema.Struct<Fields> | ((schema: SchemaApi) => Fields)

const fieldsOf = (fields: unknown): unknown =>
  typeof fields === "function" && !schemaModule().isSchema(fields) ? (fields as (schema: SchemaApi) => unknown)(schemaModule()) : fields

export const LazyTaggedError = <Self = never>(identifier?: string) =>
<Tag extends string, Fields extends Schema.Struct.Fields>(
  tag: Tag,
  fields: FieldsOr<Fields>,
  annotations?: Parameters<ReturnType<typeof Schema.TaggedError<Self>>>[2]
): [Self] extends [never] ? "Missing `Self` generic: class Self extends LazyTaggedError<Self>()(...)"
  : Schema.TaggedErrorClass<Self, Tag, { readonly _tag: Schema.tag<Tag> } & Fields> =>
  lazyClass(
    () => (schemaModule().TaggedError(identifier) as unknown as (t: string, f: unknown, a?: unknown) => Constructor)(tag, fieldsOf(fields), annotations),
    { _tag: tag }
  ) as never

/** `Schema.Class`, built when first used, as LazyTaggedError (same declaration, same class once used). */
export const LazyClass = <Self = never>(identifier: string) =>
<Fields extends Schema.Struct.Fields>(
  fields: FieldsOr<Fields>,
  annotations?: Parameters<ReturnType<typeof Schema.Class<Self>>>[1]
): [Self] extends [never] ? "Missing `Self` generic: class Self extends LazyClass<Self>(...)(...)"
  : Schema.Class<
    Self,
    Fields,
    Schema.Struct.Encoded<Fields>,
    Schema.Struct.Context<Fields>,
    Schema.Struct.Constructor<Fields>,
    {},
    {}
  > =>
  lazyClass(() => (schemaModule().Class(identifier) as unknown as (f: unknown, a?: unknown) => Constructor)(fieldsOf(fields), annotations), {}) as never

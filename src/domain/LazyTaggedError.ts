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
 * `identifier`, `ast`, `make`, `annotations` and `pipe` build it when read first (so the class can
 * serve as a schema).
 *
 * Pure: no I/O.
 */
import * as Schema from "effect/Schema"

const BUILT_ON_READ = ["fields", "identifier", "ast", "make", "annotations", "pipe"] as const

export const LazyTaggedError: typeof Schema.TaggedError = (identifier?: string) =>
  ((tag: string, fieldsOr: Schema.Struct.Fields, annotations?: unknown) => {
    let real: (new(props: unknown, options: unknown) => object) | undefined
    const build = () => {
      if (real === undefined) {
        const built = (Schema.TaggedError(identifier) as unknown as (t: string, f: unknown, a?: unknown) => new(props: unknown, options: unknown) => object)(tag, fieldsOr, annotations)
        // Instances and statics of the declared class now reach the real ones.
        Object.setPrototypeOf(Lazy.prototype, built.prototype)
        Object.setPrototypeOf(Lazy, built)
        for (const key of BUILT_ON_READ) delete (Lazy as unknown as Record<string, unknown>)[key]
        real = built
      }
      return real
    }
    class Lazy {
      static readonly _tag = tag
      constructor(props?: unknown, options?: unknown) {
        // The real class makes the instance, for the class that was asked for (`new.target`).
        return Reflect.construct(build(), [props, options], new.target)
      }
    }
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
  }) as never

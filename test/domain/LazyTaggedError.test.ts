import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { LazyClass, LazyTaggedError } from "../../src/domain/LazyTaggedError.js"

class LazyProblemError extends LazyTaggedError<LazyProblemError>()("LazyProblemError", {
  path: Schema.String,
  kind: Schema.Literal("missing", "bad")
}) {
  override get message(): string {
    return `${this.path}: ${this.kind}`
  }
}

class EagerProblemError extends Schema.TaggedError<EagerProblemError>()("EagerProblemError", {
  path: Schema.String,
  kind: Schema.Literal("missing", "bad")
}) {
  override get message(): string {
    return `${this.path}: ${this.kind}`
  }
}

class LazyPlainError extends LazyTaggedError<LazyPlainError>()("LazyPlainError", { code: Schema.Number }) {}
class EagerPlainError extends Schema.TaggedError<EagerPlainError>()("EagerPlainError", { code: Schema.Number }) {}

describe("LazyTaggedError", () => {
  it("builds nothing until used, and has its tag before", () => {
    class UnusedError extends LazyTaggedError<UnusedError>()("UnusedError", { n: Schema.Number }) {}
    // Not yet a Schema.TaggedError: the declared class's base has no Error behind it.
    expect(Object.getPrototypeOf(Object.getPrototypeOf(UnusedError.prototype))).toBe(Object.prototype)
    expect(UnusedError._tag).toBe("UnusedError")
    expect(new UnusedError({ n: 1 })).toBeInstanceOf(Error)
    expect(Object.getPrototypeOf(Object.getPrototypeOf(UnusedError.prototype))).not.toBe(Object.prototype)
  })

  it("makes instances like Schema.TaggedError", () => {
    const lazy = new LazyProblemError({ path: "/a", kind: "bad" })
    const eager = new EagerProblemError({ path: "/a", kind: "bad" })
    expect(lazy).toBeInstanceOf(LazyProblemError)
    expect(lazy).toBeInstanceOf(Error)
    expect(lazy._tag).toBe("LazyProblemError")
    expect(lazy.message).toBe(eager.message)
    expect(lazy.path).toBe("/a")
    expect(lazy.kind).toBe("bad")
    expect(Object.keys(lazy)).toEqual(Object.keys(eager))
    expect(lazy.toJSON()).toEqual({ ...(eager.toJSON() as object), _tag: "LazyProblemError" })
    expect(String(lazy)).toBe(String(eager).replace("EagerProblemError", "LazyProblemError"))
    expect(lazy.stack?.split("\n")[0]).toBe(eager.stack?.split("\n")[0]?.replace("EagerProblemError", "LazyProblemError"))
    expect(Equal.equals(lazy, new LazyProblemError({ path: "/a", kind: "bad" }))).toBe(true)
    expect(Equal.equals(lazy, new LazyProblemError({ path: "/b", kind: "bad" }))).toBe(false)
  })

  it("keeps the default message of a class without its own", () => {
    expect(new LazyPlainError({ code: 3 }).message).toBe(new EagerPlainError({ code: 3 }).message)
    expect(new LazyPlainError({ code: 3 }).name).toBe("LazyPlainError")
  })

  it("validates the fields as Schema.TaggedError does", () => {
    const bad = { path: "/a", kind: "other" } as unknown as { path: string; kind: "bad" }
    const thrown = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as Error).message
      }
      return undefined
    }
    const lazy = thrown(() => new LazyProblemError(bad))
    expect(lazy).toContain(`Expected "bad", actual "other"`)
    expect(lazy).toBe(thrown(() => new EagerProblemError(bad))?.replace("EagerProblemError", "LazyProblemError"))
  })

  it.effect("fails an effect when yielded, caught by its tag", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.gen(function*() {
        return yield* new LazyProblemError({ path: "/x", kind: "missing" })
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      const caught = yield* Effect.catchTag(new LazyProblemError({ path: "/y", kind: "missing" }), "LazyProblemError", (e) => Effect.succeed(e.path))
      expect(caught).toBe("/y")
    }))

  it("has the schema statics once asked for", () => {
    class LaterError extends LazyTaggedError<LaterError>()("LaterError", { n: Schema.Number }) {}
    expect(Object.keys(LaterError.fields)).toEqual(["_tag", "n"])
    expect(LaterError.identifier).toBe("LaterError")
    const decoded = Schema.decodeUnknownSync(LaterError)({ _tag: "LaterError", n: 1 })
    expect(decoded).toBeInstanceOf(LaterError)
    expect(decoded.n).toBe(1)
  })

  it("makes an instance through its static make before it is built", () => {
    class MadeError extends LazyTaggedError<MadeError>()("MadeError", { n: Schema.Number }) {}
    const made = MadeError.make({ n: 2 })
    expect(made).toBeInstanceOf(MadeError)
    expect(made.n).toBe(2)
    expect(Schema.is(MadeError)(made)).toBe(true)
    expect(Schema.is(MadeError)(new LazyPlainError({ code: 1 }))).toBe(false)
  })

  it("takes its fields from a function, called when the class is built: same errors as with the fields given", () => {
    let calls = 0
    class ThunkProblemError extends LazyTaggedError<ThunkProblemError>()("ThunkProblemError", () => {
      calls++
      return { path: Schema.String, kind: Schema.Literal("missing", "bad"), detail: Schema.optional(Schema.Number) }
    }) {
      override get message(): string {
        return `${this.path}: ${this.kind}`
      }
    }
    expect(ThunkProblemError._tag).toBe("ThunkProblemError")
    expect(calls).toBe(0)
    const e = new ThunkProblemError({ path: "/x", kind: "bad" })
    const f = new ThunkProblemError({ path: "/x", kind: "bad", detail: 3 })
    expect(calls).toBe(1)
    expect(e).toBeInstanceOf(ThunkProblemError)
    expect(e.message).toBe("/x: bad")
    expect(f.detail).toBe(3)
    expect(Object.keys(ThunkProblemError.fields)).toEqual(["_tag", "path", "kind", "detail"])
    expect(Equal.equals(e, new ThunkProblemError({ path: "/x", kind: "bad" }))).toBe(true)
    // Validated as with the fields given.
    expect(() => new ThunkProblemError({ path: "/x", kind: "other" as never })).toThrow()
  })

  it("takes fields given as a struct schema as they are (a schema is not called for its fields)", () => {
    const fields = Schema.Struct({ code: Schema.Number })
    class StructError extends LazyTaggedError<StructError>()("StructError", fields) {}
    expect(new StructError({ code: 4 }).code).toBe(4)
    expect(Object.keys(StructError.fields)).toEqual(["_tag", "code"])
  })
})

class LazyPoint extends LazyClass<LazyPoint>("LazyPoint")({ file: Schema.String, line: Schema.Number }) {
  override toString(): string {
    return `${this.file}:${this.line}`
  }
}
class EagerPoint extends Schema.Class<EagerPoint>("EagerPoint")({ file: Schema.String, line: Schema.Number }) {
  override toString(): string {
    return `${this.file}:${this.line}`
  }
}

describe("LazyClass", () => {
  it("builds nothing until used", () => {
    class Unused extends LazyClass<Unused>("Unused")({ n: Schema.Number }) {}
    expect(Object.getPrototypeOf(Object.getPrototypeOf(Unused.prototype))).toBe(Object.prototype)
    expect(new Unused({ n: 1 }).n).toBe(1)
    expect(Object.getPrototypeOf(Object.getPrototypeOf(Unused.prototype))).not.toBe(Object.prototype)
  })

  it("makes instances like Schema.Class: fields, own methods, equality, validation", () => {
    const lazy = new LazyPoint({ file: "a.json", line: 3 })
    const eager = new EagerPoint({ file: "a.json", line: 3 })
    expect(lazy).toBeInstanceOf(LazyPoint)
    expect(String(lazy)).toBe(String(eager))
    expect(Object.keys(lazy)).toEqual(Object.keys(eager))
    expect(Equal.equals(lazy, new LazyPoint({ file: "a.json", line: 3 }))).toBe(true)
    expect(Equal.equals(lazy, new LazyPoint({ file: "a.json", line: 4 }))).toBe(false)
    expect(() => new LazyPoint({ file: "a.json", line: "3" } as unknown as { file: string; line: number })).toThrow(/Expected number, actual "3"/)
  })

  it("serves as a schema, decoding to instances of the declared class", () => {
    class Later extends LazyClass<Later>("Later")({ n: Schema.Number }) {
      get twice(): number {
        return this.n * 2
      }
    }
    const decoded = Schema.decodeUnknownSync(Schema.Array(Later))([{ n: 1 }, { n: 2 }])
    expect(decoded[1]).toBeInstanceOf(Later)
    expect(decoded.map((x) => x.twice)).toEqual([2, 4])
    expect(Later.identifier).toBe("Later")
    expect(Schema.is(Later)(new Later({ n: 5 }))).toBe(true)
  })
})

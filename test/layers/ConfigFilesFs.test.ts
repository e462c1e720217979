import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, chmodSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { make, versionOf } from "../../src/layers/ConfigFilesFs.js"

const withDir = <A>(f: (dir: string) => Effect.Effect<A, unknown>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "machina-configfiles-"))),
    f,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("ConfigFilesFs", () => {
  it.effect("reads a version, writes atomically only over that version, keeps the mode", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const files = yield* make
        const file = join(dir, "vm.conf.json")
        writeFileSync(file, "{}\n")
        chmodSync(file, 0o640)
        const read = yield* files.read(file)
        expect(read).toEqual({ file, text: "{}\n", version: versionOf("{}\n") })
        const v2 = yield* files.write(file, "{\"a\": 1}\n", read.version)
        expect(readFileSync(file, "utf8")).toBe("{\"a\": 1}\n")
        expect(statSync(file).mode & 0o777).toBe(0o640)
        // The old version no longer matches: a lost update is refused and nothing changes.
        const stale = yield* Effect.either(files.write(file, "{\"b\": 2}\n", read.version))
        expect(Either.isLeft(stale) && stale.left._tag).toBe("ConfigConflictError")
        expect(Either.isLeft(stale) && stale.left.message).toContain("changed on disk since it was loaded")
        expect(readFileSync(file, "utf8")).toBe("{\"a\": 1}\n")
        yield* files.write(file, "{}\n", v2)
        expect(readdirSync(dir)).toEqual(["vm.conf.json"])
      })))

  it.effect("creates only a file that does not exist yet", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const files = yield* make
        const file = join(dir, "new.conf.json")
        expect(yield* files.read(file)).toEqual({ file, text: "", version: null })
        yield* files.write(file, "{}\n", null)
        const again = yield* Effect.either(files.write(file, "{\"x\": 1}\n", null))
        expect(Either.isLeft(again) && again.left.message).toBe(`${file}: already exists`)
        expect(readFileSync(file, "utf8")).toBe("{}\n")
        const missing = yield* Effect.either(files.write(join(dir, "nope", "x.json"), "{}", null))
        expect(Either.isLeft(missing) && missing.left._tag).toBe("ConfigWriteError")
        expect(readdirSync(dir)).toEqual(["new.conf.json"])
      })))
})

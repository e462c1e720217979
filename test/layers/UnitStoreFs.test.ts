/**
 * UnitStore: the contract both layers share (statuses, name checks, remove, a missing directory),
 * then what only the file-system layer can show (atomic replacement, modes, failures mid-way).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as UnitStoreFs from "../../src/layers/UnitStoreFs.js"
import * as UnitStoreMemory from "../../src/layers/UnitStoreMemory.js"
import {
  UnitDirectoryMissingError,
  UnitFileError,
  UnitNameInvalidError,
  UnitStore,
  type UnitStoreShape
} from "../../src/services/UnitStore.js"

/** A fresh temporary directory for the scope. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "machina-units-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const A = { name: "machina-a.service", content: "[Unit]\nDescription=a\n" }
const B = { name: "machina-b.service", content: "[Unit]\nDescription=b\n" }
const C = { name: "machina-c.service", content: "[Unit]\nDescription=c\n" }

const BAD_NAMES: ReadonlyArray<string> = [
  "",
  ".service",
  "a/b.service",
  "../machina-a.service",
  "/etc/passwd",
  "machina-a.timer",
  "machina-a.service~",
  "machina a.service",
  "machina-\u00e9.service"
]

// ---------------------------------------------------------------------------
// The contract, against both layers

interface Subject {
  readonly label: string
  /** A store over an empty unit directory (a temporary one on disk for the Fs layer). */
  readonly store: Effect.Effect<UnitStoreShape, never, Scope.Scope>
  /** The layer over a unit directory that does not exist. */
  readonly missing: (directory: string) => Layer.Layer<UnitStore, UnitDirectoryMissingError>
}

const subjects: ReadonlyArray<Subject> = [
  {
    label: "UnitStoreFs",
    store: Effect.flatMap(tempDir, (directory) => Effect.orDie(UnitStoreFs.make({ directory }))),
    missing: (directory) => UnitStoreFs.layer({ directory })
  },
  {
    label: "UnitStoreMemory",
    store: Effect.orDie(UnitStoreMemory.make({ directory: "/etc/systemd/system" })),
    missing: (directory) => UnitStoreMemory.layer({ directory, missingDirectory: true })
  }
]

for (const subject of subjects) {
  describe(`${subject.label}: contract`, () => {
    it.scoped("created, then unchanged, then changed; read sees the text", () =>
      Effect.gen(function*() {
        const store = yield* subject.store
        assert.deepStrictEqual(yield* store.read(A.name), Option.none())
        const first = yield* store.writeAll([A, B])
        assert.deepStrictEqual(first, [
          { name: A.name, path: `${store.directory}/${A.name}`, status: "created" },
          { name: B.name, path: `${store.directory}/${B.name}`, status: "created" }
        ])
        const second = yield* store.writeAll([A, B])
        assert.deepStrictEqual(second.map((r) => r.status), ["unchanged", "unchanged"])
        const third = yield* store.writeAll([{ ...A, content: "[Unit]\nDescription=a2\n" }, B, C])
        assert.deepStrictEqual(third.map((r) => r.status), ["changed", "unchanged", "created"])
        assert.deepStrictEqual(yield* store.read(A.name), Option.some("[Unit]\nDescription=a2\n"))
        assert.deepStrictEqual(yield* store.read(C.name), Option.some(C.content))
        assert.deepStrictEqual(yield* store.writeAll([]), [])
      }))

    it.scoped("refuses bad names before writing anything", () =>
      Effect.gen(function*() {
        const store = yield* subject.store
        for (const name of BAD_NAMES) {
          const result = yield* Effect.either(store.writeAll([A, { name, content: "x" }]))
          assert.isTrue(Either.isLeft(result), name)
          if (Either.isLeft(result)) {
            assert.instanceOf(result.left, UnitNameInvalidError)
            assert.strictEqual((result.left as UnitNameInvalidError).name, name)
          }
          assert.isTrue(Either.isLeft(yield* Effect.either(store.read(name))), name)
          assert.isTrue(Either.isLeft(yield* Effect.either(store.remove(name))), name)
        }
        // A name given twice is refused too.
        const twice = yield* Effect.flip(store.writeAll([A, B, { ...A, content: "other" }]))
        assert.instanceOf(twice, UnitNameInvalidError)
        assert.include(twice.message, "more than once")
        // Nothing of the refused batches was written.
        assert.deepStrictEqual(yield* store.read(A.name), Option.none())
        assert.deepStrictEqual(yield* store.read(B.name), Option.none())
      }))

    it.scoped("remove: true when the file existed, false otherwise", () =>
      Effect.gen(function*() {
        const store = yield* subject.store
        yield* store.writeAll([A])
        assert.isTrue(yield* store.remove(A.name))
        assert.isFalse(yield* store.remove(A.name))
        assert.deepStrictEqual(yield* store.read(A.name), Option.none())
      }))

    it.effect("a missing unit directory fails the layer saying so and how to choose another", () =>
      Effect.gen(function*() {
        const directory = "/nonexistent/machina-test/units"
        const error = yield* Effect.flip(Effect.scoped(Layer.build(subject.missing(directory))))
        assert.instanceOf(error, UnitDirectoryMissingError)
        assert.strictEqual(
          error.message,
          "unit directory /nonexistent/machina-test/units does not exist (create it, or choose another with --unit-dir or MACHINA_UNIT_DIR)"
        )
      }))
  })
}

// ---------------------------------------------------------------------------
// File-system specifics

const entries = (dir: string) => fs.readdirSync(dir).sort()
const modeOf = (file: string) => fs.statSync(file).mode & 0o777

describe("UnitStoreFs: files on disk", () => {
  it.scoped("defaults to /etc/systemd/system; a regular file is not a unit directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "not-a-dir")
      fs.writeFileSync(file, "")
      const error = yield* Effect.flip(UnitStoreFs.make({ directory: file }))
      assert.instanceOf(error, UnitDirectoryMissingError)
      assert.strictEqual(error.directory, file)
      // Where it exists (it does on this host image), the default directory is used.
      if (fs.existsSync("/etc/systemd/system")) {
        const store = yield* UnitStoreFs.make()
        assert.strictEqual(store.directory, "/etc/systemd/system")
      }
    }))

  it.scoped("mode 0644 whatever the umask or the old mode; only the unit files remain", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const store = yield* UnitStoreFs.make({ directory })
      fs.writeFileSync(path.join(directory, B.name), "old", { mode: 0o600 })
      fs.chmodSync(path.join(directory, B.name), 0o600)
      const previous = process.umask(0o077)
      const results = yield* store.writeAll([A, B]).pipe(Effect.ensuring(Effect.sync(() => process.umask(previous))))
      assert.deepStrictEqual(results.map((r) => r.status), ["created", "changed"])
      assert.strictEqual(modeOf(path.join(directory, A.name)), 0o644)
      assert.strictEqual(modeOf(path.join(directory, B.name)), 0o644)
      assert.strictEqual(fs.readFileSync(path.join(directory, B.name), "utf8"), B.content)
      assert.deepStrictEqual(entries(directory), [A.name, B.name])
    }))

  it.scoped("unchanged files are not rewritten; changed files are replaced by a new file", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const store = yield* UnitStoreFs.make({ directory })
      yield* store.writeAll([A, B])
      const before = {
        a: fs.statSync(path.join(directory, A.name)),
        b: fs.statSync(path.join(directory, B.name))
      }
      yield* store.writeAll([A, { ...B, content: "new" }])
      const afterA = fs.statSync(path.join(directory, A.name))
      const afterB = fs.statSync(path.join(directory, B.name))
      assert.strictEqual(afterA.ino, before.a.ino)
      assert.strictEqual(afterA.mtimeMs, before.a.mtimeMs)
      assert.notStrictEqual(afterB.ino, before.b.ino)
    }))

  it.scoped("atomic: until the rename the old file is whole, and the new text is complete beside it", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      fs.writeFileSync(path.join(directory, A.name), "old a")
      const seen: Array<{ target: string; temporary: string; tempText: string; tempMode: number; inDir: boolean }> = []
      const store = yield* UnitStoreFs.make({
        directory,
        beforeRename: async (temporary, target) => {
          seen.push({
            target: fs.readFileSync(target, "utf8"),
            temporary: path.basename(temporary),
            tempText: fs.readFileSync(temporary, "utf8"),
            tempMode: modeOf(temporary),
            inDir: path.dirname(temporary) === directory
          })
        }
      })
      const big = { ...A, content: "x".repeat(1 << 20) }
      yield* store.writeAll([big])
      assert.strictEqual(seen.length, 1)
      const [step] = seen
      assert.strictEqual(step!.target, "old a")
      assert.strictEqual(step!.tempText, big.content)
      assert.strictEqual(step!.tempMode, 0o644)
      assert.isTrue(step!.inDir)
      // Hidden and not ending in .service: systemd ignores it if it reloads meanwhile.
      assert.match(step!.temporary, /^\.machina-a\.service\.[0-9a-f]+\.tmp$/)
      assert.strictEqual(fs.readFileSync(path.join(directory, A.name), "utf8"), big.content)
      assert.deepStrictEqual(entries(directory), [A.name])
    }))

  it.scoped("a failure mid-way: earlier files new, the failing one old and whole, later ones untouched", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      fs.writeFileSync(path.join(directory, B.name), "old b")
      const store = yield* UnitStoreFs.make({
        directory,
        beforeRename: async (_temporary, target) => {
          if (path.basename(target) === B.name) throw Object.assign(new Error("injected I/O error"), { code: "EIO" })
        }
      })
      const error = yield* Effect.flip(store.writeAll([A, B, C]))
      assert.instanceOf(error, UnitFileError)
      const failure = error as UnitFileError
      assert.strictEqual(failure.file, path.join(directory, B.name))
      assert.strictEqual(failure.operation, "write")
      assert.strictEqual(failure.message, `cannot write ${path.join(directory, B.name)}: injected I/O error`)
      assert.strictEqual(fs.readFileSync(path.join(directory, A.name), "utf8"), A.content)
      assert.strictEqual(fs.readFileSync(path.join(directory, B.name), "utf8"), "old b")
      assert.deepStrictEqual(entries(directory), [A.name, B.name])
    }))

  it.scoped("a real failure (the unit path is a directory): typed error naming it, no temporary file left", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      fs.mkdirSync(path.join(directory, B.name))
      const store = yield* UnitStoreFs.make({ directory })
      const error = yield* Effect.flip(store.writeAll([A, B, C]))
      assert.instanceOf(error, UnitFileError)
      const failure = error as UnitFileError
      assert.strictEqual(failure.file, path.join(directory, B.name))
      assert.strictEqual(failure.reason, "is a directory")
      assert.strictEqual(fs.readFileSync(path.join(directory, A.name), "utf8"), A.content)
      assert.deepStrictEqual(entries(directory), [A.name, B.name])
      // Reading and removing it fail typed as well.
      assert.instanceOf(yield* Effect.flip(store.read(B.name)), UnitFileError)
      assert.instanceOf(yield* Effect.flip(store.remove(B.name)), UnitFileError)
    }))

  it.scoped("the directory vanishing after the layer is built is a typed write error", () =>
    Effect.gen(function*() {
      const parent = yield* tempDir
      const directory = path.join(parent, "units")
      fs.mkdirSync(directory)
      const store = yield* UnitStoreFs.make({ directory })
      fs.rmdirSync(directory)
      const error = yield* Effect.flip(store.writeAll([A]))
      assert.instanceOf(error, UnitFileError)
      assert.strictEqual((error as UnitFileError).file, path.join(directory, A.name))
      assert.deepStrictEqual(entries(parent), [])
    }))

  it.effect("through the layer as the UnitStore service", () =>
    Effect.gen(function*() {
      const store = yield* UnitStore
      assert.strictEqual(store.directory, "/etc/systemd/system")
    }).pipe(Effect.provide(UnitStoreMemory.layer())))
})

describe("UnitStoreMemory: simulated failures", () => {
  it.effect("failWrites stops at that file, earlier ones written", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore({ files: { [B.name]: "old b" }, failWrites: [B.name] })
      const error = yield* Effect.flip(store.writeAll([A, B, C]))
      assert.instanceOf(error, UnitFileError)
      assert.strictEqual((error as UnitFileError).file, `/etc/systemd/system/${B.name}`)
      assert.deepStrictEqual([...store.files().entries()].sort(), [[A.name, A.content], [B.name, "old b"]])
    }))
})

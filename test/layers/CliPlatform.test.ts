/**
 * CliPlatform: the lazily built FileSystem and Terminal behave as Node's own (they are Node's,
 * loaded on first use), including the stream and sink members and scoped operations.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Terminal from "@effect/platform/Terminal"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as CliPlatform from "../../src/layers/CliPlatform.js"

describe("CliPlatform", () => {
  it.scoped("FileSystem: files, directories, streams, sinks and errors, through Node's implementation", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "machina-cli-platform-" })
      const file = `${dir}/a.txt`
      assert.isFalse(yield* fs.exists(file))
      yield* fs.writeFileString(file, "hello\n")
      assert.isTrue(yield* fs.exists(file))
      assert.strictEqual(yield* fs.readFileString(file), "hello\n")
      assert.strictEqual((yield* fs.stat(file)).size, FileSystem.Size(6))
      const chunks = yield* Stream.runCollect(fs.stream(file))
      assert.strictEqual(Buffer.concat(Chunk.toReadonlyArray(chunks)).toString(), "hello\n")
      yield* Stream.make(new TextEncoder().encode("streamed")).pipe(Stream.run(fs.sink(`${dir}/b.txt`)))
      assert.strictEqual(yield* fs.readFileString(`${dir}/b.txt`), "streamed")
      assert.deepStrictEqual([...(yield* fs.readDirectory(dir))].sort(), ["a.txt", "b.txt"])
      const missing = yield* Effect.either(fs.readFileString(`${dir}/missing`))
      assert.isTrue(Either.isLeft(missing) && missing.left._tag === "SystemError" && missing.left.reason === "NotFound")
    }).pipe(Effect.provide(CliPlatform.layer)))

  it.scoped("Terminal: answers about the output without reading input", () =>
    Effect.gen(function*() {
      const terminal = yield* Terminal.Terminal
      assert.strictEqual(yield* terminal.isTTY, Boolean(process.stdout.isTTY))
      assert.isAtLeast(yield* terminal.columns, 0)
    }).pipe(Effect.provide(CliPlatform.layer)))
})

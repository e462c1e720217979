/**
 * What @effect/cli needs from the platform: FileSystem, Path and Terminal, all Node's.
 *
 * FileSystem and Terminal are built on first use. @effect/cli only uses them for file-path
 * arguments and for prompts (`--wizard`), which no machina command has on its normal path, and
 * building them eagerly cost a tenth of every start-up (measured: Node's effectful file system
 * module, and the terminal's `process.stdin` stream and readline). machina's own code reads and
 * writes files through its services, not through these.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { Path } from "@effect/platform/Path"
import * as Terminal from "@effect/platform/Terminal"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"

/** Node's FileSystem, loaded and built the first time one of its operations runs. */
export const lazyFileSystem: Layer.Layer<FileSystem.FileSystem> = Layer.effect(
  FileSystem.FileSystem,
  Effect.map(
    Effect.cached(
      Effect.flatMap(Effect.promise(() => import("@effect/platform-node/NodeFileSystem")), (node) =>
        Effect.provide(FileSystem.FileSystem, node.layer))
    ),
    (real): FileSystem.FileSystem => {
      const use = <A, E, R>(f: (fs: FileSystem.FileSystem) => Effect.Effect<A, E, R>) => Effect.flatMap(real, f)
      return {
        access: (...a) => use((fs) => fs.access(...a)),
        copy: (...a) => use((fs) => fs.copy(...a)),
        copyFile: (...a) => use((fs) => fs.copyFile(...a)),
        chmod: (...a) => use((fs) => fs.chmod(...a)),
        chown: (...a) => use((fs) => fs.chown(...a)),
        exists: (...a) => use((fs) => fs.exists(...a)),
        link: (...a) => use((fs) => fs.link(...a)),
        makeDirectory: (...a) => use((fs) => fs.makeDirectory(...a)),
        makeTempDirectory: (...a) => use((fs) => fs.makeTempDirectory(...a)),
        makeTempDirectoryScoped: (...a) => use((fs) => fs.makeTempDirectoryScoped(...a)),
        makeTempFile: (...a) => use((fs) => fs.makeTempFile(...a)),
        makeTempFileScoped: (...a) => use((fs) => fs.makeTempFileScoped(...a)),
        open: (...a) => use((fs) => fs.open(...a)),
        readDirectory: (...a) => use((fs) => fs.readDirectory(...a)),
        readFile: (...a) => use((fs) => fs.readFile(...a)),
        readFileString: (...a) => use((fs) => fs.readFileString(...a)),
        readLink: (...a) => use((fs) => fs.readLink(...a)),
        realPath: (...a) => use((fs) => fs.realPath(...a)),
        remove: (...a) => use((fs) => fs.remove(...a)),
        rename: (...a) => use((fs) => fs.rename(...a)),
        sink: (...a) => Sink.unwrap(Effect.map(real, (fs) => fs.sink(...a))),
        stat: (...a) => use((fs) => fs.stat(...a)),
        stream: (...a) => Stream.unwrap(Effect.map(real, (fs) => fs.stream(...a))),
        symlink: (...a) => use((fs) => fs.symlink(...a)),
        truncate: (...a) => use((fs) => fs.truncate(...a)),
        utimes: (...a) => use((fs) => fs.utimes(...a)),
        watch: (...a) => Stream.unwrap(Effect.map(real, (fs) => fs.watch(...a))),
        writeFile: (...a) => use((fs) => fs.writeFile(...a)),
        writeFileString: (...a) => use((fs) => fs.writeFileString(...a))
      }
    }
  )
)

/** Node's Terminal, loaded and built (in the layer's scope) the first time it is used. */
export const lazyTerminal: Layer.Layer<Terminal.Terminal> = Layer.scoped(
  Terminal.Terminal,
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const real = yield* Effect.cached(
      Effect.flatMap(Effect.promise(() => import("@effect/platform-node/NodeTerminal")), (node) => Scope.extend(node.make(), scope))
    )
    return {
      columns: Effect.flatMap(real, (t) => t.columns),
      rows: Effect.flatMap(real, (t) => t.rows),
      isTTY: Effect.flatMap(real, (t) => t.isTTY),
      readInput: Effect.flatMap(real, (t) => t.readInput),
      readLine: Effect.flatMap(real, (t) => t.readLine),
      display: (text) => Effect.flatMap(real, (t) => t.display(text))
    }
  })
)

export const layer: Layer.Layer<FileSystem.FileSystem | Path | Terminal.Terminal> = Layer.mergeAll(
  lazyFileSystem,
  NodePath.layer,
  lazyTerminal
)

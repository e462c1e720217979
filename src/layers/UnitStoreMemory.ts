/**
 * UnitStore holding the unit directory in memory: the same name checks, statuses and stop-at-first-
 * failure behaviour as the file-system store, without touching disk. For offline host simulation
 * and tests. Each build of the layer starts from `options.files`.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { UNIT_DIR } from "../domain/Paths.js"
import { posixJoin } from "../domain/GoText.js"
import {
  UnitDirectoryMissingError,
  UnitFileError,
  type UnitFile,
  UnitStore,
  type UnitStoreShape,
  type UnitWriteResult
} from "../services/UnitStore.js"
import { matchesUnitPrefix, validateUnitFiles, validateUnitName } from "./UnitStoreFs.js"
import { traced } from "./Traced.js"

export interface Options {
  /** Shown as the unit directory in paths and messages. Default `/etc/systemd/system`. */
  readonly directory?: string | undefined
  /** Files present at start, by unit file name. */
  readonly files?: Readonly<Record<string, string>> | undefined
  /** Simulate a host without the unit directory: building the store fails. Default false. */
  readonly missingDirectory?: boolean | undefined
  /** Unit file names whose writes fail (`permission denied`), to simulate a failure mid-way. */
  readonly failWrites?: ReadonlyArray<string> | undefined
}

/** An in-memory store and a view of its files (for assertions). */
export interface MemoryUnitStore extends UnitStoreShape {
  /** The current files by name. */
  readonly files: () => ReadonlyMap<string, string>
}

export const makeStore = (options: Options = {}): MemoryUnitStore => {
  const directory = options.directory ?? UNIT_DIR
  const files = new Map<string, string>(Object.entries(options.files ?? {}))
  const failing = new Set(options.failWrites ?? [])
  const pathOf = (name: string) => posixJoin(directory, name)

  const read = traced("UnitStore.read")(function*(unitName: string) {
    yield* validateUnitName(unitName)
    return Option.fromNullable(files.get(unitName))
  })

  const writeAll = traced("UnitStore.writeAll")(function*(units: ReadonlyArray<UnitFile>) {
    yield* validateUnitFiles(units)
    const results: Array<UnitWriteResult> = []
    for (const unit of units) {
      const path = pathOf(unit.name)
      const current = files.get(unit.name)
      if (current === unit.content) {
        results.push({ name: unit.name, path, status: "unchanged" })
        continue
      }
      if (failing.has(unit.name)) {
        return yield* new UnitFileError({ file: path, operation: "write", reason: "permission denied" })
      }
      files.set(unit.name, unit.content)
      results.push({ name: unit.name, path, status: current === undefined ? "created" : "changed" })
    }
    return results
  })

  const remove = traced("UnitStore.remove")(function*(unitName: string) {
    yield* validateUnitName(unitName)
    return files.delete(unitName)
  })

  const list = (prefix: string) => Effect.sync(() => [...files.keys()].filter((n) => matchesUnitPrefix(n, prefix)).sort())

  return { directory, read, writeAll, remove, list, files: () => new Map(files) }
}

export const make = (options: Options = {}): Effect.Effect<UnitStoreShape, UnitDirectoryMissingError> =>
  options.missingDirectory === true
    ? Effect.fail(new UnitDirectoryMissingError({ directory: options.directory ?? UNIT_DIR }))
    : Effect.sync(() => makeStore(options))

export const layer = (options: Options = {}): Layer.Layer<UnitStore, UnitDirectoryMissingError> =>
  Layer.effect(UnitStore, make(options))

/**
 * Where generated unit files live (systemd.md §1, §6): normally `/etc/systemd/system`.
 *
 * Implementations: `layers/UnitStoreFs.ts` (a real directory; every file is replaced atomically)
 * and `layers/UnitStoreMemory.ts` (an in-memory directory for offline host simulation and tests).
 * Building either layer fails with `UnitDirectoryMissingError` when the directory does not exist,
 * which is the original's check before `generate` writes anything (`generate --preview` does not
 * need this service).
 *
 * Nothing here reloads systemd: callers (or users) run `systemctl daemon-reload` (systemd.md §6).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/**
 * A unit file to write: its file name (e.g. `machina-test-vm.service`) and full text. A name
 * `<unit>.d/<name>.conf` is a drop-in of that unit (its folder is created when needed, and removed
 * with its last drop-in).
 */
export interface UnitFile {
  readonly name: string
  readonly content: string
}

/** `created`: the file did not exist; `changed`: replaced; `unchanged`: same bytes, not rewritten. */
export type UnitWriteStatus = "created" | "changed" | "unchanged"

export interface UnitWriteResult {
  readonly name: string
  /** Full path of the file, e.g. `/etc/systemd/system/machina-test-vm.service`. */
  readonly path: string
  readonly status: UnitWriteStatus
}

/** The unit directory does not exist (or is not a directory): generation is not possible here. */
export class UnitDirectoryMissingError extends LazyTaggedError<UnitDirectoryMissingError>()(
  "UnitDirectoryMissingError",
  { directory: Schema.String }
) {
  override get message(): string {
    return `unit directory ${this.directory} does not exist (create it, or choose another with --unit-dir or MACHINA_UNIT_DIR)`
  }
}

/** A unit file name was refused before anything was touched (see `checkUnitFileName`). */
export class UnitNameInvalidError extends LazyTaggedError<UnitNameInvalidError>()("UnitNameInvalidError", {
  name: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** Reading, writing or removing one unit file failed. */
export class UnitFileError extends LazyTaggedError<UnitFileError>()("UnitFileError", {
  /** Full path of the unit file concerned. */
  file: Schema.String,
  operation: Schema.Literal("read", "write", "remove", "list"),
  /** What went wrong, e.g. `permission denied`, `no space left on device`. */
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `cannot ${this.operation} ${this.file}: ${this.reason}`
  }
}

export type UnitStoreError = UnitNameInvalidError | UnitFileError

export interface UnitStoreShape {
  /** The unit directory, e.g. `/etc/systemd/system`. */
  readonly directory: string
  /** The text of a unit file, or `None` when it does not exist. */
  readonly read: (unitName: string) => Effect.Effect<Option.Option<string>, UnitStoreError>
  /**
   * Writes the files in order. All names are checked first (none written if one is refused; a name
   * given twice is refused too). Each file is replaced atomically (temporary file in the same
   * directory, flushed to disk, renamed over the old one; mode 0644), so every file is at any
   * moment either entirely old or entirely new; files whose content is already identical are not
   * rewritten. The first failure stops the run with a `UnitFileError` naming that file; files
   * written before it stay written, later ones are not touched.
   */
  readonly writeAll: (
    units: ReadonlyArray<UnitFile>
  ) => Effect.Effect<ReadonlyArray<UnitWriteResult>, UnitStoreError>
  /**
   * The names of the unit files in the directory whose names start with `prefix` and end in
   * `.service` (e.g. every `machina-*.service`), sorted. Hidden files (temporary files) never match.
   */
  readonly list: (prefix: string) => Effect.Effect<ReadonlyArray<string>, UnitFileError>
  /** Removes a unit file; `true` if it existed, `false` if there was nothing to remove. */
  readonly remove: (unitName: string) => Effect.Effect<boolean, UnitStoreError>
}

export class UnitStore extends Context.Tag("machina/UnitStore")<UnitStore, UnitStoreShape>() {}

/**
 * Raw configuration files, for editors (`machina ui`): read a file's text with a version (a hash
 * of its bytes), and replace or create it atomically, only if it still has the version it was
 * read with, so two editors (or an editor and a shell) never silently overwrite each other.
 *
 * Implementation: `layers/ConfigFilesFs.ts`. Validation is the caller's job and happens before a
 * write is asked for: this service never judges content.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** A file's text and its version: the SHA-256 of its bytes in hex; `null` when it does not exist. */
export interface FileVersion {
  readonly file: string
  readonly text: string
  readonly version: string | null
}

/** The file changed (or appeared, or vanished) since the version the caller read. */
export class ConfigConflictError extends LazyTaggedError<ConfigConflictError>()("ConfigConflictError", {
  file: Schema.String,
  expected: Schema.NullOr(Schema.String),
  actual: Schema.NullOr(Schema.String)
}) {
  override get message(): string {
    return this.expected === null
      ? `${this.file}: already exists`
      : this.actual === null
      ? `${this.file}: was removed since it was loaded`
      : `${this.file}: changed on disk since it was loaded; reload it and apply the edit again`
  }
}

/** The file could not be read or written. */
export class ConfigWriteError extends LazyTaggedError<ConfigWriteError>()("ConfigWriteError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

export interface ConfigFilesShape {
  /** The text and version of `file`; a missing file reads as empty text with version null. */
  readonly read: (file: string) => Effect.Effect<FileVersion, ConfigWriteError>
  /**
   * Writes `text` to `file` if its current version is `expected` (`null`: the file must not
   * exist). Atomic: a temporary file in the same directory, flushed, then renamed (or, for a new
   * file, hard-linked so an existing one is never replaced). Returns the new version.
   */
  readonly write: (file: string, text: string, expected: string | null) => Effect.Effect<string, ConfigConflictError | ConfigWriteError>
}

export class ConfigFiles extends Context.Tag("machina/ConfigFiles")<ConfigFiles, ConfigFilesShape>() {}

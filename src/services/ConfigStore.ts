/**
 * Where configuration comes from: the host file and the machine files. Implementations read a
 * configuration directory (`layers/ConfigStoreFs.ts`) or hold a whole host in memory
 * (`layers/ConfigStoreMemory.ts`, for offline host simulation and tests).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"
import type { Host, Machine } from "../domain/ConfigFiles.js"
import type { ConfigInvalidError } from "../domain/ConfigIssue.js"

/** A configuration file could not be read (missing, unreadable, not a file). */
export class ConfigReadError extends LazyTaggedError<ConfigReadError>()("ConfigReadError", (S) => ({
  file: S.String,
  reason: S.String
})) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** A machine name given on the command line (or found in the directory) is not acceptable. */
export class MachineNameError extends LazyTaggedError<MachineNameError>()("MachineNameError", (S) => ({
  name: S.String,
  reason: S.String
})) {
  override get message(): string {
    return this.reason
  }
}

/** A machine file could not be written or removed. */
export class ConfigWriteError extends LazyTaggedError<ConfigWriteError>()("ConfigWriteError", (S) => ({
  file: S.String,
  operation: S.Literal("write", "remove"),
  reason: S.String
})) {
  override get message(): string {
    return `cannot ${this.operation} ${this.file}: ${this.reason}`
  }
}

export type ConfigError = ConfigReadError | ConfigInvalidError | MachineNameError

export interface ConfigStoreShape {
  /** Human-readable location, e.g. `/etc/machina`. */
  readonly location: string
  /** Path of the host file as shown in messages. */
  readonly hostFile: string
  /** Path of a machine's file as shown in messages. */
  readonly machineFile: (name: string) => string
  readonly loadHost: Effect.Effect<Host, ConfigError>
  /** The host file's text as stored (`check` salvages what it can of an invalid host file). */
  readonly readHostText?: Effect.Effect<string, ConfigReadError>
  /**
   * Loads one machine by its file name or its effective name (JSON `name`), both validated before
   * any path is built; the machine's `name` is its effective name.
   */
  readonly loadMachine: (name: string) => Effect.Effect<Machine, ConfigError>
  /** File names of all machines (`*.conf.json` in the machine directory), sorted by byte order. */
  readonly listMachines: Effect.Effect<ReadonlyArray<string>, ConfigReadError>
  /**
   * What the hooks of a unit generated from this store (`machina prepare`, ... run by systemd at
   * boot, from `/`) need to read these same files: nothing (absent) for the default `/etc/machina`
   * or a store that is not a directory; `directory` (absolute) to pass as `MACHINA_CONFIG_DIR`;
   * `problem` when no single directory can (the current-directory fallback for machines only).
   */
  readonly bootConfig?: { readonly directory: string } | { readonly problem: string }
  /** The text of a machine file as it is on disk (for commands that edit it). */
  readonly readMachineText: (name: string) => Effect.Effect<string, ConfigReadError | MachineNameError>
  /** Replaces a machine file atomically (temporary file in the same directory, renamed over it). */
  readonly writeMachineText: (name: string, text: string) => Effect.Effect<void, ConfigWriteError | MachineNameError>
  /** Deletes a machine file; `true` if it existed. */
  readonly removeMachine: (name: string) => Effect.Effect<boolean, ConfigWriteError | MachineNameError>
}

export class ConfigStore extends Context.Tag("machina/ConfigStore")<ConfigStore, ConfigStoreShape>() {}

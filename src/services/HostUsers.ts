/**
 * The host's user database, as unprivileged machines need it: the uid of `privileges.user`.
 *
 * Implementations: `layers/HostUsersGetent.ts` (`getent passwd`, so NSS sources count) and
 * `layers/HostUsersMemory.ts` (a fixed table).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

export interface HostUser {
  readonly name: string
  readonly uid: number
  /** The user's primary group. */
  readonly gid: number
}

/** The host has no user of that name. */
export class HostUserNotFoundError extends LazyTaggedError<HostUserNotFoundError>()("HostUserNotFoundError", (S) => ({
  user: S.String
})) {
  override get message(): string {
    return `user ${JSON.stringify(this.user)} does not exist on this host (privileges.user names the host user QEMU runs as; create it, e.g. useradd --system --no-create-home ${this.user})`
  }
}

/** The user database could not be read. */
export class HostUserLookupError extends LazyTaggedError<HostUserLookupError>()("HostUserLookupError", (S) => ({
  user: S.String,
  reason: S.String
})) {
  override get message(): string {
    return `cannot look up user ${JSON.stringify(this.user)}: ${this.reason}`
  }
}

/** The machine's group could not be added to the host (a group of that name with another id, or groupadd failed). */
export class HostGroupError extends LazyTaggedError<HostGroupError>()("HostGroupError", (S) => ({
  group: S.String,
  gid: S.Number,
  reason: S.String
})) {
  override get message(): string {
    return `cannot create group ${JSON.stringify(this.group)} with id ${this.gid}: ${this.reason}`
  }
}

export interface HostUsersShape {
  readonly lookup: (name: string) => Effect.Effect<HostUser, HostUserNotFoundError | HostUserLookupError>
  /**
   * Makes sure the host's group database has a group with id `gid` (systemd refuses a numeric
   * `Group=` it cannot resolve): "present" when some group has that id, "created" after adding
   * `name` with it. A group called `name` with another id is an error.
   */
  readonly ensureGroup: (name: string, gid: number) => Effect.Effect<"present" | "created", HostGroupError>
}

export class HostUsers extends Context.Tag("machina/HostUsers")<HostUsers, HostUsersShape>() {}

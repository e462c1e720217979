/**
 * Host network links, as `connect`/`disconnect` (and `machina-ifup`/`-ifdown`) need them: find a
 * tap and a bridge, bring a link up or down, add it to or remove it from a bridge.
 *
 * Implementations: `layers/NetLinksIproute2.ts` (the `ip` command, optionally in a named network
 * namespace) and `layers/NetLinksMemory.ts` (simulated links).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** No link with this name exists. */
export class NetLinkNotFoundError extends LazyTaggedError<NetLinkNotFoundError>()("NetLinkNotFoundError", (S) => ({
  link: S.String
})) {
  override get message(): string {
    return `link ${JSON.stringify(this.link)} not found`
  }
}

/** A link used as a master is not a bridge. */
export class NetLinkNotABridgeError extends LazyTaggedError<NetLinkNotABridgeError>()("NetLinkNotABridgeError", (S) => ({
  link: S.String
})) {
  override get message(): string {
    return `network link ${JSON.stringify(this.link)} is not a bridge`
  }
}

/** A link name the kernel would refuse (empty, longer than 15 bytes, with `/`, `:` or white space). */
export class NetLinkInvalidNameError extends LazyTaggedError<NetLinkInvalidNameError>()(
  "NetLinkInvalidNameError",
  (S) => ({ link: S.String })
) {
  override get message(): string {
    return `invalid link name ${JSON.stringify(this.link)}`
  }
}

/** The link tool failed (or could not be run); `stderr` carries its own words. */
export class NetLinkCommandError extends LazyTaggedError<NetLinkCommandError>()("NetLinkCommandError", (S) => ({
  argv: S.Array(S.String),
  exitCode: S.optional(S.Number),
  stderr: S.String,
  cause: S.optional(S.Defect)
})) {
  override get message(): string {
    const detail = this.stderr.trim().split("\n")[0] ?? ""
    const status = this.exitCode === undefined ? "could not run" : `exited ${this.exitCode}`
    return `${this.argv.join(" ")} ${status}${detail === "" ? "" : `: ${detail}`}`
  }
}

export type NetLinkError = NetLinkNotFoundError | NetLinkInvalidNameError | NetLinkCommandError

export interface NetLinksShape {
  /** Whether a link with this name exists. */
  readonly exists: (link: string) => Effect.Effect<boolean, NetLinkInvalidNameError | NetLinkCommandError>
  /** Whether the link is a bridge. */
  readonly isBridge: (link: string) => Effect.Effect<boolean, NetLinkError>
  /** The link's master (bridge), if it has one. */
  readonly master: (link: string) => Effect.Effect<Option.Option<string>, NetLinkError>
  /**
   * Sets the link up and adds it to a bridge, in one change of the link (the kernel applies the
   * flag, then the master). Fails, changing nothing, when the link is missing, then when the
   * bridge is missing or is not a bridge. `machina-ifup` runs this for every tap QEMU opens.
   */
  readonly attach: (link: string, bridge: string) => Effect.Effect<void, NetLinkError | NetLinkNotABridgeError>
  /** Removes the link from its master (if it has one) and sets it down, in one change. */
  readonly detach: (link: string) => Effect.Effect<void, NetLinkError>
  /**
   * Creates a persistent tap (with a virtio-net header, as QEMU opens it) that the given user and
   * group may open without privileges; an existing tap of that name is kept.
   */
  readonly createTap: (link: string, owner: { readonly uid: number; readonly gid: number }) => Effect.Effect<void, NetLinkInvalidNameError | NetLinkCommandError>
  /** Deletes a link; false when there was none. */
  readonly remove: (link: string) => Effect.Effect<boolean, NetLinkInvalidNameError | NetLinkCommandError>
}

export class NetLinks extends Context.Tag("machina/NetLinks")<NetLinks, NetLinksShape>() {}

/** Kernel rules for interface names (`dev_valid_name`). */
export const isValidLinkName = (name: string): boolean =>
  name.length > 0 &&
  new TextEncoder().encode(name).length <= 15 &&
  name !== "." &&
  name !== ".." &&
  !/[/:\s]/.test(name)

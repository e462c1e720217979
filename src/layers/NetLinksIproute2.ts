/**
 * `NetLinks` through iproute2's `ip` command (argument arrays, no shell), reading `ip -j -d link
 * show dev X` JSON. With `netns`, every command runs as `ip -n <netns> ...`.
 */
import { execFile } from "node:child_process"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  isValidLinkName,
  NetLinkCommandError,
  NetLinkInvalidNameError,
  NetLinkNotABridgeError,
  NetLinkNotFoundError,
  NetLinks
} from "../services/NetLinks.js"
import type { NetLinksShape } from "../services/NetLinks.js"
import { traced } from "./Traced.js"

export interface Options {
  /** Named network namespace (`ip -n <netns>`). Default: the caller's. */
  readonly netns?: string
  /** The `ip` executable. Default `ip` (looked up in PATH). */
  readonly ip?: string
  /** Bound on each command. Default 10 s. */
  readonly timeout?: Duration.DurationInput
}

interface Output {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** What `ip -j -d link show` tells about a link (the fields we use). */
interface LinkInfo {
  readonly ifname: string
  readonly flags?: ReadonlyArray<string>
  readonly master?: string
  readonly linkinfo?: { readonly info_kind?: string }
}

const NOT_FOUND = /does not exist|Cannot find device/

export const make = (options: Options = {}): Effect.Effect<NetLinksShape> => Effect.sync(() => makeShape(options))

const makeShape = (options: Options): NetLinksShape => {
  const ip = options.ip ?? "ip"
  const prefix = options.netns === undefined ? [] : ["-n", options.netns]
  const timeout = Duration.decode(options.timeout ?? "10 seconds")

  /** Runs `ip <prefix> <args>`; a non-zero exit is an `Output`, not a failure. */
  const run = (args: ReadonlyArray<string>): Effect.Effect<Output, NetLinkCommandError> => {
    const argv = [ip, ...prefix, ...args]
    return Effect.async<Output, NetLinkCommandError>((resume, signal) => {
      execFile(
        ip,
        [...prefix, ...args],
        { signal, timeout: Duration.toMillis(timeout), killSignal: "SIGKILL", encoding: "utf8", maxBuffer: 16 << 20 },
        (error, stdout, stderr) => {
          if (error === null) return resume(Effect.succeed({ code: 0, stdout, stderr }))
          const code = (error as { code?: unknown }).code
          if (typeof code === "number") return resume(Effect.succeed({ code, stdout, stderr }))
          resume(Effect.fail(new NetLinkCommandError({ argv, stderr: stderr ?? "", cause: error })))
        }
      )
    })
  }

  const commandError = (args: ReadonlyArray<string>, output: Output) =>
    new NetLinkCommandError({ argv: [ip, ...prefix, ...args], exitCode: output.code, stderr: output.stderr })

  const validName = (link: string) =>
    isValidLinkName(link) ? Effect.void : Effect.fail(new NetLinkInvalidNameError({ link }))

  /** The link's details, or None when it does not exist. */
  const show = (link: string) =>
    Effect.gen(function* () {
      yield* validName(link)
      const args = ["-j", "-d", "link", "show", "dev", link]
      const output = yield* run(args)
      if (output.code !== 0) {
        if (NOT_FOUND.test(output.stderr)) return Option.none<LinkInfo>()
        return yield* commandError(args, output)
      }
      const parsed = yield* Effect.try({
        try: () => JSON.parse(output.stdout) as ReadonlyArray<LinkInfo>,
        catch: (cause) =>
          new NetLinkCommandError({ argv: [ip, ...prefix, ...args], exitCode: 0, stderr: "unreadable JSON output", cause })
      })
      const info = parsed.find((entry) => entry.ifname === link)
      return Option.fromNullable(info)
    })

  const require = (link: string) =>
    Effect.flatMap(show(link), (info) =>
      Option.isSome(info) ? Effect.succeed(info.value) : Effect.fail(new NetLinkNotFoundError({ link }))
    )

  /** `ip link set dev LINK ...`; a missing device is reported as `link`, or as `other` when its message names only that one. */
  const set = (link: string, rest: ReadonlyArray<string>, other?: string) =>
    Effect.gen(function* () {
      yield* validName(link)
      const args = ["link", "set", "dev", link, ...rest]
      const output = yield* run(args)
      if (output.code === 0) return
      if (NOT_FOUND.test(output.stderr)) {
        const missing = other !== undefined && output.stderr.includes(`"${other}"`) && !output.stderr.includes(`"${link}"`) ? other : link
        return yield* new NetLinkNotFoundError({ link: missing })
      }
      return yield* commandError(args, output)
    })

  return {
    exists: traced("NetLinks.exists")(function* (link: string) {
      return Option.isSome(yield* show(link))
    }),
    isBridge: traced("NetLinks.isBridge")(function* (link: string) {
      return (yield* require(link)).linkinfo?.info_kind === "bridge"
    }),
    master: traced("NetLinks.master")(function* (link: string) {
      return Option.fromNullable((yield* require(link)).master)
    }),
    // Two commands (each `ip` costs a process: about 6 ms here, 11 ms for the first, when Node
    // loads child_process): the bridge is looked at, then the link is changed in one request.
    // The link's own existence is left to that request ("Cannot find device"), and looked up
    // first only when the bridge is wrong, so a missing link is reported first. It used to be
    // four: the link set up, then the link and the bridge looked up, then the master set.
    attach: traced("NetLinks.attach")(function* (link: string, bridge: string) {
      yield* validName(link)
      const master = yield* show(bridge)
      if (Option.isNone(master) || master.value.linkinfo?.info_kind !== "bridge") {
        yield* require(link)
        return yield* Option.isNone(master) ? new NetLinkNotFoundError({ link: bridge }) : new NetLinkNotABridgeError({ link: bridge })
      }
      yield* set(link, ["master", bridge, "up"], bridge)
    }),
    detach: traced("NetLinks.detach")(function* (link: string) {
      yield* set(link, ["nomaster", "down"])
    }),
    createTap: traced("NetLinks.createTap")(function* (link: string, owner: { readonly uid: number; readonly gid: number }) {
      if (Option.isSome(yield* show(link))) return
      const args = ["tuntap", "add", "dev", link, "mode", "tap", "user", String(owner.uid), "group", String(owner.gid), "vnet_hdr"]
      const output = yield* run(args)
      if (output.code !== 0) return yield* commandError(args, output)
    }),
    remove: traced("NetLinks.remove")(function* (link: string) {
      yield* validName(link)
      const args = ["link", "delete", "dev", link]
      const output = yield* run(args)
      if (output.code === 0) return true
      if (NOT_FOUND.test(output.stderr)) return false
      return yield* commandError(args, output)
    })
  }
}

export const layer = (options: Options = {}): Layer.Layer<NetLinks> => Layer.effect(NetLinks, make(options))

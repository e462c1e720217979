/**
 * `NetLinks` simulated in memory: links with a kind (`bridge`, `tap`, ...), an up/down flag and a
 * master, following the kernel's rules as `ip` reports them (missing links are
 * `NetLinkNotFoundError`, a master must be a bridge, a bridge cannot be its own master).
 * `NetLinksMemoryControl` adds, removes and inspects links.
 */
import * as Context from "effect/Context"
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

export interface SimulatedLink {
  readonly name: string
  /** `bridge`, `tap`, `veth`, `ether`, ... Only `bridge` can be a master. */
  readonly kind: string
  readonly up: boolean
  readonly master?: string
  /** The user and group that may open a tap made by `createTap`. */
  readonly owner?: { readonly uid: number; readonly gid: number }
}

export interface Options {
  readonly links?: ReadonlyArray<{
    readonly name: string
    readonly kind?: string
    readonly up?: boolean
    readonly master?: string
  }>
}

export interface NetLinksMemoryControlShape {
  /** Adds (or replaces) a link. */
  readonly add: (link: { readonly name: string; readonly kind?: string; readonly up?: boolean; readonly master?: string }) => Effect.Effect<void>
  /** Removes a link (links enslaved to it lose their master, as in the kernel). */
  readonly remove: (name: string) => Effect.Effect<void>
  /** All links, by name. */
  readonly links: Effect.Effect<ReadonlyArray<SimulatedLink>>
}

export class NetLinksMemoryControl extends Context.Tag("machina/NetLinksMemoryControl")<
  NetLinksMemoryControl,
  NetLinksMemoryControlShape
>() {}

export const make = (
  options: Options = {}
): Effect.Effect<{ readonly netLinks: NetLinksShape; readonly control: NetLinksMemoryControlShape }> =>
  Effect.sync(() => {
    const links = new Map<string, SimulatedLink>()
    const put = (link: { readonly name: string; readonly kind?: string; readonly up?: boolean; readonly master?: string }) =>
      links.set(link.name, {
        name: link.name,
        kind: link.kind ?? "tap",
        up: link.up ?? false,
        ...(link.master === undefined ? {} : { master: link.master })
      })
    for (const link of options.links ?? []) put(link)

    const find = (name: string): Effect.Effect<SimulatedLink, NetLinkInvalidNameError | NetLinkNotFoundError> =>
      Effect.suspend((): Effect.Effect<SimulatedLink, NetLinkInvalidNameError | NetLinkNotFoundError> => {
        if (!isValidLinkName(name)) return Effect.fail(new NetLinkInvalidNameError({ link: name }))
        const link = links.get(name)
        return link === undefined ? Effect.fail(new NetLinkNotFoundError({ link: name })) : Effect.succeed(link)
      })

    const update = (name: string, change: (link: SimulatedLink) => SimulatedLink) =>
      Effect.map(find(name), (link) => void links.set(name, change(link)))

    const withoutMaster = (link: SimulatedLink): SimulatedLink => ({
      name: link.name,
      kind: link.kind,
      up: link.up,
      ...(link.owner === undefined ? {} : { owner: link.owner })
    })

    const netLinks: NetLinksShape = {
      exists: traced("NetLinks.exists")(function* (name: string) {
        if (!isValidLinkName(name)) return yield* new NetLinkInvalidNameError({ link: name })
        return links.has(name)
      }),
      isBridge: traced("NetLinks.isBridge")(function* (name: string) {
        return (yield* find(name)).kind === "bridge"
      }),
      master: traced("NetLinks.master")(function* (name: string) {
        return Option.fromNullable((yield* find(name)).master)
      }),
      attach: traced("NetLinks.attach")(function* (name: string, bridge: string) {
        yield* find(name)
        const master = yield* find(bridge)
        if (master.kind !== "bridge") return yield* new NetLinkNotABridgeError({ link: bridge })
        if (name === bridge) {
          // The kernel sets the flags of a link before its master: the link is up all the same.
          yield* update(name, (link) => ({ ...link, up: true }))
          return yield* new NetLinkCommandError({
            argv: ["ip", "link", "set", "dev", name, "master", bridge, "up"],
            exitCode: 2,
            stderr: "RTNETLINK answers: Invalid argument"
          })
        }
        yield* update(name, (link) => ({ ...link, master: bridge, up: true }))
      }),
      detach: traced("NetLinks.detach")(function* (name: string) {
        yield* update(name, (link) => ({ ...withoutMaster(link), up: false }))
      }),
      createTap: traced("NetLinks.createTap")(function* (name: string, owner: { readonly uid: number; readonly gid: number }) {
        if (!isValidLinkName(name)) return yield* new NetLinkInvalidNameError({ link: name })
        if (!links.has(name)) links.set(name, { name, kind: "tap", up: false, owner })
      }),
      remove: traced("NetLinks.remove")(function* (name: string) {
        if (!isValidLinkName(name)) return yield* new NetLinkInvalidNameError({ link: name })
        if (!links.has(name)) return false
        links.delete(name)
        for (const link of links.values()) if (link.master === name) links.set(link.name, withoutMaster(link))
        return true
      })
    }

    const control: NetLinksMemoryControlShape = {
      add: (link) => Effect.sync(() => void put(link)),
      remove: (name) =>
        Effect.sync(() => {
          links.delete(name)
          for (const link of links.values()) if (link.master === name) links.set(link.name, withoutMaster(link))
        }),
      links: Effect.sync(() => [...links.values()].sort((a, b) => a.name.localeCompare(b.name)))
    }
    return { netLinks, control }
  })

/** The simulation as `NetLinks` plus its `NetLinksMemoryControl`. */
export const layer = (options: Options = {}): Layer.Layer<NetLinks | NetLinksMemoryControl> =>
  Layer.effectContext(
    Effect.map(make(options), ({ control, netLinks }) =>
      Context.make(NetLinks, netLinks).pipe(Context.add(NetLinksMemoryControl, control))
    )
  )

/**
 * `connect` / `disconnect` (cli.md §3.15–3.16) and the `machina-ifup` / `machina-ifdown`
 * personalities QEMU runs for each tap. Arguments are machines, `machine.connection`, or tap
 * names — hashed tap names too: they are resolved against every machine of the host, so every
 * tap machina generates maps back to its machine and connection.
 *
 * No @effect/cli here: the hook fast path (Hooks.ts) runs these without the command tree; the
 * commands are in Network.ts.
 */
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"
import type { Connection } from "../domain/Config.js"
import type { Host } from "../domain/ConfigFiles.js"
import { resolveTapName, tapName } from "../domain/Identity.js"
import { type Composed, composeUnpopulated } from "../domain/Merge.js"
import { AlreadyReported } from "./Failures.js"
import { netLinks, store } from "./Workspace.js"

export class ConnectionNotFoundError extends LazyTaggedError<ConnectionNotFoundError>()("ConnectionNotFoundError", (S) => ({
  argument: S.String,
  reason: S.String
})) {
  override get message(): string {
    return `${JSON.stringify(this.argument)}: ${this.reason}`
  }
}

export interface Selected {
  readonly machine: string
  /** As configured: its MAC is not derived (nothing here needs it). */
  readonly connection: Connection
  readonly tap: string
}

/**
 * Whether arguments are taps first: true for the `machina-ifup` and `machina-ifdown`
 * personalities (QEMU passes a tap name), whichever way they run (src/programs/Hooks.ts, Cli.ts).
 */
export class TapArguments extends Context.Reference<TapArguments>()("machina/TapArguments", { defaultValue: () => false }) {}

/**
 * Resolves arguments to connections, loading only the machines needed (all of them for hashed tap
 * names). An argument is a machine first, then `machine.connection`, then a tap name; with `taps`
 * (TapArguments) the tap readings come first and a machine last. That order also spares a hook
 * reading every machine file: only the whole argument as a machine's JSON `name` needs that.
 */
export const select = (args: ReadonlyArray<string>, options: { readonly taps?: boolean } = {}) =>
  Effect.gen(function*() {
    const s = yield* store
    const host: Host = yield* s.loadHost
    const cache = new Map<string, Composed>()
    const load = (name: string) =>
      Effect.gen(function*() {
        const cached = cache.get(name)
        if (cached !== undefined) return cached
        const machine = yield* s.loadMachine(name)
        const composed = yield* Either.match(composeUnpopulated(host, machine), { onLeft: Effect.fail, onRight: Effect.succeed })
        cache.set(name, composed)
        return composed
      })
    const known = new Set(yield* s.listMachines)
    // Whether `name` is a machine: a file name, or the effective name (JSON `name`) of a machine
    // that loads. Only a file whose text holds the name, or a backslash (a JSON escape could spell
    // it), can give it as its JSON `name`: the others are not decoded (ifup of `vm.0` on a host of
    // many machines decodes only the few that could match, not all of them).
    const effective = new Map<string, boolean>()
    const isMachine = (name: string) =>
      Effect.gen(function*() {
        if (known.has(name)) return true
        const cached = effective.get(name)
        if (cached !== undefined) return cached
        let found = false
        for (const file of known) {
          const text = yield* Effect.either(s.readMachineText(file))
          if (Either.isRight(text) && !text.right.includes(name) && !text.right.includes("\\")) continue
          const loaded = yield* Effect.either(load(file))
          if (Either.isRight(loaded) && loaded.right.machine.name === name) {
            found = true
            break
          }
        }
        effective.set(name, found)
        return found
      })
    const selected: Array<Selected> = []
    const add = (c: Composed, conn: Connection) => {
      const tap = tapName(c.machine.name, conn.name)
      if (!selected.some((x) => x.tap === tap)) selected.push({ machine: c.machine.name, connection: conn, tap })
    }
    const asMachine = (arg: string) =>
      Effect.gen(function*() {
        if (!(yield* isMachine(arg))) return false
        const c = yield* load(arg)
        for (const conn of c.definition.connections) add(c, conn)
        return true
      })
    for (const arg of args) {
      if (options.taps !== true && (yield* asMachine(arg))) continue
      // machine.connection, splitting at any dot whose prefix is a machine (names may contain dots)
      const direct: Array<[Composed, Connection]> = []
      for (let i = arg.indexOf("."); i > 0; i = arg.indexOf(".", i + 1)) {
        const machine = arg.slice(0, i)
        if (!(yield* isMachine(machine))) continue
        const c = yield* load(machine)
        const conn = c.definition.connections.find((x) => x.name === arg.slice(i + 1))
        if (conn !== undefined) direct.push([c, conn])
      }
      if (direct.length === 1) {
        add(direct[0]![0], direct[0]![1])
        continue
      }
      // a tap name, possibly hashed: compare with every connection of every machine
      const candidates: Array<{ machine: string; connection: string; composed: Composed; conn: Connection }> = []
      for (const name of known) {
        const loaded = yield* Effect.either(load(name))
        if (Either.isLeft(loaded)) continue
        for (const conn of loaded.right.definition.connections) {
          candidates.push({ machine: loaded.right.machine.name, connection: conn.name, composed: loaded.right, conn })
        }
      }
      const matches = resolveTapName(arg, candidates)
      if (matches.length === 1) add(matches[0]!.composed, matches[0]!.conn)
      else if (matches.length === 0 && options.taps === true && (yield* asMachine(arg))) continue
      else if (matches.length > 1) {
        return yield* new ConnectionNotFoundError({ argument: arg, reason: `ambiguous: ${matches.map((m) => `${m.machine}.${m.connection}`).join(", ")}` })
      } else {
        return yield* new ConnectionNotFoundError({ argument: arg, reason: "no machine, machine.connection or tap interface of this host has that name" })
      }
    }
    return { host, selected: selected as ReadonlyArray<Selected> }
  })

const report = (verb: string, results: ReadonlyArray<Either.Either<void, string>>) => {
  const failed = results.filter(Either.isLeft).length
  return failed > 0 ? Effect.fail(new AlreadyReported({ exitCode: 1, summary: `${failed} connection(s) failed to ${verb}` })) : Effect.void
}

/** Changing links needs CAP_NET_ADMIN: say so when the kernel refused for lack of it. */
export const withRootHint = (message: string): string =>
  /Operation not permitted|EPERM|permission denied/i.test(message) && !message.includes("CAP_NET_ADMIN")
    ? `${message} (needs root (CAP_NET_ADMIN): run with sudo)`
    : message

/** `connect`, and the `machina-ifup` personality (TapArguments). */
export const connectAll = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { host, selected } = yield* select(args, { taps: yield* TapArguments })
    const links = yield* netLinks
    const results = yield* Effect.forEach(selected, (sel) =>
      Effect.gen(function*() {
        const network = host.config.network[sel.connection.network]
        if (network === undefined) return yield* Effect.fail(`invalid network name ${JSON.stringify(sel.connection.network)}`)
        yield* links.attach(sel.tap, network.device).pipe(
          Effect.mapError((e) =>
            e._tag === "NetLinkNotFoundError" && e.link === network.device
              ? `bridge ${JSON.stringify(network.device)} of network ${JSON.stringify(sel.connection.network)} does not exist (create it, or fix network.${sel.connection.network}.device in ${host.file})`
              : e)
        )
      }).pipe(
        Effect.mapError((e) => withRootHint(typeof e === "string" ? e : e.message)),
        Effect.tapBoth({
          onFailure: (e) => Console.error(`${sel.tap}: failed: ${e}`),
          onSuccess: () => Console.log(`${sel.tap}: enabled`)
        }),
        Effect.either
      ))
    yield* report("connect", results)
  })

/** `disconnect`, and the `machina-ifdown` personality (TapArguments). */
export const disconnectAll = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { selected } = yield* select(args, { taps: yield* TapArguments })
    const links = yield* netLinks
    const results = yield* Effect.forEach(selected, (sel) =>
      Effect.gen(function*() {
        yield* links.detach(sel.tap)
      }).pipe(
        Effect.mapError((e) => withRootHint(e.message)),
        Effect.tapBoth({
          onFailure: (e) => Console.error(`${sel.tap}: failed: ${e}`),
          onSuccess: () => Console.log(`${sel.tap}: disabled`)
        }),
        Effect.either
      ))
    yield* report("disconnect", results)
  })

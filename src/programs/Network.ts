/**
 * `connect` / `disconnect` (cli.md §3.15–3.16). The programs, and the `machina-ifup` /
 * `machina-ifdown` personalities QEMU runs for each tap, are in Connections.ts (no @effect/cli,
 * so the hook fast path can run them).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import { connectAll, disconnectAll } from "./Connections.js"

export { ConnectionNotFoundError, connectAll, disconnectAll, select, type Selected, TapArguments, withRootHint } from "./Connections.js"

const targets = Args.text({ name: "machines-or-connections" }).pipe(Args.atLeast(1))

export const connect = Command.make("connect", { targets }, ({ targets }) => connectAll(targets)).pipe(
  Command.withDescription("Connects a whole virtual machine or individual connections to the network.")
)
export const disconnect = Command.make("disconnect", { targets }, ({ targets }) => disconnectAll(targets)).pipe(
  Command.withDescription("Disconnects a whole virtual machine or individual connections from the network.")
)

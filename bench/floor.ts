/**
 * The start-up benchmark's reference: the smallest program with machina's stack, an @effect/cli
 * command tree with one `args <machines...>` subcommand that prints its arguments, run by
 * NodeRuntime with machina's platform layer (src/layers/CliPlatform.ts), bundled and loaded
 * exactly as dist/machina.cjs (`node scripts/build.mjs --entry bench/floor.ts ...`). Its start-up
 * is the part of machina's that comes from Node, Effect, @effect/cli and the loader, before any
 * machina code.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as CliPlatform from "../src/layers/CliPlatform.js"

const machines = Args.text({ name: "machines" }).pipe(Args.atLeast(1))
const args = Command.make("args", { machines }, ({ machines }) => Console.log(machines.join("\n")))
const root = Command.make("machina").pipe(Command.withSubcommands([args]))

Command.run(root, { name: "machina", version: "0" })(process.argv).pipe(
  Effect.provide(CliPlatform.layer),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)

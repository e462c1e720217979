import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"

const genId = Command.make("gen-id", {}, () => Console.log(randomUUID()))
const root = Command.make("machina").pipe(Command.withSubcommands([genId]))
const cli = Command.run(root, { name: "machina", version: "0.1.0" })
cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain({ disableErrorReporting: true }))

/** `machina gen-id` and `machina gen-mac`: random identifiers (identity.md §5.2). */
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { randomMac } from "../domain/Identity.js"
import { formatUuid, randomUuidV4 } from "../domain/Uuid.js"

export const genId = Command.make("gen-id", {}, () => Effect.suspend(() => Console.log(formatUuid(randomUuidV4())))).pipe(
  Command.withDescription("Generate a random machine identifier.")
)

export const genMac = Command.make("gen-mac", {}, () => Effect.suspend(() => Console.log(randomMac()))).pipe(
  Command.withDescription("Generate a random MAC hardware address.")
)

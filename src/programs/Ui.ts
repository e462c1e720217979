/**
 * `machina ui [--listen ADDR:PORT | --socket PATH]`: the configuration manager as a local web app.
 * The server and its modules load only here (ui/Server.ts), so other commands do not pay for them.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { lazy } from "./Workspace.js"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

const listen = Options.text("listen").pipe(
  Options.withDescription("Address and port to listen on, e.g. 127.0.0.1:8080 (default: 127.0.0.1 on a free port). A non-loopback address is used only when named here."),
  Options.optional
)
const socket = Options.text("socket").pipe(
  Options.withDescription("Listen on this unix socket (created with mode 0600) instead of TCP."),
  Options.optional
)

const server = lazy(() => Promise.all([import("./ui/Server.js"), import("./ui/Security.js")]))

/** `--listen` / `--socket` do not name a usable place to listen. */
export class UiListenError extends LazyTaggedError<UiListenError>()("UiListenError", { reason: Schema.String }) {
  override get message(): string {
    return this.reason
  }
}

const usage = (reason: string) => Effect.fail(new UiListenError({ reason }))

export const handler = ({ listen, socket }: { listen: Option.Option<string>; socket: Option.Option<string> }) =>
  Effect.gen(function*() {
    const [Server, Security] = yield* server
    if (Option.isSome(listen) && Option.isSome(socket)) return yield* usage("give either --listen or --socket, not both")
    if (Option.isSome(socket)) {
      if (!socket.value.startsWith("/")) return yield* usage(`--socket ${JSON.stringify(socket.value)}: expected an absolute path`)
      return yield* Server.serve({ listen: { _tag: "socket", path: socket.value } })
    }
    if (Option.isNone(listen)) return yield* Server.serve({ listen: { _tag: "tcp", address: "127.0.0.1", port: 0 } })
    const parsed = Security.parseListen(listen.value)
    if (typeof parsed === "string") return yield* usage(parsed)
    return yield* Server.serve({ listen: { _tag: "tcp", ...parsed } })
  })

export const command = Command.make("ui", { listen, socket }, handler).pipe(
  Command.withDescription("Serves the configuration manager, a local web app; prints its URL with an access token.")
)

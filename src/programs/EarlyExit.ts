/**
 * How machina's entry points end (src/bin.ts, src/hook.ts): when the program is done (its status
 * in `process.exitCode`), the process exits there and then, as runMain already does after a
 * signal or a failure. Left to end by itself, Node would first wait for the event loop to drain
 * and then free the environment and the heap, which costs a command several milliseconds more
 * than the exit. Every command has finished its work (files written, sockets answered, scopes
 * closed, child processes reaped) when its effect completes; what may still be pending is output
 * to a pipe (Node writes to pipes asynchronously): then the process ends by itself as before, once
 * the reader has taken everything. Only the stdio streams that exist are asked (creating one to
 * ask would cost more than the early exit saves; see layers/ConsoleFd.ts).
 */
import * as Runtime from "@effect/platform/Runtime"
import * as Exit from "effect/Exit"
import { pendingOutput } from "../layers/ConsoleFd.js"

export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit) && !pendingOutput()) process.exit()
  Runtime.defaultTeardown(exit, onExit)
}

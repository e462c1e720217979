/**
 * How machina's entry points end (src/bin.ts, src/hook.ts): when the program is done (its status
 * in `process.exitCode`), the process exits there and then, as runMain already does after a
 * signal or a failure. Left to end by itself, Node would first wait for the event loop to drain
 * and then free the environment and the heap, which costs a command several milliseconds more
 * than the exit. Every command has finished its work (files written, sockets answered, scopes
 * closed, child processes reaped) when its effect completes; what may still be pending is output
 * to a pipe (Node writes to pipes asynchronously): then the process ends by itself as before, once
 * the reader has taken everything.
 */
import * as Runtime from "@effect/platform/Runtime"
import * as Exit from "effect/Exit"

/** The stdio streams Node created since `watchStdio` ran; undefined when it did not run. */
let created: Set<NodeJS.WriteStream> | undefined

/**
 * From now on, notes which of `process.stdout` and `process.stderr` get created, so that the
 * teardown looks only at those: reading either property creates its stream, which costs 2.5 to
 * 4.5 ms (the stream modules, and `net` for a pipe or a socket), and a hook may not need either
 * (it writes with layers/ConsoleFd.ts). The hook bundle runs this first. Node's getters are kept;
 * they are only wrapped.
 */
export const watchStdio = (): void => {
  const streams = (created ??= new Set())
  for (const name of ["stdout", "stderr"] as const) {
    const property = Object.getOwnPropertyDescriptor(process, name)
    const get = property?.get
    if (get === undefined || property?.configurable !== true) {
      // Not Node's lazy getter (already replaced by someone): it is there to look at.
      streams.add(process[name])
      continue
    }
    Object.defineProperty(process, name, {
      ...property,
      get(this: NodeJS.Process) {
        const stream = get.call(this) as NodeJS.WriteStream
        streams.add(stream)
        return stream
      }
    })
  }
}

/** Whether output is still queued in a stdio stream (a pipe whose reader has not taken it yet). */
const pendingOutput = () =>
  created === undefined
    ? process.stdout.writableLength > 0 || process.stderr.writableLength > 0
    : [...created].some((stream) => stream.writableLength > 0)

export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit) && !pendingOutput()) process.exit()
  Runtime.defaultTeardown(exit, onExit)
}

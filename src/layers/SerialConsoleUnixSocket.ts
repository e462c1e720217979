/**
 * The serial console over QEMU's listening unix socket chardev, attached to this process's
 * standard input and output (or to the streams given, for tests).
 *
 * On a terminal, standard input is switched to raw mode for the attachment and restored by a
 * finalizer, so an interruption (SIGTERM) or failure never leaves the terminal raw. In both modes
 * the escape byte detaches and is never sent; in pipe mode the end of input detaches too.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as net from "node:net"
import {
  type AttachOptions,
  ConsoleConnectError,
  ConsoleConnectionRefusedError,
  type ConsoleEnd,
  ConsoleIoError,
  ConsoleSocketNotFoundError,
  ESCAPE_BYTE,
  type SerialConsoleShape
} from "../services/SerialConsole.js"
import { traced } from "./Traced.js"

/** Standard input as far as the console needs it (process.stdin is one). */
export interface ConsoleInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean
  setRawMode?(raw: boolean): unknown
  unref?(): unknown
}

export interface SerialConsoleOptions {
  readonly input?: ConsoleInput
  readonly output?: NodeJS.WritableStream
}

/** How long detaching waits for the last input to reach the socket. */
const FLUSH_TIMEOUT_MS = 2000

const connectError = (path: string, e: NodeJS.ErrnoException) =>
  e.code === "ENOENT"
    ? new ConsoleSocketNotFoundError({ path })
    : e.code === "ECONNREFUSED"
    ? new ConsoleConnectionRefusedError({ path })
    : new ConsoleConnectError({ path, reason: e.code === "EACCES" ? "permission denied (run as root?)" : e.message })

/** A connected socket, bounded by `timeout`; destroyed if the connect is interrupted. */
const connect = (path: string, timeout: Duration.DurationInput) =>
  Effect.async<net.Socket, ConsoleSocketNotFoundError | ConsoleConnectionRefusedError | ConsoleConnectError>((resume) => {
    const socket = net.createConnection({ path })
    const onError = (e: NodeJS.ErrnoException) => {
      socket.destroy()
      resume(Effect.fail(connectError(path, e)))
    }
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      resume(Effect.succeed(socket))
    })
    return Effect.sync(() => socket.destroy())
  }).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new ConsoleConnectError({ path, reason: `no connection within ${Duration.format(Duration.decode(timeout))}` })
    })
  )

/** Copies both ways until the escape byte, the end of input, or the socket closing. */
const copy = (path: string, socket: net.Socket, input: ConsoleInput, output: NodeJS.WritableStream) =>
  Effect.async<ConsoleEnd, ConsoleIoError>((resume) => {
    let done = false
    const cleanup = () => {
      input.off("data", onInput)
      input.off("end", onInputEnd)
      socket.off("data", onSocket)
      socket.off("close", onClose)
      socket.off("error", onError)
      input.pause()
    }
    const finish = (end: ConsoleEnd) => {
      if (done) return
      done = true
      cleanup()
      if (end === "closed") return resume(Effect.succeed(end))
      // Let what was typed last reach QEMU, then hang up; bounded, a stuck peer must not hang us.
      const timer = setTimeout(() => resume(Effect.succeed(end)), FLUSH_TIMEOUT_MS)
      socket.end(() => {
        clearTimeout(timer)
        resume(Effect.succeed(end))
      })
    }
    const onInput = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      const escape = bytes.indexOf(ESCAPE_BYTE)
      if (escape === -1) {
        socket.write(bytes)
        return
      }
      if (escape > 0) socket.write(bytes.subarray(0, escape))
      finish("detached")
    }
    const onInputEnd = () => finish("eof")
    const onSocket = (chunk: Buffer) => {
      output.write(chunk)
    }
    const onClose = () => finish("closed")
    const onError = (e: NodeJS.ErrnoException) => {
      // QEMU hanging up while we write is the machine stopping, not a failure.
      if (e.code === "EPIPE" || e.code === "ECONNRESET") return finish("closed")
      if (done) return
      done = true
      cleanup()
      resume(Effect.fail(new ConsoleIoError({ path, reason: e.message })))
    }
    socket.on("data", onSocket)
    socket.on("close", onClose)
    socket.on("error", onError)
    input.on("data", onInput)
    input.on("end", onInputEnd)
    input.resume()
    return Effect.sync(() => {
      done = true
      cleanup()
    })
  })

export const make = (options: SerialConsoleOptions = {}): SerialConsoleShape => {
  const input: ConsoleInput = options.input ?? process.stdin
  const output = options.output ?? process.stdout
  return {
    attach: traced("SerialConsole.attach")(function*(path: string, attachOptions: AttachOptions) {
      return yield* Effect.scoped(Effect.gen(function*() {
        const socket = yield* Effect.acquireRelease(connect(path, attachOptions.connectTimeout), (s) => Effect.sync(() => s.destroy()))
        yield* Effect.logDebug(`console connected to ${path}`)
        yield* attachOptions.onConnected
        if (input.isTTY === true && input.setRawMode !== undefined) {
          yield* Effect.acquireRelease(
            Effect.sync(() => input.setRawMode!(true)),
            () => Effect.sync(() => input.setRawMode!(false))
          )
        }
        // Standard input must not keep the process alive once detached.
        yield* Effect.addFinalizer(() => Effect.sync(() => {
          input.pause()
          input.unref?.()
        }))
        return yield* copy(path, socket, input, output)
      }))
    })
  }
}

/**
 * QMP client over unix stream sockets (`qmp.md` §3–§6).
 *
 * The protocol engine (`makeSession`, `makeConnect`) only needs a
 * {@link QmpTransport}: a text duplex. This module supplies one over
 * `node:net`; `QmpMemory` supplies an in-memory one backed by a simulated
 * QEMU monitor, so both run the same client code.
 *
 * Departures from the original, on purpose: the `qmp_capabilities` reply is
 * awaited (bounded) and checked; `oob` is requested only when the greeting
 * offers it; client ids are random per session; writes are serialised;
 * every wait is bounded; garbage resynchronises at the next line.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { statSync } from "node:fs"
import type * as net from "node:net"
import {
  classify,
  decodeGreeting,
  encodeCommand,
  formatMessageId,
  JsonSplitter,
  type QmpEvent,
  type QmpMessage,
  type Scanned
} from "../domain/QmpMessage.js"
import { nodeCrypto, nodeNet } from "../domain/NodeBuiltins.js"
import {
  Qmp,
  QmpCapabilitiesError,
  QmpCommandEncodeError,
  QmpCommandError,
  QmpCommandTimeoutError,
  type QmpConnectError,
  type QmpConnectOptions,
  QmpConnectionClosedError,
  QmpConnectionRefusedError,
  type QmpExecuteOptions,
  QmpGreetingError,
  QmpGreetingTimeoutError,
  QmpMalformedMessagesError,
  QmpNoSocketError,
  type QmpSession,
  type QmpSessionError,
  type QmpShape,
  QmpSocketConnectError,
  QmpSocketNotFoundError
} from "../services/Qmp.js"
import { traced } from "./Traced.js"

// ---------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------

/** One read from a transport. After `End` or `Error` nothing more arrives. */
export type TransportRead =
  | { readonly _tag: "Data"; readonly text: string }
  | { readonly _tag: "End" }
  | { readonly _tag: "Error"; readonly detail: string; readonly cause?: unknown }

/** A connected text duplex carrying QMP. */
export interface QmpTransport {
  /** Waits for the next chunk or the end. */
  readonly read: Effect.Effect<TransportRead>
  /** Writes all of `text`; completes when handed to the peer. */
  readonly write: (text: string) => Effect.Effect<void, QmpConnectionClosedError>
  /** Closes the connection (idempotent). */
  readonly close: Effect.Effect<void>
}

/** Opens a transport to one path; the transport is closed with the scope. */
export type OpenTransport = (
  path: string,
  connectTimeout: Duration.Duration
) => Effect.Effect<
  QmpTransport,
  QmpSocketNotFoundError | QmpConnectionRefusedError | QmpSocketConnectError,
  Scope.Scope
>

// ---------------------------------------------------------------------------
// Session engine
// ---------------------------------------------------------------------------

export const DEFAULT_GREETING_TIMEOUT = Duration.seconds(1)
export const DEFAULT_CAPABILITIES_TIMEOUT = Duration.seconds(5)
export const DEFAULT_COMMAND_TIMEOUT = Duration.seconds(30)
/** The session closes after this many consecutive undecodable values. */
export const MAX_CONSECUTIVE_MALFORMED = 10
/** Events kept for the first subscriber (oldest dropped beyond this). */
export const MAX_BACKLOG = 1024

type Reply = Extract<QmpMessage, { _tag: "Reply" }>
type ListenerItem = { readonly _tag: "Event"; readonly event: QmpEvent } | {
  readonly _tag: "End"
  readonly error: QmpSessionError
}

const randomClientId = (): bigint => {
  const words = new Uint32Array(2)
  nodeCrypto().randomFillSync(words)
  return (BigInt(words[0]!) << 32n) | BigInt(words[1]!)
}

/** Ends that are normal for event streams and `closed`. */
const isCleanEnd = (e: QmpSessionError): boolean =>
  e._tag === "QmpConnectionClosedError" && (e.reason === "eof" || e.reason === "client")

export interface SessionTimeouts {
  readonly greetingTimeout: Duration.Duration
  readonly capabilitiesTimeout: Duration.Duration
  readonly commandTimeout: Duration.Duration
}

/**
 * Runs the QMP client protocol over a connected transport: reads the
 * greeting (bounded), negotiates capabilities (bounded, reply checked),
 * then serves commands and events until the transport ends or the scope
 * closes.
 */
export const makeSession = (
  path: string,
  transport: QmpTransport,
  timeouts: SessionTimeouts
): Effect.Effect<QmpSession, QmpGreetingTimeoutError | QmpGreetingError | QmpCapabilitiesError, Scope.Scope> =>
  Effect.gen(function*() {
    const clientId = randomClientId()
    let sequence = 0
    let ended: QmpSessionError | undefined = undefined
    let greetingSeen = false
    let malformed = 0
    const pending = new Map<number, Deferred.Deferred<Reply, QmpSessionError>>()
    const listeners = new Set<Queue.Queue<ListenerItem>>()
    // Events that arrive before the first subscription (e.g. right after the
    // capabilities reply) are kept for the first subscriber.
    let backlog: Array<ListenerItem> | undefined = []
    const splitter = new JsonSplitter()
    const greeting = yield* Deferred.make<Scanned, QmpGreetingError>()
    const closed = yield* Deferred.make<void, QmpSessionError>()
    const writeLock = yield* Effect.makeSemaphore(1)

    const terminate = (error: QmpSessionError): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (ended !== undefined) return Effect.void
        ended = error
        const waiters = [...pending.values()]
        pending.clear()
        const queues = [...listeners]
        listeners.clear()
        return Effect.all([
          Effect.forEach(waiters, (d) => Deferred.fail(d, error), { discard: true }),
          Effect.forEach(queues, (q) => Queue.offer(q, { _tag: "End", error }), { discard: true }),
          Deferred.fail(greeting, new QmpGreetingError({ path, reason: error.message })),
          isCleanEnd(error) ? Deferred.succeed(closed, undefined) : Deferred.fail(closed, error),
          transport.close
        ], { discard: true })
      })

    const handle = (scanned: Scanned): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (!greetingSeen) {
          greetingSeen = true
          return Deferred.succeed(greeting, scanned)
        }
        const message = classify(scanned)
        if (message._tag === "Invalid") {
          malformed++
          return malformed >= MAX_CONSECUTIVE_MALFORMED
            ? terminate(
              new QmpMalformedMessagesError({ count: malformed, sample: message.text, reason: message.reason })
            )
            : Effect.void
        }
        malformed = 0
        switch (message._tag) {
          case "Event": {
            const item: ListenerItem = { _tag: "Event", event: message.event }
            if (backlog !== undefined) {
              backlog.push(item)
              if (backlog.length > MAX_BACKLOG) backlog.shift()
            }
            for (const q of listeners) q.unsafeOffer(item)
            return Effect.void
          }
          case "Reply": {
            if (Option.isNone(message.id) || message.id.value.client !== clientId) return Effect.void
            const key = Number(message.id.value.sequence)
            const waiter = pending.get(key)
            if (waiter === undefined) return Effect.void
            pending.delete(key)
            return Deferred.succeed(waiter, message)
          }
          case "Other":
            return Effect.void
        }
      })

    const handleAll = (values: ReadonlyArray<Scanned>) =>
      Effect.forEach(values, (v) => (ended === undefined ? handle(v) : Effect.void), { discard: true })

    const reader: Effect.Effect<void> = Effect.gen(function*() {
      while (ended === undefined) {
        const input = yield* transport.read
        switch (input._tag) {
          case "Data": {
            yield* handleAll(splitter.feed(input.text))
            break
          }
          case "End": {
            yield* handleAll(splitter.end())
            yield* terminate(new QmpConnectionClosedError({ reason: "eof", detail: "EOF" }))
            break
          }
          case "Error": {
            yield* terminate(
              new QmpConnectionClosedError({ reason: "error", detail: input.detail, cause: input.cause })
            )
            break
          }
        }
      }
    })

    const scope = yield* Effect.scope
    yield* Scope.addFinalizer(
      scope,
      terminate(new QmpConnectionClosedError({ reason: "client", detail: "closed by client" }))
    )
    yield* Effect.forkIn(reader, scope)

    const execute = traced("Qmp.execute")(function*(
      command: string,
      args?: Readonly<Record<string, unknown>>,
      options?: QmpExecuteOptions
    ) {
      const timeout = options?.timeout === undefined ? timeouts.commandTimeout : Duration.decode(options.timeout)
      const seq = ++sequence
      const line = encodeCommand(command, args, formatMessageId(clientId, seq))
      if (Either.isLeft(line)) return yield* new QmpCommandEncodeError({ command, reason: line.left })
      const waiter = yield* Deferred.make<Reply, QmpSessionError>()
      const alreadyEnded = ended
      if (alreadyEnded !== undefined) return yield* Effect.fail(alreadyEnded)
      pending.set(seq, waiter)
      const reply = yield* writeLock.withPermits(1)(transport.write(line.right)).pipe(
        Effect.zipRight(Deferred.await(waiter)),
        Effect.timeoutFail({ duration: timeout, onTimeout: () => new QmpCommandTimeoutError({ command, timeout }) }),
        Effect.ensuring(Effect.sync(() => pending.delete(seq)))
      )
      if (reply.error !== undefined) {
        return yield* new QmpCommandError({ command, errorClass: reply.error.errorClass, desc: reply.error.desc })
      }
      return reply.returnRaw ?? ""
    })

    const subscribe: QmpSession["subscribe"] = Effect.gen(function*() {
      const queue = yield* Queue.unbounded<ListenerItem>()
      if (backlog !== undefined) {
        for (const item of backlog) queue.unsafeOffer(item)
        backlog = undefined
      }
      const endedAlready = ended
      if (endedAlready === undefined) listeners.add(queue)
      else queue.unsafeOffer({ _tag: "End", error: endedAlready })
      yield* Effect.addFinalizer(() => Effect.sync(() => listeners.delete(queue)).pipe(Effect.zipRight(queue.shutdown)))
      return Stream.repeatEffectOption(
        Effect.flatMap(Queue.take(queue), (item) =>
          item._tag === "Event"
            ? Effect.succeed(item.event)
            : isCleanEnd(item.error)
            ? Effect.fail(Option.none())
            : Effect.fail(Option.some(item.error)))
      )
    })

    // Greeting (bounded), then capabilities (bounded, checked).
    const first = yield* Deferred.await(greeting).pipe(
      Effect.timeoutFail({
        duration: timeouts.greetingTimeout,
        onTimeout: () => new QmpGreetingTimeoutError({ path, timeout: timeouts.greetingTimeout })
      })
    )
    const decoded = decodeGreeting(first)
    if (Either.isLeft(decoded)) return yield* new QmpGreetingError({ path, reason: decoded.left })
    const enable = decoded.right.capabilities.includes("oob") ? { enable: ["oob"] } : undefined
    yield* execute("qmp_capabilities", enable, { timeout: timeouts.capabilitiesTimeout }).pipe(
      Effect.mapError((e) => new QmpCapabilitiesError({ path, reason: e.message }))
    )

    const session: QmpSession = {
      path,
      greeting: decoded.right,
      execute,
      subscribe,
      closed: Deferred.await(closed)
    }
    return session
  })

/**
 * `connect` for a given transport: tries each path in order, returning the
 * first session established, or the first error (`qmp.md` §3).
 */
export const makeConnect = (open: OpenTransport): QmpShape["connect"] =>
  traced("Qmp.connect")(function*(paths: ReadonlyArray<string>, options?: QmpConnectOptions) {
    if (paths.length === 0) return yield* new QmpNoSocketError()
    const timeouts: SessionTimeouts = {
      greetingTimeout: Duration.decode(options?.greetingTimeout ?? DEFAULT_GREETING_TIMEOUT),
      capabilitiesTimeout: Duration.decode(options?.capabilitiesTimeout ?? DEFAULT_CAPABILITIES_TIMEOUT),
      commandTimeout: Duration.decode(options?.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT)
    }
    const parent = yield* Effect.scope
    let firstError: QmpConnectError | undefined = undefined
    for (const path of paths) {
      const attempt = yield* Scope.fork(parent, ExecutionStrategy.sequential)
      const result = yield* Effect.either(
        open(path, timeouts.greetingTimeout).pipe(
          Effect.flatMap((transport) => makeSession(path, transport, timeouts)),
          Scope.extend(attempt)
        )
      )
      if (Either.isRight(result)) return result.right
      yield* Scope.close(attempt, Exit.void)
      firstError ??= result.left
    }
    return yield* Effect.fail(firstError!)
  })

// ---------------------------------------------------------------------------
// node:net transport
// ---------------------------------------------------------------------------

const errnoCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Opens a unix stream socket (bounded by `connectTimeout`) and wraps it as a transport. */
export const openUnixSocket: OpenTransport = (path, connectTimeout) =>
  Effect.gen(function*() {
    const socket = yield* Effect.acquireRelease(
      Effect.async<net.Socket, QmpSocketNotFoundError | QmpConnectionRefusedError | QmpSocketConnectError>(
        (resume) => {
          // No socket file is what a machine whose QEMU has exited leaves (QEMU removes it):
          // said without loading node:net. Any other outcome is the connection's own.
          try {
            statSync(path)
          } catch (err) {
            if (errnoCode(err) === "ENOENT") return void resume(Effect.fail(new QmpSocketNotFoundError({ path, cause: err })))
          }
          const socket = nodeNet().createConnection({ path })
          const onError = (err: unknown) => {
            socket.destroy()
            const code = errnoCode(err)
            resume(Effect.fail(
              code === "ENOENT"
                ? new QmpSocketNotFoundError({ path, cause: err })
                : code === "ECONNREFUSED"
                ? new QmpConnectionRefusedError({ path, cause: err })
                : new QmpSocketConnectError({ path, reason: errorText(err), cause: err })
            ))
          }
          socket.once("error", onError)
          socket.once("connect", () => {
            socket.off("error", onError)
            resume(Effect.succeed(socket))
          })
          return Effect.sync(() => socket.destroy())
        }
      ).pipe(
        Effect.timeoutFail({
          duration: connectTimeout,
          onTimeout: () => new QmpSocketConnectError({ path, reason: "timed out" })
        })
      ),
      (socket) => Effect.sync(() => socket.destroy())
    )
    const inbox = yield* Queue.unbounded<TransportRead>()
    let finished = false
    const finish = (item: TransportRead) => {
      if (finished) return
      finished = true
      inbox.unsafeOffer(item)
    }
    socket.setEncoding("utf8")
    socket.on("data", (text: string) => {
      if (!finished) inbox.unsafeOffer({ _tag: "Data", text })
    })
    socket.on("error", (err) => finish({ _tag: "Error", detail: `read unix ${path}: ${errorText(err)}`, cause: err }))
    socket.on("end", () => finish({ _tag: "End" }))
    socket.on("close", () => finish({ _tag: "End" }))
    yield* Effect.logDebug(`QMP connected to ${path}`)
    const transport: QmpTransport = {
      read: Effect.tap(Queue.take(inbox), (item) =>
        Effect.logDebug(item._tag === "Data" ? `QMP ${path} <- ${item.text.trimEnd()}` : `QMP ${path}: ${item._tag === "End" ? "closed" : item.detail}`)),
      write: (text) =>
        Effect.zipRight(Effect.logDebug(`QMP ${path} -> ${text.trimEnd()}`), Effect.async<void, QmpConnectionClosedError>((resume) => {
          if (socket.destroyed || !socket.writable) {
            resume(Effect.fail(
              new QmpConnectionClosedError({ reason: "error", detail: `write unix ${path}: socket is closed` })
            ))
            return
          }
          socket.write(text, (err) => {
            resume(
              err === undefined || err === null
                ? Effect.void
                : Effect.fail(
                  new QmpConnectionClosedError({
                    reason: "error",
                    detail: `write unix ${path}: ${errorText(err)}`,
                    cause: err
                  })
                )
            )
          })
        })),
      close: Effect.sync(() => {
        socket.destroy()
      })
    }
    return transport
  })

/** The QMP service over unix sockets. */
export const make: Effect.Effect<QmpShape> = Effect.sync(() => ({ connect: makeConnect(openUnixSocket) }))

export const layer: Layer.Layer<Qmp> = Layer.effect(Qmp, make)

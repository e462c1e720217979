/**
 * QMP client contract (`qmp.md`): connect to one of several monitor sockets,
 * run commands correlated by id, receive events.
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"
import { formatGoDuration } from "../domain/Duration.js"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { QmpEvent, QmpGreeting } from "../domain/QmpMessage.js"
import { renderQmpError } from "../domain/QmpMessage.js"

export type { QmpEvent, QmpGreeting } from "../domain/QmpMessage.js"

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** `connect` was given no socket path. */
export class QmpNoSocketError extends LazyTaggedError<QmpNoSocketError>()("QmpNoSocketError", {}) {
  override get message(): string {
    return "no socket paths provided"
  }
}

/** The socket file does not exist (ENOENT): QEMU is not running or QMP is not configured. */
export class QmpSocketNotFoundError extends LazyTaggedError<QmpSocketNotFoundError>()("QmpSocketNotFoundError", (S) => ({
  path: S.String,
  cause: S.optional(S.Defect)
})) {
  override get message(): string {
    return `could not connect to QMP socket: dial unix ${this.path}: connect: no such file or directory`
  }
}

/** The socket file exists but nobody listens (ECONNREFUSED): a stale socket of a dead QEMU. */
export class QmpConnectionRefusedError
  extends LazyTaggedError<QmpConnectionRefusedError>()("QmpConnectionRefusedError", (S) => ({
    path: S.String,
    cause: S.optional(S.Defect)
  }))
{
  override get message(): string {
    return `could not connect to QMP socket: dial unix ${this.path}: connect: connection refused`
  }
}

/** Any other failure to open the socket (permissions, not a socket, connect timeout, ...). */
export class QmpSocketConnectError extends LazyTaggedError<QmpSocketConnectError>()("QmpSocketConnectError", (S) => ({
  path: S.String,
  reason: S.String,
  cause: S.optional(S.Defect)
})) {
  override get message(): string {
    return `could not connect to QMP socket: dial unix ${this.path}: connect: ${this.reason}`
  }
}

/**
 * No greeting within the greeting timeout. Usual cause: another client holds
 * the socket (QEMU serves one client per socket).
 */
export class QmpGreetingTimeoutError extends LazyTaggedError<QmpGreetingTimeoutError>()("QmpGreetingTimeoutError", (S) => ({
  path: S.String,
  timeout: S.DurationFromSelf
})) {
  override get message(): string {
    return `could not establish QMP session: a QMP greeting was not received within ${
      formatDuration(this.timeout)
    } on ${this.path} (is another client connected?)`
  }
}

/** The connection ended or sent something that is not a greeting. */
export class QmpGreetingError extends LazyTaggedError<QmpGreetingError>()("QmpGreetingError", (S) => ({
  path: S.String,
  reason: S.String
})) {
  override get message(): string {
    return `could not establish QMP session: failed to receive greeting on ${this.path}: ${this.reason}`
  }
}

/** `qmp_capabilities` was refused, timed out or the connection ended before its reply. */
export class QmpCapabilitiesError extends LazyTaggedError<QmpCapabilitiesError>()("QmpCapabilitiesError", (S) => ({
  path: S.String,
  reason: S.String
})) {
  override get message(): string {
    return `could not establish QMP session: capabilities negotiation failed on ${this.path}: ${this.reason}`
  }
}

/** The command was answered with a QMP error object. */
export class QmpCommandError extends LazyTaggedError<QmpCommandError>()("QmpCommandError", (S) => ({
  command: S.String,
  errorClass: S.String,
  desc: S.String
})) {
  override get message(): string {
    return renderQmpError(this.errorClass, this.desc)
  }
}

/** No reply within the command timeout (the command may still run in QEMU). */
export class QmpCommandTimeoutError extends LazyTaggedError<QmpCommandTimeoutError>()("QmpCommandTimeoutError", (S) => ({
  command: S.String,
  timeout: S.DurationFromSelf
})) {
  override get message(): string {
    return `no reply to ${this.command} within ${formatDuration(this.timeout)}`
  }
}

/** The arguments of a command could not be serialised (a bug in the caller). */
export class QmpCommandEncodeError extends LazyTaggedError<QmpCommandEncodeError>()("QmpCommandEncodeError", (S) => ({
  command: S.String,
  reason: S.String
})) {
  override get message(): string {
    return this.reason
  }
}

/**
 * The connection is gone. `reason`:
 * `eof` — QEMU closed the socket (it exited, usually);
 * `error` — a socket read/write error (`detail` has it);
 * `client` — this side closed the session.
 */
export class QmpConnectionClosedError extends LazyTaggedError<QmpConnectionClosedError>()(
  "QmpConnectionClosedError",
  (S) => ({
    reason: S.Literal("eof", "error", "client"),
    detail: S.String,
    cause: S.optional(S.Defect)
  })
) {
  override get message(): string {
    switch (this.reason) {
      case "eof":
        return "EOF"
      case "client":
        return "the QMP connection was closed by the client"
      case "error":
        return this.detail
    }
  }
}

/** The monitor sent too many consecutive values that are not QMP messages; the session was closed. */
export class QmpMalformedMessagesError extends LazyTaggedError<QmpMalformedMessagesError>()(
  "QmpMalformedMessagesError",
  (S) => ({
    count: S.Number,
    /** The last offending text (truncated). */
    sample: S.String,
    reason: S.String
  })
) {
  override get message(): string {
    return `closed the QMP connection after ${this.count} consecutive undecodable messages (last: ${this.reason}: ${
      JSON.stringify(this.sample)
    })`
  }
}

/** Why `connect` failed (the error of the first path that failed, `qmp.md` §3). */
export type QmpConnectError =
  | QmpNoSocketError
  | QmpSocketNotFoundError
  | QmpConnectionRefusedError
  | QmpSocketConnectError
  | QmpGreetingTimeoutError
  | QmpGreetingError
  | QmpCapabilitiesError

/** How a session ends, other than cleanly at EOF. Commands pending at the end fail with it. */
export type QmpSessionError = QmpConnectionClosedError | QmpMalformedMessagesError

/** Why `execute` failed. */
export type QmpExecuteError = QmpCommandError | QmpCommandTimeoutError | QmpCommandEncodeError | QmpSessionError

// ---------------------------------------------------------------------------
// Shape
// ---------------------------------------------------------------------------

export interface QmpConnectOptions {
  /** Per socket: how long to wait for the greeting (default 1 s). */
  readonly greetingTimeout?: Duration.DurationInput
  /** How long to wait for the `qmp_capabilities` reply (default 5 s). */
  readonly capabilitiesTimeout?: Duration.DurationInput
  /** Default bound on `execute`'s wait for a reply (default 30 s). */
  readonly commandTimeout?: Duration.DurationInput
}

export interface QmpExecuteOptions {
  /** Overrides the session's command timeout. */
  readonly timeout?: Duration.DurationInput
}

/**
 * A negotiated QMP session (capabilities accepted). Closed when the scope
 * given to `connect` closes.
 */
export interface QmpSession {
  /** The socket this session uses. */
  readonly path: string
  readonly greeting: QmpGreeting
  /**
   * Runs a command, waiting (bounded) for the reply with its id. Succeeds
   * with the raw JSON text of `return` exactly as received (`""` when the
   * reply has none). Writes are serialised; concurrent calls are fine.
   */
  readonly execute: (
    command: string,
    args?: Readonly<Record<string, unknown>>,
    options?: QmpExecuteOptions
  ) => Effect.Effect<string, QmpExecuteError>
  /**
   * Registers an event listener now and returns its events: every event that
   * arrives after this call (none is dropped; the buffer is unbounded); the
   * first subscriber also gets the events received since the session was
   * negotiated (up to 1024). The
   * stream ends when QEMU closes the connection (EOF) and fails with the
   * session error for any other ending. Subscribe before issuing the
   * commands whose events matter. The listener is removed when the scope closes.
   */
  readonly subscribe: Effect.Effect<Stream.Stream<QmpEvent, QmpSessionError>, never, Scope.Scope>
  /**
   * Waits until the session ends: succeeds at EOF, fails with the
   * session error otherwise. Does not itself time out.
   */
  readonly closed: Effect.Effect<void, QmpSessionError>
}

export interface QmpShape {
  /**
   * Tries `paths` in order (`qmp.md` §3): connect, read the greeting within
   * `greetingTimeout`, negotiate capabilities (waiting for and checking the
   * reply). The first path that works gives the session; when all fail, the
   * first error. The session lives until the scope closes.
   */
  readonly connect: (
    paths: ReadonlyArray<string>,
    options?: QmpConnectOptions
  ) => Effect.Effect<QmpSession, QmpConnectError, Scope.Scope>
}

export class Qmp extends Context.Tag("machina/Qmp")<Qmp, QmpShape>() {}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** Go-style rendering (`1m25s`), shared with the rest of machina. */
export const formatDuration = formatGoDuration

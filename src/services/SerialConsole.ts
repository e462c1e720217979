/**
 * Serial console contract (`machina console`): attach the terminal to a machine's console socket
 * (`console.enabled`, `<run dir>/<machine>/console.socket`) until the user detaches with the
 * escape character, input ends, or QEMU closes the socket.
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** `Ctrl-]`, as virsh, telnet and ssh's `~.` habit: the byte that detaches. */
export const ESCAPE_BYTE = 0x1d

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** The socket file does not exist (ENOENT): QEMU is not running, or was started without the console. */
export class ConsoleSocketNotFoundError extends LazyTaggedError<ConsoleSocketNotFoundError>()("ConsoleSocketNotFoundError", {
  path: Schema.String
}) {
  override get message(): string {
    return `no console socket at ${this.path}`
  }
}

/** The socket file exists but nothing listens (ECONNREFUSED): a stale socket of a QEMU that is gone. */
export class ConsoleConnectionRefusedError
  extends LazyTaggedError<ConsoleConnectionRefusedError>()("ConsoleConnectionRefusedError", { path: Schema.String })
{
  override get message(): string {
    return `nothing listens on the console socket ${this.path}`
  }
}

/** Any other failure to connect (permissions, not a socket, the connect timeout). */
export class ConsoleConnectError extends LazyTaggedError<ConsoleConnectError>()("ConsoleConnectError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot connect to the console socket ${this.path}: ${this.reason}`
  }
}

/** The connection failed while attached (not a normal close by QEMU). */
export class ConsoleIoError extends LazyTaggedError<ConsoleIoError>()("ConsoleIoError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `console connection ${this.path} failed: ${this.reason}`
  }
}

export type ConsoleAttachError = ConsoleSocketNotFoundError | ConsoleConnectionRefusedError | ConsoleConnectError | ConsoleIoError

// ---------------------------------------------------------------------------
// Contract
// ---------------------------------------------------------------------------

/**
 * How an attachment ended: `detached` (the escape character), `eof` (standard input ended, pipe
 * mode), `closed` (QEMU closed the socket: the machine stopped).
 */
export type ConsoleEnd = "detached" | "eof" | "closed"

export interface AttachOptions {
  /** Bound on connecting (a socket whose listener is wedged must not hang the command). */
  readonly connectTimeout: Duration.DurationInput
  /** Called once connected, before any byte is copied (prints the "Connected to ..." line). */
  readonly onConnected: Effect.Effect<void>
}

export interface SerialConsoleShape {
  /**
   * Connects to the unix socket at `path` and copies standard input to it and its output to
   * standard output. On a terminal, standard input is in raw mode while attached (every key goes
   * to the guest, Ctrl-C included) and restored however the attachment ends; otherwise (pipe
   * mode) input is copied as it comes until it ends. The escape byte ({@link ESCAPE_BYTE}) is
   * never sent: it detaches, in both modes.
   */
  readonly attach: (path: string, options: AttachOptions) => Effect.Effect<ConsoleEnd, ConsoleAttachError>
}

export class SerialConsole extends Context.Tag("machina/SerialConsole")<SerialConsole, SerialConsoleShape>() {}

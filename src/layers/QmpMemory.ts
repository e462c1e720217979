/**
 * An in-memory QEMU host for offline simulation: simulated QEMU processes,
 * each with its QMP monitor sockets, speaking the QMP wire protocol in QEMU's
 * own formatting. The `Qmp` service it provides runs the same client engine
 * as the unix-socket layer over in-memory transports, so everything is
 * driven by Effect's clock (deterministic under `TestClock`).
 *
 * Simulated behaviour (QEMU 7.2): greeting on connect, one client per socket
 * (a second client gets its greeting only when the first leaves), commands
 * refused before `qmp_capabilities`, events only to negotiated clients,
 * `system_powerdown` → `POWERDOWN` (the guest then powers off or ignores it),
 * `quit` → `SHUTDOWN` (host-qmp-quit) and exit, sockets removed on exit.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { JsonSplitter, memberText, type QmpVersion } from "../domain/QmpMessage.js"
import {
  Qmp,
  QmpConnectionClosedError,
  QmpConnectionRefusedError,
  type QmpShape,
  QmpSocketNotFoundError
} from "../services/Qmp.js"
import { makeConnect, type OpenTransport, type QmpTransport, type TransportRead } from "./QmpUnixSocket.js"

// ---------------------------------------------------------------------------
// Contract of the simulator
// ---------------------------------------------------------------------------

/** How the simulated guest reacts to the ACPI power button. */
export type GuestBehaviour =
  /** Powers off `delay` after the first `system_powerdown` (default 0). */
  | { readonly onPowerdown: "poweroff"; readonly delay?: Duration.DurationInput }
  /** Ignores it (no ACPI, or a hung guest). */
  | { readonly onPowerdown: "ignore" }

export interface SimulatedMachineOptions {
  /** Monitor socket paths, e.g. `/run/machina/vm/command.0.qmp.socket`. */
  readonly sockets: ReadonlyArray<string>
  readonly version?: QmpVersion
  /** Offered in the greeting (default `["oob"]`). */
  readonly capabilities?: ReadonlyArray<string>
  /** Default: powers off at once. */
  readonly guest?: GuestBehaviour
  /** After `quit`: `exit` (default) or `hang` (a stuck QEMU that never exits). */
  readonly onQuit?: "exit" | "hang"
  /** `never`: the monitor never sends its greeting (a wedged QEMU). */
  readonly greeting?: "send" | "never"
  /** Refuse `qmp_capabilities` with this error (class, desc). */
  readonly refuseCapabilities?: { readonly errorClass: string; readonly desc: string }
  /** Raw JSON return texts by command name (overrides the built-in answers). */
  readonly returns?: Readonly<Record<string, string>>
  /** Commands that are never answered. */
  readonly unanswered?: ReadonlyArray<string>
}

/** A command as received by a simulated monitor. */
export interface ReceivedCommand {
  readonly command: string
  /** Raw JSON text of `arguments`, `""` when absent. */
  readonly arguments: string
  readonly socket: string
  /** Clock time (ms) of arrival. */
  readonly at: number
}

export interface SimulatedMachine {
  /** Commands received so far, in order (including `qmp_capabilities`). */
  readonly commands: Effect.Effect<ReadonlyArray<ReceivedCommand>>
  /** Sends an event to the negotiated clients; `data` is raw JSON text. */
  readonly emit: (event: string, data?: string) => Effect.Effect<void>
  /** The guest powers itself off: `SHUTDOWN` (guest-shutdown), then QEMU exits. */
  readonly powerOff: Effect.Effect<void>
  /** QEMU dies abruptly (SIGKILL): connections drop, nothing more is sent. */
  readonly kill: Effect.Effect<void>
  readonly running: Effect.Effect<boolean>
  /** Waits until the process has exited. */
  readonly exited: Effect.Effect<void>
  /** Clock time (ms) of exit, if exited. */
  readonly exitedAt: Effect.Effect<number | undefined>
}

export interface QmpSimulatorShape {
  /** Starts a simulated QEMU process with its monitor sockets. */
  readonly addMachine: (options: SimulatedMachineOptions) => Effect.Effect<SimulatedMachine>
  /** A socket file with nobody listening (connections are refused). */
  readonly addStaleSocket: (path: string) => Effect.Effect<void>
}

export class QmpSimulator extends Context.Tag("machina/QmpSimulator")<QmpSimulator, QmpSimulatorShape>() {}

// ---------------------------------------------------------------------------
// QEMU-style JSON text
// ---------------------------------------------------------------------------

/** JSON as QEMU prints it: `{"a": 1, "b": [1, 2]}`. */
export const qemuJson = (value: unknown): string => {
  if (Array.isArray(value)) return value.length === 0 ? "[]" : `[${value.map(qemuJson).join(", ")}]`
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
    return entries.length === 0
      ? "{}"
      : `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${qemuJson(v)}`).join(", ")}}`
  }
  return JSON.stringify(value) ?? "null"
}

const DEFAULT_VERSION: QmpVersion = { major: 7, minor: 2, micro: 0, package: "Debian 1:7.2+dfsg-7" }

const CANNED_RETURNS: Readonly<Record<string, string>> = {
  "query-status": `{"status": "running", "singlestep": false, "running": true}`,
  "query-pci": qemuJson([{
    bus: 0,
    devices: [{
      bus: 0,
      qdev_id: "",
      slot: 0,
      class_info: { class: 1536, desc: "Host bridge" },
      id: { device: 10688, vendor: 32902, subsystem: 4352, "subsystem-vendor": 6900 },
      function: 0,
      regions: []
    }]
  }]),
  "query-cpus-fast": qemuJson([{
    "thread-id": 4242,
    props: { "core-id": 0, "thread-id": 0, "node-id": 0, "socket-id": 0 },
    "qom-path": "/machine/unattached/device[0]",
    "cpu-index": 0,
    target: "x86_64"
  }])
}

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

interface Connection {
  readonly socket: string
  readonly inbox: Queue.Queue<TransportRead>
  readonly splitter: JsonSplitter
  active: boolean
  negotiated: boolean
  closed: boolean
}

interface MachineState {
  readonly options: SimulatedMachineOptions
  running: boolean
  exitedAt: number | undefined
  powerdownScheduled: boolean
  readonly commands: Array<ReceivedCommand>
  readonly connections: Set<Connection>
  /** Per socket: the active connection and those waiting for it. */
  readonly sockets: Map<string, Array<Connection>>
  readonly exited: Deferred.Deferred<void>
}

type SocketEntry = { readonly _tag: "Machine"; readonly machine: MachineState } | { readonly _tag: "Stale" }

/**
 * Builds the simulated host: its `Qmp` service and its control surface.
 * Delayed guest actions run in fibers owned by the current scope.
 */
export const make: Effect.Effect<{ readonly qmp: QmpShape; readonly simulator: QmpSimulatorShape }, never, Scope.Scope> =
  Effect.gen(function*() {
    const registry = yield* Ref.make(new Map<string, SocketEntry>())
    const fibers = yield* FiberSet.make()

    const send = (conn: Connection, text: string) => {
      if (!conn.closed) conn.inbox.unsafeOffer({ _tag: "Data", text: text + "\r\n" })
    }

    const greet = (machine: MachineState, conn: Connection) => {
      conn.active = true
      if (machine.options.greeting === "never") return
      send(
        conn,
        qemuJson({
          QMP: {
            version: {
              qemu: {
                micro: (machine.options.version ?? DEFAULT_VERSION).micro,
                minor: (machine.options.version ?? DEFAULT_VERSION).minor,
                major: (machine.options.version ?? DEFAULT_VERSION).major
              },
              package: (machine.options.version ?? DEFAULT_VERSION).package
            },
            capabilities: machine.options.capabilities ?? ["oob"]
          }
        })
      )
    }

    const eventText = (event: string, data: string | undefined) =>
      Effect.map(Clock.currentTimeMillis, (ms) => {
        const seconds = Math.floor(ms / 1000)
        const microseconds = (ms % 1000) * 1000
        return `{"timestamp": {"seconds": ${seconds}, "microseconds": ${microseconds}}, "event": ${
          JSON.stringify(event)
        }${data === undefined || data === "" ? "" : `, "data": ${data}`}}`
      })

    const broadcast = (machine: MachineState, event: string, data?: string) =>
      Effect.map(eventText(event, data), (text) => {
        if (!machine.running) return
        for (const c of machine.connections) if (c.negotiated && c.active) send(c, text)
      })

    const disconnect = (machine: MachineState, conn: Connection) => {
      if (conn.closed) return
      conn.closed = true
      machine.connections.delete(conn)
      const queue = machine.sockets.get(conn.socket)
      if (queue === undefined) return
      const index = queue.indexOf(conn)
      if (index >= 0) queue.splice(index, 1)
      const next = queue[0]
      if (conn.active && next !== undefined && machine.running) greet(machine, next)
    }

    const exit = (machine: MachineState) =>
      Effect.gen(function*() {
        if (!machine.running) return
        machine.running = false
        machine.exitedAt = yield* Clock.currentTimeMillis
        for (const c of [...machine.connections]) {
          c.inbox.unsafeOffer({ _tag: "End" })
          c.closed = true
        }
        machine.connections.clear()
        yield* Ref.update(registry, (m) => {
          const next = new Map(m)
          for (const path of machine.sockets.keys()) {
            const entry = next.get(path)
            if (entry?._tag === "Machine" && entry.machine === machine) next.delete(path)
          }
          return next
        })
        yield* Deferred.succeed(machine.exited, undefined)
      })

    const powerOff = (machine: MachineState) =>
      Effect.gen(function*() {
        if (!machine.running) return
        yield* broadcast(machine, "SHUTDOWN", `{"guest": true, "reason": "guest-shutdown"}`)
        yield* exit(machine)
      })

    const reply = (conn: Connection, id: string | undefined, body: string) =>
      send(conn, `{${body}${id === undefined ? "" : `, "id": ${id}`}}`)

    const replyError = (conn: Connection, id: string | undefined, errorClass: string, desc: string) =>
      reply(conn, id, `"error": {"class": ${JSON.stringify(errorClass)}, "desc": ${JSON.stringify(desc)}}`)

    /** Serves one request; `idText` is the raw id JSON (echoed back verbatim, as QEMU does). */
    const serve = (machine: MachineState, conn: Connection, command: string, args: string, idText: string | undefined) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        machine.commands.push({ command, arguments: args, socket: conn.socket, at })
        const options = machine.options
        if (!conn.negotiated) {
          if (command !== "qmp_capabilities") {
            return replyError(
              conn,
              idText,
              "CommandNotFound",
              "Expecting capabilities negotiation with 'qmp_capabilities'"
            )
          }
          if (options.refuseCapabilities !== undefined) {
            return replyError(conn, idText, options.refuseCapabilities.errorClass, options.refuseCapabilities.desc)
          }
          const offered = options.capabilities ?? ["oob"]
          const wanted = args === "" ? [] : ((JSON.parse(args) as { enable?: Array<string> }).enable ?? [])
          const missing = wanted.find((c) => !offered.includes(c))
          if (missing !== undefined) {
            return replyError(conn, idText, "GenericError", `Capability '${missing}' not available`)
          }
          conn.negotiated = true
          return reply(conn, idText, `"return": {}`)
        }
        if (options.unanswered?.includes(command) === true) return
        const canned = options.returns?.[command]
        if (canned !== undefined) return reply(conn, idText, `"return": ${canned}`)
        switch (command) {
          case "qmp_capabilities":
            return replyError(conn, idText, "CommandNotFound", "Capabilities negotiation is already complete, command ignored")
          case "system_powerdown": {
            reply(conn, idText, `"return": {}`)
            yield* broadcast(machine, "POWERDOWN")
            const guest = options.guest ?? { onPowerdown: "poweroff" }
            if (guest.onPowerdown === "poweroff" && !machine.powerdownScheduled) {
              machine.powerdownScheduled = true
              yield* FiberSet.run(fibers, Effect.sleep(guest.delay ?? 0).pipe(Effect.zipRight(powerOff(machine))))
            }
            return
          }
          case "system_reset": {
            // QEMU answers, then reports the reset (guest: false when the host asked for it).
            reply(conn, idText, `"return": {}`)
            yield* broadcast(machine, "RESET", `{"guest": false, "reason": "host-qmp-system-reset"}`)
            return
          }
          case "quit": {
            reply(conn, idText, `"return": {}`)
            yield* broadcast(machine, "SHUTDOWN", `{"guest": false, "reason": "host-qmp-quit"}`)
            if ((options.onQuit ?? "exit") === "exit") yield* exit(machine)
            return
          }
          default: {
            const builtIn = CANNED_RETURNS[command]
            if (builtIn !== undefined) return reply(conn, idText, `"return": ${builtIn}`)
            return replyError(conn, idText, "CommandNotFound", `The command ${command} has not been found`)
          }
        }
      })

    const receive = (machine: MachineState, conn: Connection, text: string) =>
      Effect.gen(function*() {
        for (const value of conn.splitter.feed(text)) {
          if (!machine.running || conn.closed) return
          if (value._tag !== "Json" || value.members === undefined) {
            replyError(conn, undefined, "GenericError", "JSON parse error, invalid message")
            continue
          }
          const executeText = memberText(value, "execute")
          const idText = memberText(value, "id")
          const name = executeText === undefined ? undefined : (JSON.parse(executeText) as unknown)
          if (typeof name !== "string") {
            replyError(conn, idText, "GenericError", "QMP input lacks member 'execute'")
            continue
          }
          yield* serve(machine, conn, name, memberText(value, "arguments") ?? "", idText)
        }
      })

    const open: OpenTransport = (path) =>
      Effect.gen(function*() {
        const entry = (yield* Ref.get(registry)).get(path)
        if (entry === undefined) return yield* new QmpSocketNotFoundError({ path })
        if (entry._tag === "Stale") return yield* new QmpConnectionRefusedError({ path })
        const machine = entry.machine
        const conn: Connection = {
          socket: path,
          inbox: yield* Queue.unbounded<TransportRead>(),
          splitter: new JsonSplitter(),
          active: false,
          negotiated: false,
          closed: false
        }
        machine.connections.add(conn)
        const queue = machine.sockets.get(path)!
        queue.push(conn)
        if (queue.length === 1) greet(machine, conn)
        const close = Effect.sync(() => disconnect(machine, conn))
        yield* Effect.addFinalizer(() => close)
        const transport: QmpTransport = {
          read: Queue.take(conn.inbox),
          write: (text) =>
            Effect.suspend(() =>
              conn.closed
                ? Effect.fail(new QmpConnectionClosedError({ reason: "error", detail: `write unix ${path}: broken pipe` }))
                : conn.active
                ? receive(machine, conn, text)
                : Effect.void // QEMU does not read from a client it is not serving yet
            ),
          close
        }
        return transport
      })

    const simulator: QmpSimulatorShape = {
      addMachine: (options) =>
        Effect.gen(function*() {
          const machine: MachineState = {
            options,
            running: true,
            exitedAt: undefined,
            powerdownScheduled: false,
            commands: [],
            connections: new Set(),
            sockets: new Map(options.sockets.map((s) => [s, []])),
            exited: yield* Deferred.make<void>()
          }
          yield* Ref.update(registry, (m) => {
            const next = new Map(m)
            for (const s of options.sockets) next.set(s, { _tag: "Machine", machine })
            return next
          })
          const handle: SimulatedMachine = {
            commands: Effect.sync(() => [...machine.commands]),
            emit: (event, data) => broadcast(machine, event, data),
            powerOff: powerOff(machine),
            kill: exit(machine),
            running: Effect.sync(() => machine.running),
            exited: Deferred.await(machine.exited),
            exitedAt: Effect.sync(() => machine.exitedAt)
          }
          return handle
        }),
      addStaleSocket: (path) =>
        Ref.update(registry, (m) => new Map(m).set(path, { _tag: "Stale" }))
    }

    return { qmp: { connect: makeConnect(open) }, simulator }
  })

/** Provides `Qmp` (in memory) and `QmpSimulator` to script the simulated host. */
export const layer: Layer.Layer<Qmp | QmpSimulator> = Layer.scopedContext(
  Effect.map(make, ({ qmp, simulator }) => Context.make(Qmp, qmp).pipe(Context.add(QmpSimulator, simulator)))
)

import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as QmpUnixSocket from "../../src/layers/QmpUnixSocket.js"
import { Qmp, type QmpConnectOptions } from "../../src/services/Qmp.js"

// A scriptable fake QEMU monitor on a real unix socket.

const GREETING =
  `{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}\r\n`

interface Request {
  readonly execute: string
  readonly arguments?: unknown
  readonly id: string
}

interface FakeClient {
  readonly socket: net.Socket
  readonly requests: Array<Request>
  readonly send: (text: string) => void
  readonly reply: (req: Request, body: string) => void
}

interface FakeOptions {
  /** Send the greeting on connect (default true). */
  readonly greet?: boolean
  /** Answer requests; the default answers `{"return": {}}`. Return true when handled. */
  readonly onRequest?: (req: Request, client: FakeClient) => boolean | void
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "machina-qmp-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const fakeQemu = (dir: string, name: string, options: FakeOptions = {}) =>
  Effect.acquireRelease(
    Effect.async<{ readonly path: string; readonly server: net.Server; readonly clients: Array<FakeClient> }>(
      (resume) => {
        const socketPath = path.join(dir, name)
        const clients: Array<FakeClient> = []
        const server = net.createServer((socket) => {
          const client: FakeClient = {
            socket,
            requests: [],
            send: (text) => {
              if (!socket.destroyed) socket.write(text)
            },
            reply: (req, body) => client.send(`{${body}, "id": ${JSON.stringify(req.id)}}\r\n`)
          }
          clients.push(client)
          socket.on("error", () => {})
          let buffered = ""
          socket.setEncoding("utf8")
          socket.on("data", (chunk: string) => {
            buffered += chunk
            let nl: number
            while ((nl = buffered.indexOf("\n")) >= 0) {
              const line = buffered.slice(0, nl)
              buffered = buffered.slice(nl + 1)
              const req = JSON.parse(line) as Request
              client.requests.push(req)
              if (options.onRequest?.(req, client) !== true) client.reply(req, `"return": {}`)
            }
          })
          if (options.greet ?? true) client.send(GREETING)
        })
        server.listen(socketPath, () => resume(Effect.succeed({ path: socketPath, server, clients })))
      }
    ),
    ({ clients, server }) =>
      Effect.async<void>((resume) => {
        for (const c of clients) c.socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )

const connect = (paths: ReadonlyArray<string>, options?: QmpConnectOptions) =>
  Effect.flatMap(Qmp, (qmp) => qmp.connect(paths, options))

const live = <A, E>(effect: Effect.Effect<A, E, Qmp | import("effect/Scope").Scope>) =>
  effect.pipe(Effect.provide(QmpUnixSocket.layer))

describe("QmpUnixSocket", () => {
  it.scopedLive("negotiates capabilities with oob, as the original does", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock")
      const session = yield* connect([fake.path])
      assert.strictEqual(session.path, fake.path)
      assert.deepStrictEqual(session.greeting.capabilities, ["oob"])
      const [first] = fake.clients[0]!.requests
      assert.strictEqual(first?.execute, "qmp_capabilities")
      assert.deepStrictEqual(first?.arguments, { enable: ["oob"] })
      assert.match(first!.id, /^machina\.\d+\.1$/)
      assert.strictEqual(yield* session.execute("query-status"), "{}")
      assert.match(fake.clients[0]!.requests[1]!.id, /^machina\.\d+\.2$/)
    })))

  it.scopedLive("delivers events interleaved with replies and keeps raw data", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", {
        onRequest: (req, client) => {
          if (req.execute !== "system_powerdown") return false
          client.send(`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "POWERDOWN"}\r\n`)
          client.reply(req, `"return": {}`)
          client.send(
            `{"timestamp": {"seconds": 1, "microseconds": 3}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}\r\n`
          )
          setTimeout(() => client.socket.end(), 20)
          return true
        }
      })
      const session = yield* connect([fake.path])
      const events = yield* session.subscribe
      const collected = yield* Effect.fork(Stream.runCollect(events))
      yield* session.execute("system_powerdown")
      const all = Chunk.toArray(yield* Fiber.join(collected))
      assert.deepStrictEqual(all.map((e) => [e.event, e.data]), [
        ["POWERDOWN", ""],
        ["SHUTDOWN", `{"guest": true, "reason": "guest-shutdown"}`]
      ])
      assert.deepStrictEqual(all[1]?.timestamp, { seconds: 1, microseconds: 3 })
      yield* session.closed
    })))

  it.scopedLive("reassembles a reply split across reads, even inside a UTF-8 character", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", {
        onRequest: (req, client) => {
          if (req.execute !== "query-name") return false
          const bytes = Buffer.from(`{"return": {"name": "vm-é"}, "id": ${JSON.stringify(req.id)}}\r\n`)
          const cut = bytes.indexOf(0xc3) + 1 // between the two bytes of "é"
          client.socket.write(bytes.subarray(0, 5))
          setTimeout(() => client.socket.write(bytes.subarray(5, cut)), 15)
          setTimeout(() => client.socket.write(bytes.subarray(cut)), 30)
          return true
        }
      })
      const session = yield* connect([fake.path])
      assert.strictEqual(yield* session.execute("query-name"), `{"name": "vm-é"}`)
    })))

  it.scopedLive("handles several messages in one write", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", {
        onRequest: (req, client) => {
          if (req.execute === "qmp_capabilities") {
            // Reply and two events in one write, right after negotiation.
            client.send(
              `{"return": {}, "id": ${JSON.stringify(req.id)}}\r\n{"event": "RESUME"}\r\n{"event": "STOP"}\r\n`
            )
            return true
          }
          if (req.execute === "query-x") {
            client.send(`{"event": "A"}\r\n{"return": 1, "id": ${JSON.stringify(req.id)}}\r\n{"event": "B"}\r\n`)
            setTimeout(() => client.socket.end(), 20)
            return true
          }
          return false
        }
      })
      const session = yield* connect([fake.path])
      const events = yield* session.subscribe
      assert.strictEqual(yield* session.execute("query-x"), "1")
      const names = Chunk.toArray(yield* Stream.runCollect(events)).map((e) => e.event)
      // Events that arrived before the first subscription are kept for it.
      assert.deepStrictEqual(names, ["RESUME", "STOP", "A", "B"])
    })))

  it.scopedLive("skips garbage lines and foreign ids", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", {
        onRequest: (req, client) => {
          if (req.execute !== "query-y") return false
          client.send(`this is not json\r\n[1, 2]\r\n{"return": "other", "id": "libvirt-3"}\r\n`)
          client.send(`{"return": "wrong client", "id": "machina.1.2"}\r\n{"broken": tru\r\n`)
          client.reply(req, `"return": "mine"`)
          return true
        }
      })
      const session = yield* connect([fake.path])
      assert.strictEqual(yield* session.execute("query-y"), `"mine"`)
    })))

  it.scopedLive("gives up after 10 consecutive undecodable values", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", {
        onRequest: (req, client) => {
          if (req.execute !== "query-z") return false
          client.send(Array.from({ length: 12 }, (_, i) => `garbage ${i}\r\n`).join(""))
          return true
        }
      })
      const session = yield* connect([fake.path])
      const events = yield* session.subscribe
      const error = yield* Effect.flip(session.execute("query-z"))
      assert.strictEqual(error._tag, "QmpMalformedMessagesError")
      assert.match(error.message, /10 consecutive undecodable messages.*garbage 9/)
      const streamEnd = yield* Effect.either(Stream.runDrain(events))
      assert.isTrue(Either.isLeft(streamEnd))
      // Later commands fail at once with the same error.
      assert.strictEqual((yield* Effect.flip(session.execute("query-status")))._tag, "QmpMalformedMessagesError")
    })))

  it.scopedLive("fails a pending command at EOF instead of hanging", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", {
        onRequest: (req, client) => {
          if (req.execute !== "query-slow") return false
          client.socket.destroy()
          return true
        }
      })
      const session = yield* connect([fake.path], { commandTimeout: "30 seconds" })
      const started = Date.now()
      const error = yield* Effect.flip(session.execute("query-slow"))
      assert.strictEqual(error._tag, "QmpConnectionClosedError")
      assert.strictEqual(error.message, "EOF")
      assert.isBelow(Date.now() - started, 2000)
      yield* session.closed
      assert.strictEqual((yield* Effect.flip(session.execute("query-status")))._tag, "QmpConnectionClosedError")
    })))

  it.scopedLive("times out a command that gets no reply", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", { onRequest: (req) => req.execute === "query-never" })
      const session = yield* connect([fake.path])
      const error = yield* Effect.flip(session.execute("query-never", undefined, { timeout: "100 millis" }))
      assert.strictEqual(error._tag, "QmpCommandTimeoutError")
      assert.strictEqual(error.message, "no reply to query-never within 100ms")
      // The session is still usable.
      assert.strictEqual(yield* session.execute("query-status"), "{}")
    })))

  it.scopedLive("correlates concurrent commands answered out of order", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const held: Array<Request> = []
      const fake = yield* fakeQemu(dir, "a.sock", {
        onRequest: (req, client) => {
          if (!req.execute.startsWith("q-")) return false
          held.push(req)
          if (held.length === 3) {
            for (const r of [...held].reverse()) client.reply(r, `"return": ${JSON.stringify(r.execute)}`)
          }
          return true
        }
      })
      const session = yield* connect([fake.path])
      const results = yield* Effect.all(
        ["q-1", "q-2", "q-3"].map((c) => session.execute(c)),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results, [`"q-1"`, `"q-2"`, `"q-3"`])
      // Each request went out as one whole line.
      assert.strictEqual(fake.clients[0]!.requests.length, 4)
    })))

  it.scopedLive("times out a missing greeting, then tries the next socket", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const busy = yield* fakeQemu(dir, "busy.sock", { greet: false })
      const good = yield* fakeQemu(dir, "good.sock")
      const started = Date.now()
      const session = yield* connect([busy.path, good.path], { greetingTimeout: "200 millis" })
      assert.strictEqual(session.path, good.path)
      assert.isAtLeast(Date.now() - started, 190)
      const error = yield* Effect.flip(connect([busy.path], { greetingTimeout: "200 millis" }))
      assert.strictEqual(error._tag, "QmpGreetingTimeoutError")
      assert.include(error.message, "a QMP greeting was not received within 200ms")
    })))

  it.scopedLive("reports a missing socket clearly, and the first error when all fail", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const missing = path.join(dir, "command.0.qmp.socket")
      const stale = path.join(dir, "command.1.qmp.socket")
      fs.writeFileSync(stale, "")
      const error = yield* Effect.flip(connect([missing, stale]))
      assert.strictEqual(error._tag, "QmpSocketNotFoundError")
      assert.strictEqual(
        error.message,
        `could not connect to QMP socket: dial unix ${missing}: connect: no such file or directory`
      )
      const refused = yield* Effect.flip(connect([stale, missing]))
      assert.strictEqual(refused._tag, "QmpConnectionRefusedError")
      assert.strictEqual((yield* Effect.flip(connect([])))._tag, "QmpNoSocketError")
    })))

  it.scopedLive("fails with a typed error when capabilities are refused", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", {
        onRequest: (req, client) => {
          client.reply(req, `"error": {"class": "GenericError", "desc": "Capability 'oob' not available"}`)
          return true
        }
      })
      const error = yield* Effect.flip(connect([fake.path]))
      assert.strictEqual(error._tag, "QmpCapabilitiesError")
      assert.include(error.message, "GenericError error: Capability 'oob' not available")
    })))

  it.scopedLive("fails when the connection closes before the greeting", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock", { greet: false })
      fake.server.on("connection", (s) => s.end())
      const error = yield* Effect.flip(connect([fake.path]))
      assert.strictEqual(error._tag, "QmpGreetingError")
      assert.include(error.message, "EOF")
    })))

  it.scopedLive("closes the socket when the scope closes", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeQemu(dir, "a.sock")
      const exit = yield* Effect.scoped(connect([fake.path])).pipe(Effect.exit)
      assert.isTrue(Exit.isSuccess(exit))
      const client = fake.clients[0]!
      yield* Effect.async<void>((resume) => {
        if (client.socket.readableEnded || client.socket.destroyed) resume(Effect.void)
        else client.socket.once("close", () => resume(Effect.void))
      }).pipe(Effect.timeout("2 seconds"))
    })))
})

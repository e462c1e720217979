/**
 * `machina console`: its errors in-process over a simulated host, and the attachment itself over
 * a real unix socket server (what QEMU's listening chardev is) with in-memory standard streams.
 * The real guest under systemd is test/e2e/Console.test.ts.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { PassThrough } from "node:stream"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as SerialConsoleUnixSocket from "../../src/layers/SerialConsoleUnixSocket.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { runCli } from "../support/Cli.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "machina-console-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const store = ConfigStoreMemory.layer({
  location: "/etc/machina",
  host: { storage: {}, network: {}, tag: { serial: { attrs: { console: { enabled: true } } } } },
  machines: {
    "plain-vm": { attrs: { memory: { ram: 512 } } },
    "console-vm": { tags: ["serial"], attrs: { memory: { ram: 512 } } }
  }
})

describe("machina console: errors", () => {
  it.effect("a machine without the console attribute: which attribute, then generate and restart", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["console", "plain-vm"], Layer.merge(store, SystemdMemory.layer({})))
      expect(r.stdout).toBe("")
      expect(r.stderr).toBe(
        'machina: error: plain-vm has no serial console: set "attrs": {"console": {"enabled": true}} in /etc/machina/machine.conf.d/plain-vm.conf.json ' +
          "(or in one of its tags), then run: machina generate plain-vm && machina restart plain-vm\n"
      )
      expect(r.exitCode).toBe(1)
    }))

  it.effect("a machine that is not running: says so as the other commands do, exit 1", () =>
    Effect.gen(function*() {
      process.env["MACHINA_RUN_DIR"] = dir
      try {
        const stopped = SystemdMemory.layer({ units: [{ name: "machina-console-vm.service", activeState: "inactive" }] })
        const r = yield* runCli(["console", "console-vm"], Layer.merge(store, stopped))
        expect(r.stdout).toBe("")
        expect(r.stderr).toBe("console-vm is not running (machina-console-vm.service is inactive)\n")
        expect(r.exitCode).toBe(1)
        // Running (as far as systemd knows) but without the socket: started before the attribute was set.
        const running = SystemdMemory.layer({ units: [{ name: "machina-console-vm.service", activeState: "active" }] })
        const r2 = yield* runCli(["console", "console-vm"], Layer.merge(store, running))
        expect(r2.stderr).toBe(
          `console-vm: no console socket at ${dir}/console-vm/console.socket; if console-vm was started before console.enabled was set, ` +
            "run: machina generate console-vm && machina restart console-vm\n"
        )
        expect(r2.exitCode).toBe(1)
      } finally {
        delete process.env["MACHINA_RUN_DIR"]
      }
    }))

  it.effect("a bad --connect-timeout is a usage error", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["console", "--connect-timeout", "soon", "console-vm"], store)
      expect(r.exitCode).toBe(2)
      expect(r.stderr).toMatch(/--connect-timeout/)
    }))
})

/** A listening unix socket like QEMU's console chardev; `sockets` are the accepted connections. */
const server = (name: string) =>
  Effect.acquireRelease(
    Effect.async<{ path: string; sockets: Array<net.Socket>; received: () => string }>((resume) => {
      const socketPath = path.join(dir, name)
      const sockets: Array<net.Socket> = []
      let received = ""
      const srv = net.createServer((s) => {
        sockets.push(s)
        s.on("data", (b) => (received += b.toString("latin1")))
        s.on("error", () => {})
      })
      srv.listen(socketPath, () => resume(Effect.succeed({ path: socketPath, sockets, received: () => received, srv })))
    }),
    (s) => Effect.sync(() => {
      for (const c of s.sockets) c.destroy()
      ;(s as unknown as { srv: net.Server }).srv.close()
    })
  )

const until = (what: string, check: () => boolean) =>
  Effect.async<void, Error>((resume) => {
    const started = Date.now()
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer)
        resume(Effect.void)
      } else if (Date.now() - started > 5000) {
        clearInterval(timer)
        resume(Effect.fail(new Error(`timed out waiting for ${what}`)))
      }
    }, 10)
    return Effect.sync(() => clearInterval(timer))
  })

/** Standard input as a terminal would be: records raw-mode switches. */
const ttyInput = () => {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode: (raw: boolean) => void; modes: Array<boolean> }
  input.isTTY = true
  input.modes = []
  input.setRawMode = (raw: boolean) => input.modes.push(raw)
  return input
}

describe("SerialConsoleUnixSocket", () => {
  it.scoped("copies both ways on a terminal in raw mode; Ctrl-] detaches unsent and restores the terminal", () =>
    Effect.gen(function*() {
      const srv = yield* server("tty.sock")
      const input = ttyInput()
      const output = new PassThrough()
      let shown = ""
      output.on("data", (b: Buffer) => (shown += b.toString()))
      let connected = 0
      const attached = yield* Effect.fork(SerialConsoleUnixSocket.make({ input, output }).attach(srv.path, {
        connectTimeout: "2 seconds",
        onConnected: Effect.sync(() => connected++)
      }))
      yield* until("the connection", () => srv.sockets.length === 1)
      srv.sockets[0]!.write("login: ")
      yield* until("guest output", () => shown === "login: ")
      expect(input.modes).toEqual([true])
      input.write("root\r")
      yield* until("the input", () => srv.received() === "root\r")
      input.write(Buffer.from([0x61, 0x1d, 0x62]))
      const end = yield* attached.await
      expect(end._tag === "Success" && end.value).toBe("detached")
      expect(connected).toBe(1)
      // The byte before ^] went out, ^] and what followed did not.
      yield* until("the last byte", () => srv.received() === "root\ra")
      expect(input.modes).toEqual([true, false])
    }))

  it.scoped("pipe mode: no raw mode, input copied until it ends; a closing socket ends the attachment", () =>
    Effect.gen(function*() {
      const srv = yield* server("pipe.sock")
      const input = new PassThrough()
      const output = new PassThrough()
      const console = SerialConsoleUnixSocket.make({ input, output })
      const attached = yield* Effect.fork(console.attach(srv.path, { connectTimeout: "2 seconds", onConnected: Effect.void }))
      yield* until("the connection", () => srv.sockets.length === 1)
      input.end("echo hi\n")
      expect(yield* attached.await).toMatchObject({ _tag: "Success", value: "eof" })
      yield* until("the input", () => srv.received() === "echo hi\n")

      const again = yield* Effect.fork(SerialConsoleUnixSocket.make({ input: new PassThrough(), output }).attach(srv.path, {
        connectTimeout: "2 seconds",
        onConnected: Effect.void
      }))
      yield* until("the second connection", () => srv.sockets.length === 2)
      srv.sockets[1]!.end()
      expect(yield* again.await).toMatchObject({ _tag: "Success", value: "closed" })
    }))

  it.effect("a missing socket is a typed error naming the path", () =>
    Effect.gen(function*() {
      const missing = path.join(dir, "missing.sock")
      const e = yield* Effect.flip(SerialConsoleUnixSocket.make({ input: new PassThrough(), output: new PassThrough() }).attach(missing, {
        connectTimeout: "1 second",
        onConnected: Effect.void
      }))
      expect(e._tag).toBe("ConsoleSocketNotFoundError")
      expect(e.message).toBe(`no console socket at ${missing}`)
    }))
})

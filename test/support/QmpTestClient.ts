/**
 * A minimal QMP client for tests (independent of the product's client): connect to a unix
 * socket, read the greeting, negotiate capabilities, run commands matched by `id`, skip events.
 * Every wait is bounded.
 */
import * as net from "node:net"

export class QmpTestError extends Error {}

export class QmpTestClient {
  private buffer = ""
  private readonly messages: Array<Record<string, unknown>> = []
  private waiter: (() => void) | undefined
  private closed = false
  private nextId = 0

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      this.buffer += chunk
      let nl: number
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, nl).trim()
        this.buffer = this.buffer.slice(nl + 1)
        if (line !== "") this.messages.push(JSON.parse(line) as Record<string, unknown>)
      }
      this.wake()
    })
    const end = () => {
      this.closed = true
      this.wake()
    }
    socket.on("close", end)
    socket.on("error", end)
  }

  private wake(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  /** Waits for the first message matching `pick`, removing it from the queue. */
  private async next(pick: (m: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.messages.findIndex(pick)
      if (i >= 0) return this.messages.splice(i, 1)[0]!
      if (this.closed) throw new QmpTestError(`QMP connection closed while waiting for ${what}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new QmpTestError(`timed out after ${timeoutMs} ms waiting for ${what}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  /** Connects, reads the greeting and sends `qmp_capabilities`. */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpTestClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(path)
      const timer = setTimeout(() => {
        s.destroy()
        reject(new QmpTestError(`timed out connecting to ${path}`))
      }, timeoutMs)
      s.once("connect", () => {
        clearTimeout(timer)
        resolve(s)
      })
      s.once("error", (e) => {
        clearTimeout(timer)
        reject(e)
      })
    })
    const client = new QmpTestClient(socket)
    try {
      await client.next((m) => "QMP" in m, timeoutMs, "the QMP greeting")
      await client.execute("qmp_capabilities", undefined, timeoutMs)
      return client
    } catch (e) {
      client.close()
      throw e
    }
  }

  /** Runs a command and returns its `return` value; a QMP error is thrown. */
  async execute(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    const id = `t${this.nextId++}`
    this.socket.write(JSON.stringify({ execute: command, ...(args !== undefined ? { arguments: args } : {}), id }) + "\n")
    const reply = await this.next((m) => m["id"] === id, timeoutMs, `the reply to ${command}`)
    if ("error" in reply) throw new QmpTestError(`${command}: ${JSON.stringify(reply["error"])}`)
    return reply["return"]
  }

  close(): void {
    this.socket.destroy()
  }
}

/**
 * ConsoleFd (the hooks' Console on descriptors 1 and 2), in child processes whose stdout and stderr
 * are pipes, as the journal's socket is for a hook: the bytes are those of Effect's default
 * console, written without reading `process.stdout` or `process.stderr` (which would create
 * Node's streams), and output a full non-blocking pipe cannot take goes through Node's stream,
 * complete and in order.
 */
import { describe, expect, it } from "vitest"
import { spawn, spawnSync } from "node:child_process"
import { join } from "node:path"
import { REPO } from "../support/Bundle.js"

const CONSOLE_FD = join(REPO, "src/layers/ConsoleFd.ts")

/** Runs `body` (an Effect program using `Console` and `Effect`, with `withFd` applied) in a child. */
const script = (body: string, fd: boolean) => `
  import * as Console from "effect/Console"
  import * as Effect from "effect/Effect"
  import * as ConsoleFd from ${JSON.stringify(CONSOLE_FD)}
  const withFd = ${fd ? "Effect.withConsole(ConsoleFd.make())" : "(e) => e"}
  ${body.replace("WATCH", fd ? "ConsoleFd.watchStdio()" : "")}
`

const runChild = (body: string, fd: boolean) =>
  spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script(body, fd)], {
    cwd: REPO,
    encoding: "utf8",
    timeout: 60_000
  })

describe("ConsoleFd", () => {
  it("writes what Effect's default console writes, without reading process.stdout or process.stderr", { timeout: 120_000 }, () => {
    const body = `
      const created = []
      for (const name of ["stdout", "stderr"]) {
        const property = Object.getOwnPropertyDescriptor(process, name)
        Object.defineProperty(process, name, { ...property, get() { created.push(name); return property.get.call(this) } })
      }
      WATCH
      const program = Effect.gen(function*() {
        yield* Console.log("plain", 42, { a: [1, "x"] }, null)
        yield* Console.log("%s has %d taps", "test-vm", 2)
        yield* Console.error("vm.0: failed:", new Map([["k", 1]]))
        yield* Console.info("info")
        yield* Console.warn("warn")
        yield* Console.debug("debug")
        yield* Console.withGroup(Effect.zipRight(Console.log("indented"), Console.error("indented error")), { label: "group" })
        yield* Console.log("after")
      })
      await Effect.runPromise(withFd(program))
      // Whether a stream was made for the output (Effect's default console makes both).
      if (created.length > 0) process.exitCode = CREATED
    `
    const ours = runChild(body.replace("CREATED", "9"), true)
    const reference = runChild(body.replace("CREATED", "0"), false)
    expect(reference.status).toBe(0)
    expect(ours.status).toBe(0)
    expect(ours.stdout).toBe(reference.stdout)
    expect(ours.stderr).toBe(reference.stderr)
    // Not vacuous: both printed the lines, the group indented.
    expect(ours.stdout).toContain("test-vm has 2 taps\n")
    expect(ours.stdout).toContain("  indented\n")
    expect(ours.stderr).toContain("  indented error\n")
  })

  it("queues what a full non-blocking pipe cannot take in Node's stream: all of it arrives, in order", { timeout: 120_000 }, async () => {
    // Reading process.stdout makes a pipe non-blocking (libuv), here before ConsoleFd watches (as
    // another process sharing the pipe could); the reader starts late, so the pipe fills and
    // writeSync meets EAGAIN.
    const body = `
      void process.stdout
      WATCH
      const lines = Array.from({ length: 2000 }, (_, i) => String(i).padStart(6, "0") + " " + "x".repeat(500))
      await Effect.runPromise(withFd(Effect.forEach(lines, (line) => Console.log(line), { discard: true })))
      process.stderr.write("queued " + (process.stdout.writableLength > 0) + "\\n")
    `
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script(body, true)], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d })
    child.stdout.pause()
    await new Promise((resolve) => setTimeout(resolve, 3000))
    let stdout = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d })
    child.stdout.resume()
    const status = await new Promise((resolve) => child.on("close", resolve))
    expect(status).toBe(0)
    expect(stderr).toBe("queued true\n")
    const lines = stdout.split("\n")
    expect(lines.pop()).toBe("")
    expect(lines.length).toBe(2000)
    lines.forEach((line, i) => expect(line.slice(0, 6)).toBe(String(i).padStart(6, "0")))
  })
})

/**
 * The full CLI of dist/machina.cjs ends its process as soon as a command is done (src/bin.ts),
 * except while output to a pipe is still pending: a reader that is slow to take a long output
 * still gets all of it, with the command's exit status.
 */
import { describe, expect, it } from "vitest"
import { spawn, spawnSync } from "node:child_process"
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUNDLE, REPO } from "../support/Bundle.js"

const { NODE_OPTIONS: _, MACHINA_BUNDLE: __, ...env } = process.env
// `args` of the same machine many times: several hundred KB, far more than a pipe holds.
const argv = [BUNDLE, "--config-dir", join(REPO, "examples/seed"), "args", ...Array.from({ length: 100 }, () => "test-vm")]

/** The output written to a file (Node writes files synchronously): what a pipe must carry too. */
const toFile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "machina-exit-"))
  try {
    const file = join(dir, "out")
    const fd = openSync(file, "w")
    try {
      const r = spawnSync(process.execPath, argv, { env, stdio: ["ignore", fd, "pipe"], timeout: 120_000 })
      expect(r.status, String(r.stderr)).toBe(0)
    } finally {
      closeSync(fd)
    }
    return readFileSync(file, "utf8")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Runs the command with stdout on a pipe nobody reads for `delayMs`, then reads it all. */
const throughSlowPipe = (delayMs: number) =>
  new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env, stdio: ["ignore", "pipe", "ignore"] })
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000)
    const chunks: Array<Buffer> = []
    child.stdout.pause()
    setTimeout(() => {
      child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk))
      child.stdout.resume()
    }, delayMs)
    child.on("error", reject)
    child.on("close", (status) => {
      clearTimeout(timer)
      resolve({ status, stdout: Buffer.concat(chunks).toString("utf8") })
    })
  })

describe("dist/machina.cjs full CLI exit", () => {
  it("gives a slow pipe reader the whole output and the exit status", { timeout: 240_000 }, async () => {
    const expected = toFile()
    expect(expected.length).toBeGreaterThan(256 * 1024)
    expect(expected.split("\n").filter((l) => l === "----test-vm----")).toHaveLength(100)
    const piped = await throughSlowPipe(1000)
    expect(piped.status).toBe(0)
    expect(piped.stdout.length).toBe(expected.length)
    expect(piped.stdout).toBe(expected)
  })
})

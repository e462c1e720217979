/**
 * What a person at a terminal sees, on a real pseudo-terminal (Python's pty module), and what a
 * script sees through pipes: `--all` asks for confirmation (no = nothing done, yes = done; no
 * terminal without --yes = refused), and long waits show one progress line on stderr that never
 * reaches pipes. The executable runs over a simulated host (configuration and systemd in memory)
 * whose journal says what was done.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { buildSimulatedCli } from "../support/SimulatedCli.js"
import { runOnPty } from "../support/Pty.js"

const machine = { attrs: { memory: { ram: 512 } } }
let cli = ""
let work = ""

beforeAll(async () => {
  cli = await buildSimulatedCli()
  work = mkdtempSync(join(tmpdir(), "machina-terminal-"))
}, 120_000)

afterAll(() => {
  if (cli !== "") rmSync(dirname(cli), { recursive: true, force: true })
  if (work !== "") rmSync(work, { recursive: true, force: true })
})

/** A simulated host with two running machines; each stop job takes `stopTakes`. */
const hostFiles = (name: string, stopTakes?: string) => {
  const hostFile = join(work, `${name}.json`)
  const journal = join(work, `${name}.journal.json`)
  writeFileSync(hostFile, JSON.stringify({
    host: { storage: {}, network: {} },
    machines: { web: machine, db: machine },
    units: ["web", "db"].map((m) => ({
      name: `machina-${m}.service`,
      activeState: "active",
      ...(stopTakes === undefined ? {} : { jobDuration: stopTakes })
    }))
  }))
  return { env: { MACHINA_SIM_HOST: hostFile, MACHINA_SIM_JOURNAL: journal, TERM: "xterm" }, journal }
}

const journalOf = (file: string): ReadonlyArray<{ operation: string; unit: string }> => JSON.parse(readFileSync(file, "utf8"))

describe("--all on a terminal", () => {
  it("answering n stops nothing and exits 1", async () => {
    const { env, journal } = hostFiles("declined")
    const r = await runOnPty([process.execPath, cli, "stop", "--all"], { env, answers: [{ after: "[y/N] ", send: "n\r" }] })
    expect(r.output).toContain("Stop all 2 machines (db, web)? [y/N] ")
    expect(r.output).toContain("machina: error: stop --all: not confirmed; nothing was done")
    expect(r.output).not.toContain("stopped")
    expect(r.exitCode).toBe(1)
    expect(journalOf(journal)).toEqual([])
  }, 60_000)

  it("answering y stops every machine", async () => {
    const { env, journal } = hostFiles("confirmed")
    const r = await runOnPty([process.execPath, cli, "stop", "--all"], { env, answers: [{ after: "[y/N] ", send: "y\r" }] })
    expect(r.output).toContain("db: stopped")
    expect(r.output).toContain("web: stopped")
    expect(r.exitCode).toBe(0)
    expect(journalOf(journal).map((j) => `${j.operation} ${j.unit}`).sort()).toEqual(["stop machina-db.service", "stop machina-web.service"])
  }, 60_000)

  it("the end of the input (Ctrl-D) is a no", async () => {
    const { env, journal } = hostFiles("eof")
    const r = await runOnPty([process.execPath, cli, "kill", "--all"], { env, answers: [{ after: "[y/N] ", send: "\x04" }] })
    expect(r.output).toContain("machina: error: kill --all: not confirmed; nothing was done")
    expect(r.exitCode).toBe(1)
    expect(journalOf(journal)).toEqual([])
  }, 60_000)

  it("Ctrl-C at the question is a no", async () => {
    const { env, journal } = hostFiles("interrupt")
    const r = await runOnPty([process.execPath, cli, "restart", "--all"], { env, answers: [{ after: "[y/N] ", send: "\x03" }] })
    expect(r.output).toContain("machina: error: restart --all: not confirmed; nothing was done")
    expect(r.exitCode).toBe(1)
    expect(journalOf(journal)).toEqual([])
  }, 60_000)

  it("without a terminal and without --yes, refuses with a clear message", () => {
    const { env, journal } = hostFiles("piped")
    const r = spawnSync(process.execPath, [cli, "stop", "--all"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 })
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe(
      "machina: error: stop --all would act on every machine (db, web) and there is no terminal to ask; nothing was done. Pass --yes to confirm\n"
    )
    expect(r.status).toBe(1)
    expect(journalOf(journal)).toEqual([])
    const yes = spawnSync(process.execPath, [cli, "stop", "--all", "--yes"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 })
    expect(yes.status).toBe(0)
    expect(journalOf(journal)).toHaveLength(2)
  }, 60_000)
})

describe("progress of long waits", () => {
  it("on a terminal, stop shows what it waits for and how long is left, then erases the line", async () => {
    const { env } = hostFiles("progress", "2500 millis")
    const r = await runOnPty([process.execPath, cli, "stop", "--timeout", "1m15s", "web"], { env })
    expect(r.exitCode).toBe(0)
    expect(r.output).toContain("\r\x1b[2Kstopping web: waiting for the guest to power off (1m15s left)")
    // Redrawn every second with the time left.
    expect(r.output).toMatch(/\r\x1b\[2Kstopping web: waiting for the guest to power off \(1m1[34]s left\)/)
    // Erased before the result is printed (the result line is clean), and at the end.
    expect(r.output).toMatch(/\r\x1b\[2Kweb: stopped\r\n/)
    expect(r.output.endsWith("\r\x1b[2K")).toBe(true)
  }, 60_000)

  it("with TERM=dumb, or through pipes, there is no progress at all", async () => {
    const { env } = hostFiles("dumb", "1500 millis")
    const dumb = await runOnPty([process.execPath, cli, "stop", "web"], { env: { ...env, TERM: "dumb" } })
    expect(dumb.exitCode).toBe(0)
    expect(dumb.output).toBe("web: stopped\r\n")

    const piped = spawnSync(process.execPath, [cli, "stop", "db"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 })
    expect(piped.status).toBe(0)
    expect(piped.stdout).toBe("db: stopped\n")
    expect(piped.stderr).toBe("")
  }, 60_000)
})

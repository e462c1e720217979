/**
 * `machina console` under a real systemd (test/support/Sandbox.ts), driven by the real bundle
 * installed inside the sandbox: the tiny guest (TCG) with `console.enabled`, started by its
 * generated unit, whose kernel and init use ttyS0, the ISA serial port on the console socket.
 *
 * - Before the unit exists, and while it is inactive: the product's "not running" line, exit 1; a
 *   machine without the attribute: which attribute to set.
 * - In pipe mode (no terminal), attached while the guest boots: a typed line comes back.
 * - On a real terminal (a pty made by util-linux `script`; the command line it runs is a constant,
 *   the machine's name travels in the environment): "Connected to ..." is shown, a line typed
 *   reaches the guest and its tty echoes it back, Ctrl-] detaches with status 0 and the terminal is
 *   back in canonical mode (`stty -a` run in the same pty afterwards).
 * - The guest kept running throughout: same QEMU PID, and a graceful stop (ACPI power-off that
 *   the guest's init acts on) still succeeds; a console attached meanwhile ends with status 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import * as fs from "node:fs"
import { waitForPowerButton } from "../support/GuestAcpi.js"
import { pollUntil } from "../support/Poll.js"
import { startSandbox } from "../support/Sandbox.js"
import type { Sandbox } from "../support/Sandbox.js"
import { GUEST_READY } from "../support/TinyGuest.js"
import { installMachina, provisionTinyHost, showExec, TINY_BOOT } from "../support/TinyHost.js"

const MACHINE = "delta"
const PLAIN = "epsilon"
const UNIT = `machina-${MACHINE}.service`
const SOCKET = `/run/machina/${MACHINE}/console.socket`
const ESCAPE = "\x1d"

const machineConfig = (id: string, console: boolean) => ({
  id,
  attrs: { memory: { ram: 256 }, qmp: { enabled: true }, ...(console ? { console: { enabled: true } } : {}), boot: TINY_BOOT }
})

/** A process inside the sandbox with streaming stdin/stdout (Sandbox.exec only collects at the end). */
interface Attached {
  readonly child: ChildProcessWithoutNullStreams
  readonly output: () => string
  readonly waitFor: (what: string, test: (output: string) => boolean, timeoutMs: number) => Promise<void>
  readonly exit: Promise<number | null>
}

const attach = (sandbox: Sandbox, argv: ReadonlyArray<string>, env: Readonly<Record<string, string>>): Attached => {
  const child = spawn("nsenter", ["-t", String(sandbox.pid), "-a", "--", ...argv], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (b: Buffer) => (output += b.toString("latin1")))
  child.stderr.on("data", (b: Buffer) => (output += b.toString("latin1")))
  // Bounded: whatever happens, the process does not outlive the test by more than this.
  const killer = setTimeout(() => child.kill("SIGKILL"), 120_000)
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => {
    clearTimeout(killer)
    resolve(code)
  }))
  return {
    child,
    output: () => output,
    waitFor: (what, test, timeoutMs) => pollUntil(what, async () => (test(output) ? true : undefined), {
      timeoutMs,
      intervalMs: 50,
      diagnostics: async () => JSON.stringify(output)
    }).then(() => undefined),
    exit
  }
}

/** Resolves with the exit status, or fails after `timeoutMs`. */
const exitWithin = (a: Attached, timeoutMs: number): Promise<number | null> =>
  Promise.race([
    a.exit,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms; output: ${JSON.stringify(a.output())}`)), timeoutMs))
  ])

/** Types a line until the guest's tty echoes it back (input sent before its tty opened is lost). */
const typeUntilEchoed = async (a: Attached, line: string, timeoutMs: number) => {
  const echoed = new RegExp(`${line}\\r*\\n`)
  const started = Date.now()
  while (!echoed.test(a.output())) {
    if (Date.now() - started > timeoutMs) throw new Error(`the guest did not echo ${line} within ${timeoutMs} ms; output: ${JSON.stringify(a.output())}`)
    a.child.stdin.write(`${line}\r`)
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

describe("machina console under a real systemd", () => {
  let sandbox: Sandbox | undefined
  const box = (): Sandbox => {
    if (sandbox === undefined) throw new Error("the sandbox did not boot")
    return sandbox
  }
  const machina = async (args: ReadonlyArray<string>, code = 0) => {
    const r = await box().exec(["machina", ...args], { timeoutMs: 150_000 })
    expect(r.code, `machina ${args.join(" ")}\n${showExec(r)}`).toBe(code)
    return r
  }
  const prop = async (name: string) => (await box().execOk(["systemctl", "show", "-p", name, "--value", UNIT])).trim()

  beforeAll(async () => {
    sandbox = await startSandbox()
    await installMachina(sandbox)
    await provisionTinyHost(sandbox, {
      machines: {
        [MACHINE]: machineConfig("3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e21", true),
        [PLAIN]: machineConfig("3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e22", false)
      }
    })
  }, 180_000)

  afterAll(async () => {
    await sandbox?.stop()
  }, 60_000)

  it("says what is missing before the machine runs", async () => {
    const noUnit = await machina(["console", MACHINE], 1)
    expect(noUnit.stderr).toBe(`${MACHINE} is not running (${UNIT} does not exist; run: machina generate ${MACHINE})\n`)
    await machina(["generate", MACHINE])
    const inactive = await machina(["console", MACHINE], 1)
    expect(inactive.stdout).toBe("")
    expect(inactive.stderr).toBe(`${MACHINE} is not running (${UNIT} is inactive)\n`)
    const plain = await machina(["console", PLAIN], 1)
    expect(plain.stderr).toContain(`machina: error: ${PLAIN} has no serial console: set "attrs": {"console": {"enabled": true}}`)
    expect(plain.stderr).toContain(`then run: machina generate ${PLAIN} && machina restart ${PLAIN}`)
  }, 60_000)

  it("attaches a terminal and a pipe to the guest's ttyS0; Ctrl-] detaches and the guest runs on", async () => {
    await machina(["start", MACHINE])
    await pollUntil(`QEMU to create ${SOCKET}`, async () => (fs.existsSync(box().hostPathOf(SOCKET)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 })
    // Pipe mode, attached while the guest boots: its init's ready line arrives on the console
    // when the attachment wins the race against the boot (not asserted: timing); the tty's echo
    // of a typed line is the guest's output in any case.
    const early = attach(box(), ["machina", "console", MACHINE], {})
    await early.waitFor("the connected line", (o) => o.includes(`Connected to ${MACHINE}'s console (escape character is ^])`), 30_000)
    await typeUntilEchoed(early, "machina-pipe-probe", 120_000)
    if (!early.output().includes(GUEST_READY)) console.info(`attached after the guest printed ${GUEST_READY}`)
    early.child.stdin.write(ESCAPE)
    expect(await exitWithin(early, 15_000), early.output()).toBe(0)
    const pid = await prop("MainPID")
    // Make sure the guest's ACPI button is live for the graceful stop at the end.
    await waitForPowerButton(box().hostPathOf(`/run/machina/${MACHINE}/command.1.qmp.socket`), 90_000)

    // A real terminal: raw mode while attached, canonical mode again after Ctrl-].
    const tty = attach(
      box(),
      ["script", "-q", "-e", "-c", 'machina console "$MACHINA_TEST_VM"; status=$?; echo "stty: $(stty -a)"; exit $status', "/dev/null"],
      { MACHINA_TEST_VM: MACHINE }
    )
    await tty.waitFor("the connected line", (o) => o.includes(`Connected to ${MACHINE}'s console (escape character is ^])`), 30_000)
    await typeUntilEchoed(tty, "machina-tty-probe", 30_000)
    tty.child.stdin.write(ESCAPE)
    expect(await exitWithin(tty, 15_000), tty.output()).toBe(0)
    const stty = /stty: ([^\n]*\n[\s\S]*)$/.exec(tty.output())?.[1] ?? ""
    expect(stty, tty.output()).toMatch(/(^|\s)icanon(\s|$)/)
    expect(stty).toMatch(/(^|\s)echo(\s|$)/)

    // The guest ran on: same QEMU, still active, and it still powers off gracefully on ACPI.
    expect(await prop("ActiveState")).toBe("active")
    expect(await prop("MainPID")).toBe(pid)
    // Attached while the machine stops: QEMU closes the socket, the console says so and exits 0.
    const last = attach(box(), ["machina", "console", MACHINE], {})
    await last.waitFor("the connected line", (o) => o.includes(`Connected to ${MACHINE}'s console`), 30_000)
    const stopped = await machina(["stop", MACHINE])
    expect(stopped.stdout).toBe(`${MACHINE}: stopped\n`)
    expect(await prop("Result")).toBe("success")
    expect(await exitWithin(last, 15_000), last.output()).toBe(0)
    expect(last.output()).toContain(`${MACHINE}'s console was closed by QEMU (the machine stopped)`)
  }, 400_000)
})

/**
 * Spawns a real `qemu-system-x86_64` for tests (arguments array, never a
 * shell) under TCG, with QMP sockets laid out like the generated unit:
 * `<dir>/systemd.0.qmp.socket`, `<dir>/command.0.qmp.socket`,
 * `<dir>/command.1.qmp.socket` (chardevs `qmp.0`…`qmp.2`, `server=on,wait=off`),
 * and the serial console written to `<dir>/serial.log`.
 *
 * Cleanup kills the process by its PID (SIGKILL) and removes the directory.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { TINY_GUEST_APPEND } from "./TinyGuest.js"

export interface QemuSpawnOptions {
  /** Boot this kernel and initramfs; without it QEMU runs with no guest code. */
  readonly guest?: { readonly kernel: string; readonly initrd: string; readonly append?: string }
  /** Start with the CPU stopped (`-S`); default: true without a guest, false with one. */
  readonly paused?: boolean
  /** Memory in MiB (default 256). */
  readonly memory?: number
  readonly extraArgs?: ReadonlyArray<string>
  /** How long to wait for the QMP sockets to appear (default 10 s). */
  readonly startTimeoutMs?: number
}

export interface QemuSockets {
  readonly systemd0: string
  readonly command0: string
  readonly command1: string
}

export interface QemuExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** `performance.now()` when Node saw the exit. */
  readonly at: number
}

export interface QemuProcess {
  readonly pid: number
  readonly dir: string
  readonly sockets: QemuSockets
  readonly serialLog: string
  /** Settles when the process has exited. */
  readonly exited: Promise<QemuExit>
  /** True until the process has exited. */
  readonly running: () => boolean
  /** The serial console output so far. */
  readonly serial: () => string
  /** Waits until `marker` appears in the serial log (substring); rejects on timeout or exit. */
  readonly waitForMarker: (marker: string, timeoutMs?: number) => Promise<void>
  /** Sends a signal to this process (by PID) if it still runs. */
  readonly signal: (signal: NodeJS.Signals) => void
  /** Kills the process (SIGKILL, by PID) if it still runs, waits for it, removes the directory. */
  readonly cleanup: () => Promise<void>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Builds the QEMU argument list. */
export const qemuArgs = (dir: string, options: QemuSpawnOptions): Array<string> => {
  const args = [
    "-nodefaults",
    "-no-user-config",
    "-machine",
    "q35",
    "-accel",
    "tcg",
    "-m",
    String(options.memory ?? 256),
    "-display",
    "none",
    "-chardev",
    `file,id=ser0,path=${path.join(dir, "serial.log")}`,
    "-serial",
    "chardev:ser0"
  ]
  ;["systemd.0", "command.0", "command.1"].forEach((name, i) => {
    args.push(
      "-chardev",
      `socket,id=qmp.${i},path=${path.join(dir, `${name}.qmp.socket`)},server=on,wait=off`,
      "-mon",
      `chardev=qmp.${i},mode=control`
    )
  })
  if (options.guest !== undefined) {
    args.push(
      "-kernel",
      options.guest.kernel,
      "-initrd",
      options.guest.initrd,
      "-append",
      options.guest.append ?? `${TINY_GUEST_APPEND} panic=-1`,
      "-no-reboot"
    )
  }
  if (options.paused ?? options.guest === undefined) args.push("-S")
  args.push(...(options.extraArgs ?? []))
  return args
}

/** Starts QEMU and waits until its three QMP sockets exist. */
export const startQemu = async (options: QemuSpawnOptions = {}): Promise<QemuProcess> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "machina-qemu-"))
  const sockets: QemuSockets = {
    systemd0: path.join(dir, "systemd.0.qmp.socket"),
    command0: path.join(dir, "command.0.qmp.socket"),
    command1: path.join(dir, "command.1.qmp.socket")
  }
  const serialLog = path.join(dir, "serial.log")
  let child: ChildProcess
  try {
    child = spawn("qemu-system-x86_64", qemuArgs(dir, options), { stdio: ["ignore", "ignore", "pipe"] })
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }
  let stderr = ""
  child.stderr?.on("data", (b: Buffer) => {
    if (stderr.length < 16_384) stderr += b.toString()
  })
  let alive = true
  const exited = new Promise<QemuExit>((resolve) => {
    child.on("exit", (code, signal) => {
      alive = false
      resolve({ code, signal, at: performance.now() })
    })
    child.on("error", () => {
      alive = false
      resolve({ code: null, signal: null, at: performance.now() })
    })
  })
  const pid = child.pid
  const signal = (sig: NodeJS.Signals) => {
    if (alive && pid !== undefined) process.kill(pid, sig)
  }
  const cleanup = async () => {
    signal("SIGKILL")
    await Promise.race([exited, sleep(5000)])
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const serial = () => {
    try {
      return fs.readFileSync(serialLog, "utf8")
    } catch {
      return ""
    }
  }
  const waitForMarker = async (marker: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const text = serial()
      if (text.includes(marker)) return
      if (!alive) throw new Error(`QEMU exited before printing ${JSON.stringify(marker)}; serial:\n${text}\n${stderr}`)
      if (Date.now() > deadline) {
        throw new Error(`no ${JSON.stringify(marker)} within ${timeoutMs} ms; serial:\n${text.slice(-2000)}`)
      }
      await sleep(25)
    }
  }

  if (pid === undefined) {
    await cleanup()
    throw new Error(`qemu-system-x86_64 did not start: ${stderr}`)
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000)
  while (!Object.values(sockets).every((s) => fs.existsSync(s))) {
    if (!alive || Date.now() > deadline) {
      await cleanup()
      throw new Error(`QEMU did not create its QMP sockets: ${stderr}`)
    }
    await sleep(10)
  }
  return {
    pid,
    dir,
    sockets,
    serialLog,
    exited,
    running: () => alive,
    serial,
    waitForMarker,
    signal,
    cleanup
  }
}

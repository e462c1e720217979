/**
 * `machina run` with real QEMU (TCG) booting the tiny ACPI guest directly from kernel and initrd
 * located through a storage pool; `machina shutdown --wait` from a second process powers it off,
 * and `run` returns 0 after its teardown.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ensureTinyGuest, TINY_GUEST_APPEND } from "../support/TinyGuest.js"
import { BUNDLE } from "../support/Bundle.js"

const bundle = BUNDLE
let dir: string
let env: NodeJS.ProcessEnv
let child: ChildProcess | undefined

const waitFor = async (what: string, check: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe("run", () => {
  beforeAll(async () => {
    const guest = await ensureTinyGuest()
    dir = mkdtempSync(join(tmpdir(), "machina-run-e2e-"))
    mkdirSync(join(dir, "etc/machine.conf.d"), { recursive: true })
    mkdirSync(join(dir, "boot"))
    copyFileSync(guest.kernel, join(dir, "boot/tiny.vmlinuz"))
    copyFileSync(guest.initrd, join(dir, "boot/tiny.initrd"))
    writeFileSync(join(dir, "etc/machina.conf.json"), JSON.stringify({
      accelerator: "tcg",
      storage: { boot: { path: join(dir, "boot"), pattern: "${volume}", type: "firmware", readonly: true } }
    }))
    writeFileSync(join(dir, "etc/machine.conf.d/tiny.conf.json"), JSON.stringify({
      id: "00000000-0000-0000-0000-0000000000aa",
      attrs: {
        memory: { ram: 256 },
        qmp: { enabled: true },
        boot: { kernel: { name: "tiny.vmlinuz", storage: "boot" }, initrd: { name: "tiny.initrd", storage: "boot" }, append: TINY_GUEST_APPEND }
      }
    }))
    env = { ...process.env, MACHINA_RUN_DIR: join(dir, "run"), MACHINA_CONFIG_DIR: join(dir, "etc") }
  }, 180_000)

  afterAll(() => {
    if (child?.pid !== undefined && child.exitCode === null) child.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  })

  it("runs QEMU in the foreground until the guest powers off over ACPI", async () => {
    child = spawn(process.execPath, [bundle, "run", "tiny"], { env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout!.on("data", (d) => (output += String(d)))
    child.stderr!.on("data", (d) => (output += String(d)))
    const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)))
    const socket = join(dir, "run/tiny/command.0.qmp.socket")
    await waitFor(`${socket} (output so far: ${output})`, () => existsSync(socket), 30_000)
    // While it runs, a second run (or a teardown by hand) refuses and changes nothing.
    for (const command of ["run", "teardown"]) {
      const again = spawnSync(process.execPath, [bundle, command, "tiny"], { env, encoding: "utf8", timeout: 30_000 })
      expect(again.stderr).toContain(`machina: error: ${command} tiny: refused: another machina (pid ${child.pid}) holds the machine; nothing was changed.`)
      expect(again.stdout).toBe("")
      expect(again.status).toBe(1)
    }
    expect(existsSync(socket)).toBe(true)
    expect(child.exitCode).toBeNull()
    const shutdown = spawnSync(process.execPath, [bundle, "shutdown", "--wait", "--repeat", "2s", "--timeout", "150s", "tiny"], {
      env,
      encoding: "utf8",
      timeout: 180_000 // a loaded 2-core machine can take over a minute to boot the guest under TCG
    })
    expect(shutdown.stderr).toBe("")
    expect(shutdown.stdout).toContain(`tiny: SHUTDOWN: {"guest": true, "reason": "guest-shutdown"}`)
    expect(shutdown.stdout).toContain("tiny: QMP socket closed. Shutdown complete.")
    expect(shutdown.status).toBe(0)
    const code = await Promise.race([exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000))])
    expect(code, output).toBe(0)
  }, 300_000)

  it("fails with the generator's problems before starting anything", () => {
    writeFileSync(join(dir, "etc/machine.conf.d/bad.conf.json"), JSON.stringify({ attrs: { qmp: { enabled: true } } }))
    const r = spawnSync(process.execPath, [bundle, "run", "bad"], { env, encoding: "utf8", timeout: 30_000 })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/bad\.conf\.json: \$\.attrs\.memory\.ram: /)
    expect(existsSync(join(dir, "run/bad"))).toBe(false)
  })
})

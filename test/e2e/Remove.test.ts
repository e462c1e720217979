/**
 * `machina remove` under a real systemd (test/support/Sandbox.ts), driven by the real bundle
 * installed inside the sandbox: a running machine is refused, `--stop` stops it (gracefully, the
 * tiny guest powers off on ACPI), disables it, deletes its unit and a companion unit, systemd
 * reloads (the unit is not-found afterwards), the runtime directory is gone, and the machine file
 * and the disk image are byte-identical. A second run finds nothing to do.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { waitForPowerButton } from "../support/GuestAcpi.js"
import { pollUntil } from "../support/Poll.js"
import { startSandbox } from "../support/Sandbox.js"
import type { Sandbox } from "../support/Sandbox.js"
import { DISK_DIR, installMachina, provisionTinyHost, showExec, tinyMachineConfig } from "../support/TinyHost.js"

const UNIT_DIR = "/etc/systemd/system"
const MACHINE = "gamma"
const UNIT = `machina-${MACHINE}.service`
const COMPANION = `machina-swtpm-${MACHINE}.service`
const MACHINE_FILE = `/etc/machina/machine.conf.d/${MACHINE}.conf.json`
const DISK = `${DISK_DIR}/${MACHINE}-os.raw`

const MACHINE_CONFIG = tinyMachineConfig("3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e07", "remove me")

describe("remove under a real systemd", () => {
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
  const prop = async (unit: string, name: string) => (await box().execOk(["systemctl", "show", "-p", name, "--value", unit])).trim()
  const sha = async (file: string) => (await box().execOk(["sha256sum", file])).split(" ")[0]
  const exists = async (file: string) => (await box().exec(["test", "-e", file])).code === 0

  beforeAll(async () => {
    sandbox = await startSandbox()
    await installMachina(sandbox)
    await provisionTinyHost(sandbox, { machines: { [MACHINE]: MACHINE_CONFIG }, disks: [`${MACHINE}-os.raw`] })
  }, 180_000)

  afterAll(async () => {
    await sandbox?.stop()
  }, 60_000)

  it("refuses a running machine, removes it with --stop, keeps its file and disk, and is idempotent", async () => {
    await machina(["generate", MACHINE])
    // A companion unit as another feature would write it (a TPM emulator).
    await box().writeFile(`${UNIT_DIR}/${COMPANION}`, "[Unit]\nDescription=companion\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n")
    await box().execOk(["systemctl", "daemon-reload"])
    await machina(["enable", MACHINE])
    await box().execOk(["systemctl", "enable", COMPANION])
    await machina(["start", MACHINE])
    await box().execOk(["systemctl", "start", COMPANION])
    await waitForPowerButton(box().hostPathOf(`/run/machina/${MACHINE}/command.1.qmp.socket`), 90_000)
    const fileBefore = await sha(MACHINE_FILE)
    const diskBefore = await sha(DISK)

    const refused = await machina(["remove", MACHINE], 1)
    expect(refused.stderr).toBe(`machina: error: not removing anything: machine(s) ${MACHINE} are running; stop them first or pass --stop\n`)
    expect(await prop(UNIT, "ActiveState")).toBe("active")
    expect(await exists(`${UNIT_DIR}/${UNIT}`)).toBe(true)

    const removed = await machina(["remove", "--stop", MACHINE])
    expect(removed.stdout).toContain(`${MACHINE}: stopped ${UNIT}\n`)
    expect(removed.stdout).toContain(`${MACHINE}: stopped ${COMPANION}\n`)
    expect(removed.stdout).toContain(`${MACHINE}: removed /etc/systemd/system/multi-user.target.wants/${UNIT}\n`)
    expect(removed.stdout).toContain(`${MACHINE}: deleted ${UNIT_DIR}/${UNIT}\n`)
    expect(removed.stdout).toContain(`${MACHINE}: deleted ${UNIT_DIR}/${COMPANION}\n`)
    expect(removed.stdout).toMatch(/systemd: units reloaded\n$/)

    // Units gone, and systemd reloaded: it no longer finds them and does not ask for a reload.
    expect(await exists(`${UNIT_DIR}/${UNIT}`)).toBe(false)
    expect(await exists(`${UNIT_DIR}/${COMPANION}`)).toBe(false)
    expect(await exists(`${UNIT_DIR}/multi-user.target.wants/${UNIT}`)).toBe(false)
    await pollUntil("systemd to forget the unit", async () => ((await prop(UNIT, "LoadState")) === "not-found" ? true : undefined), { timeoutMs: 10_000 })
    expect(await prop(UNIT, "ActiveState")).toBe("inactive")
    expect(await prop(COMPANION, "LoadState")).toBe("not-found")
    expect(await prop(UNIT, "NeedDaemonReload")).toBe("no")
    expect(await exists(`/run/machina/${MACHINE}`)).toBe(false)
    // Machine file and volume untouched.
    expect(await sha(MACHINE_FILE)).toBe(fileBefore)
    expect(await sha(DISK)).toBe(diskBefore)

    const again = await machina(["remove", MACHINE])
    expect(again.stdout).toBe("nothing left to remove\n")
    // The machine is still configured: plan says generate would create its unit again.
    const plan = await machina(["plan", MACHINE], 2)
    expect(plan.stdout.split("\n")[0]).toBe(`${UNIT_DIR}/${UNIT}: created`)
  }, 300_000)
})

/**
 * An unprivileged machine (`privileges.user`) under a real systemd (test/support/Sandbox.ts),
 * driven by the real bundle installed in the sandbox: its hardened unit starts the tiny guest,
 * QEMU runs as the configured user and the machine's group with empty effective and bounding
 * capability sets (read from /proc), the tap `prepare` made for the user is on the bridge,
 * `query` reaches QEMU, `systemd-analyze security` rates the loaded unit at most 2.5, and a
 * graceful ACPI stop through the (privileged) ExecStop works, after which teardown deleted the tap
 * and gave the disk its group and mode back. Guests run under TCG.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { waitForPowerButton } from "../support/GuestAcpi.js"
import { pollUntil } from "../support/Poll.js"
import { startSandbox } from "../support/Sandbox.js"
import type { Sandbox } from "../support/Sandbox.js"
import { DISK_DIR, installMachina, linkState, provisionTinyHost, showExec, TINY_BOOT, tinyHostConfig, tinyMachineConfig, unitProps } from "../support/TinyHost.js"
import { QmpTestClient } from "../support/QmpTestClient.js"
import { pinUnits } from "../support/UnitPins.js"
import type { UnitPins } from "../support/UnitPins.js"

const MACHINE = "confined"
const UNIT = `machina-${MACHINE}.service`
const USER = "machina-vm"
const DISK = `${DISK_DIR}/${MACHINE}-os.raw`
const MAX_EXPOSURE = 2.5

const HOST_CONFIG = {
  ...tinyHostConfig(),
  // Rolled out by tag, as a host would.
  tag: { unprivileged: { privileges: { user: USER } } }
}

const MACHINE_CONFIG = { ...tinyMachineConfig("3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e11", "unprivileged"), tags: ["unprivileged"] }

/** An unprivileged machine with a software TPM: its swtpm unit (state kept by systemd) starts first. */
const TPM_MACHINE = "sealed"
const TPM_CONFIG = {
  id: "3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e12",
  tags: ["unprivileged"],
  attrs: {
    memory: { ram: 128 },
    qmp: { enabled: true },
    tpm: { enabled: true },
    boot: TINY_BOOT
  }
}

/** The `Name:\tvalue` lines of /proc/<pid>/status. */
const statusFields = (text: string): Record<string, string> =>
  Object.fromEntries(text.split("\n").filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]))

describe("an unprivileged machine under a real systemd", () => {
  let sandbox: Sandbox | undefined
  let pins: UnitPins | undefined
  let uid = ""
  let gid = ""
  let qemuPid = ""

  const box = (): Sandbox => {
    if (sandbox === undefined) throw new Error("the sandbox did not boot")
    return sandbox
  }
  const machina = async (args: ReadonlyArray<string>, options: { code?: number; timeoutMs?: number } = {}) => {
    const result = await box().exec(["machina", ...args], { timeoutMs: options.timeoutMs ?? 30_000 })
    expect(result.code, `machina ${args.join(" ")}\n${showExec(result)}\n${await box().journal(UNIT)}`).toBe(options.code ?? 0)
    return result
  }
  const props = (names: ReadonlyArray<string>) => unitProps(box(), UNIT, names)
  const link = (name: string) => linkState(box(), name)

  beforeAll(async () => {
    sandbox = await startSandbox()
    const s = sandbox
    await installMachina(s)
    // The user exists only in the sandbox's overlay.
    await s.execOk(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER])
    uid = (await s.execOk(["id", "-u", USER])).trim()
    await provisionTinyHost(s, {
      host: HOST_CONFIG,
      machines: { [MACHINE]: MACHINE_CONFIG, [TPM_MACHINE]: TPM_CONFIG },
      disks: [`${MACHINE}-os.raw`]
    })
    await s.execOk(["chmod", "0600", DISK])
  }, 180_000)

  afterAll(async () => {
    try {
      pins?.release()
    } finally {
      await sandbox?.stop()
    }
  }, 60_000)

  it("checks, generates and starts the machine as its user and group, without capabilities", async () => {
    const s = box()
    const checked = await machina(["check"])
    expect(checked.stderr).toBe("")
    gid = /QEMU runs as user machina-vm and group (\d+): every file is reachable/.exec(checked.stdout)?.[1] ?? ""
    expect(gid, checked.stdout).not.toBe("")
    expect((await machina(["cat", MACHINE])).stdout).toContain(`QEMU User: ${USER}\n  QEMU Group: ${gid} (machina-${MACHINE})`)

    const generated = await machina(["generate", MACHINE])
    // systemd needs the numeric Group= in the group database: generate added it.
    expect(generated.stdout).toContain(`group machina-${MACHINE} (${gid}): created\n`)
    expect((await s.execOk(["getent", "group", gid])).trim()).toBe(`machina-${MACHINE}:x:${gid}:`)
    const unitText = await s.readFile(`/etc/systemd/system/${UNIT}`)
    expect(unitText).toContain(`User=${USER}\nGroup=${gid}\n`)
    expect(unitText).toContain(`ReadWritePaths=${DISK}\n`)
    expect(unitText).toContain("script=no,downscript=no")
    pins = await pinUnits(s.busAddress, [UNIT])

    const started = await machina(["start", MACHINE], { timeoutMs: 90_000 })
    expect(started.stdout).toBe(`${MACHINE}: started\n`)
    const p = await props(["ActiveState", "SubState", "MainPID"])
    expect(p, await s.journal(UNIT)).toMatchObject({ ActiveState: "active", SubState: "running" })
    qemuPid = p["MainPID"]!
    expect((await s.execOk(["cat", `/proc/${qemuPid}/comm`])).trim()).toBe("qemu-system-x86")

    const status = statusFields(await s.execOk(["cat", `/proc/${qemuPid}/status`]))
    // Real, effective, saved and file-system ids.
    expect(status["Uid"]!.split(/\s+/)).toEqual([uid, uid, uid, uid])
    expect(status["Gid"]!.split(/\s+/)).toEqual([gid, gid, gid, gid])
    expect(status["CapEff"]).toBe("0000000000000000")
    expect(status["CapPrm"]).toBe("0000000000000000")
    expect(status["CapBnd"]).toBe("0000000000000000")
    expect(status["CapAmb"]).toBe("0000000000000000")
    expect(status["NoNewPrivs"]).toBe("1")
    expect(status["Seccomp"]).toBe("2")

    // prepare handed the disk to the machine's group.
    expect((await s.execOk(["stat", "-c", "%g %a", DISK])).trim()).toBe(`${gid} 660`)
    // The runtime directory and its QMP sockets belong to the user.
    expect((await s.execOk(["stat", "-c", "%u %g %a", `/run/machina/${MACHINE}`])).trim()).toBe(`${uid} ${gid} 700`)
  }, 150_000)

  it("has its tap, made for the user by prepare, on the bridge", async () => {
    const tap = await link(`${MACHINE}.0`)
    expect(tap?.master).toBe("kvmbr0")
    expect(tap?.flags).toContain("UP")
    // QEMU holds it open: the carrier is on.
    expect(tap?.flags).toContain("LOWER_UP")
    const details = JSON.parse(await box().execOk(["ip", "-j", "-d", "link", "show", `${MACHINE}.0`])) as Array<{ linkinfo?: { info_data?: { user?: string; group?: string; type?: string } } }>
    const info = details[0]?.linkinfo?.info_data
    expect(info?.type).toBe("tap")
    expect([info?.user, info?.group]).toEqual([USER, `machina-${MACHINE}`])
    expect(await box().journal(UNIT)).toContain(`${MACHINE}: ${MACHINE}.0: created for ${USER}, enabled on kvmbr0`)
  }, 30_000)

  it("answers QMP queries through root's machina", async () => {
    const text = (await machina(["query", "pci", MACHINE])).stdout
    expect(text).toContain("Ethernet controller")
  }, 30_000)

  it("rates the loaded unit at most 2.5 with systemd-analyze security", async () => {
    const out = await box().execOk(["systemd-analyze", "security", "--no-pager", UNIT])
    const exposure = Number(/Overall exposure level for .*: (\d+\.\d+)/.exec(out)?.[1])
    console.info(`systemd-analyze security ${UNIT}: ${exposure}`)
    expect(exposure, out).toBeLessThanOrEqual(MAX_EXPOSURE)
  }, 30_000)

  it("stops gracefully through ExecStop, and teardown deletes the tap and restores the disk", async () => {
    const s = box()
    await waitForPowerButton(s.hostPathOf(`/run/machina/${MACHINE}/command.1.qmp.socket`), 60_000)
    expect((await machina(["stop", MACHINE], { timeoutMs: 120_000 })).stdout).toBe(`${MACHINE}: stopped\n`)
    const p = await props(["ActiveState", "Result", "ExecMainCode", "ExecMainStatus", "ExecStop", "ExecStopPost"])
    const journal = await pollUntil("the deactivation in the journal", async () => {
      const j = await s.journal(UNIT)
      return j.includes(`${UNIT}: Deactivated successfully.`) ? j : undefined
    }, { timeoutMs: 10_000 })
    const context = `${JSON.stringify(p, null, 2)}\n${journal}`
    expect(p["ActiveState"], context).toBe("inactive")
    expect(p["Result"], context).toBe("success")
    expect(p["ExecMainCode"], context).toBe("1")
    expect(p["ExecMainStatus"], context).toBe("0")
    expect(p["ExecStop"], context).toMatch(/ code=exited ; status=0 \}$/)
    expect(p["ExecStopPost"], context).toMatch(/ code=exited ; status=0 \}$/)
    expect(journal).toContain(`${MACHINE}: SHUTDOWN: {"guest": true, "reason": "guest-shutdown"}`)
    expect(journal).toContain(`${MACHINE}: ${MACHINE}.0: deleted`)
    expect(journal).not.toMatch(/Killing process|stop-sigterm/)
    expect(await link(`${MACHINE}.0`)).toBeUndefined()
    expect((await s.execOk(["stat", "-c", "%g %a", DISK])).trim()).toBe("0 600")
    expect((await s.exec(["test", "-e", `/proc/${qemuPid}`])).code).not.toBe(0)
  }, 180_000)

  it("starts a TPM machine's swtpm unit first; QEMU reports the emulator TPM, connected; stopping stops both", async () => {
    const s = box()
    const qemuUnit = `machina-${TPM_MACHINE}.service`
    const swtpmUnit = `machina-swtpm-${TPM_MACHINE}.service`
    const generated = await machina(["generate", TPM_MACHINE])
    expect(generated.stdout).toContain(`/etc/systemd/system/${swtpmUnit}: created`)
    const preview = (await machina(["generate", "--preview", TPM_MACHINE])).stdout
    expect(preview).toContain(`----${qemuUnit}----\n`)
    expect(preview).toContain(`----${swtpmUnit}----\n`)
    const extraPins = await pinUnits(s.busAddress, [qemuUnit, swtpmUnit])
    try {
      expect((await machina(["start", TPM_MACHINE], { timeoutMs: 90_000 })).stdout).toBe(`${TPM_MACHINE}: started\n`)
      const show = async (unit: string) =>
        Object.fromEntries((await s.execOk(["systemctl", "show", "-p", "ActiveState,MainPID,ExecMainStartTimestampMonotonic,Result", unit]))
          .split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))
      const qemu = await show(qemuUnit)
      const tpm = await show(swtpmUnit)
      const context = `${JSON.stringify({ qemu, tpm })}\n${await s.journal(swtpmUnit)}\n${await s.journal(qemuUnit)}`
      expect(qemu["ActiveState"], context).toBe("active")
      expect(tpm["ActiveState"], context).toBe("active")
      expect(Number(tpm["ExecMainStartTimestampMonotonic"]), context).toBeLessThan(Number(qemu["ExecMainStartTimestampMonotonic"]))
      expect((await s.execOk(["cat", `/proc/${tpm["MainPID"]}/comm`])).trim()).toBe("swtpm")
      const swtpmStatus = statusFields(await s.execOk(["cat", `/proc/${tpm["MainPID"]}/status`]))
      expect(swtpmStatus["Uid"]!.split(/\s+/)[1]).toBe(uid)
      expect(swtpmStatus["CapEff"]).toBe("0000000000000000")
      const analysis = await s.execOk(["systemd-analyze", "security", "--no-pager", swtpmUnit])
      const swtpmExposure = Number(/Overall exposure level for .*: (\d+\.\d+)/.exec(analysis)?.[1])
      console.info(`systemd-analyze security ${swtpmUnit}: ${swtpmExposure}`)
      expect(swtpmExposure, analysis).toBeLessThanOrEqual(MAX_EXPOSURE)
      // swtpm_setup manufactured a TPM 2.0 state in the directory systemd keeps, with endorsement
      // key and platform certificates signed by the machine's own authority, which swtpm_localca
      // made there as the machine's user.
      expect(await s.execOk(["ls", `/var/lib/machina/swtpm/${TPM_MACHINE}`])).toContain("tpm2-00.permall")
      const setupLog = await s.journal(swtpmUnit)
      for (const made of ["0x1c00002 for RSA 2048 EK certificate", "0x1c00016 for ECC EK certificate", "0x1c08000 for platform certificate"]) {
        expect(setupLog).toContain(`Successfully created NVRAM area ${made}.`)
      }
      const authority = `/var/lib/machina/swtpm/${TPM_MACHINE}/authority`
      expect((await s.execOk(["stat", "-c", "%u %a", authority])).trim()).toBe(`${uid} 700`)
      expect(await s.execOk(["ls", authority])).toContain("issuercert.pem")

      const status = (await machina(["status", TPM_MACHINE])).stdout
      expect(status).toMatch(new RegExp(`^${TPM_MACHINE}: ${qemuUnit.replace(".", "\\.")}  loaded  active/running  pid ${qemu["MainPID"]}  `, "m"))
      expect(status).toMatch(new RegExp(`^${TPM_MACHINE}: ${swtpmUnit.replace(".", "\\.")}  loaded  active/running  pid ${tpm["MainPID"]}  `, "m"))
      expect((await machina(["list"])).stdout).toMatch(new RegExp(`^${TPM_MACHINE}\\s+loaded\\s+active/running\\s+\\S+  \\[swtpm active/running\\]$`, "m"))

      const client = await QmpTestClient.connect(s.hostPathOf(`/run/machina/${TPM_MACHINE}/command.1.qmp.socket`))
      try {
        const tpms = (await client.execute("query-tpm")) as Array<{ id: string; model: string; options: { type: string; data?: { chardev?: string } } }>
        expect(tpms).toEqual([{ id: "tpm.0", model: "tpm-tis", options: { type: "emulator", data: { chardev: "tpm.0.socket" } } }])
        const chardevs = (await client.execute("query-chardev")) as Array<{ label: string; filename: string; "frontend-open": boolean }>
        // The backend's control channel: QEMU names an unconnected client socket
        // "disconnected:unix:<path>" and a connected one by its (unbound) local end, "unix:".
        const control = chardevs.find((c) => c.label === "tpm.0.socket")
        expect(control?.filename, JSON.stringify(chardevs)).toBe("unix:")
        // And swtpm has a connected peer on its socket.
        const peers = await s.execOk(["ss", "-x", "-H", "state", "connected", "src", `/run/machina/${TPM_MACHINE}/tpm.socket`])
        expect(peers.trim().split("\n").filter((l) => l !== "").length, peers).toBeGreaterThanOrEqual(1)
      } finally {
        client.close()
      }

      expect((await machina(["stop", TPM_MACHINE], { timeoutMs: 120_000 })).stdout).toBe(`${TPM_MACHINE}: stopped\n`)
      const after = await pollUntil("both units to be inactive", async () => {
        const q = await show(qemuUnit)
        const t = await show(swtpmUnit)
        return q["ActiveState"] === "inactive" && t["ActiveState"] === "inactive" ? { q, t } : undefined
      }, { timeoutMs: 30_000, diagnostics: async () => `${await s.journal(swtpmUnit)}\n${await s.journal(qemuUnit)}` })
      expect(after.q["Result"]).toBe("success")
    } finally {
      extraPins.release()
    }
  }, 240_000)
})

/**
 * The whole life of real machines under a real systemd (test/support/Sandbox.ts), driven by the
 * REAL bundle installed inside the sandbox with `machina install`: generate, enable, start,
 * status/list, query, disconnect/connect, a graceful stop through the unit's ExecStop (the tiny
 * guest powers off on ACPI), systemd restarting a machine whose QEMU was killed, stop, disable.
 * Guests run under TCG (`"accelerator": "tcg"`). One sandbox for the file; the host is checked
 * to be unchanged afterwards (a /tmp marker, links, /etc/machina, /usr/bin/machina*).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createHash } from "node:crypto"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { waitForPowerButton } from "../support/GuestAcpi.js"
import { parseValid } from "../support/JsonSchema.js"
import { pollUntil } from "../support/Poll.js"
import { startSandbox } from "../support/Sandbox.js"
import type { Sandbox } from "../support/Sandbox.js"
import { TINY_GUEST_APPEND } from "../support/TinyGuest.js"
import { installMachina, linkState, provisionTinyHost, showExec, tinyMachineConfig, unitProps } from "../support/TinyHost.js"
import { pinUnits } from "../support/UnitPins.js"
import type { UnitPins } from "../support/UnitPins.js"

const MACHINES = ["alpha", "beta"] as const
const UNIT_DIR = "/etc/systemd/system"
const unitOf = (machine: string) => `machina-${machine}.service`

// ---------------------------------------------------------------------------------------------
// Host state that must survive the sandbox unchanged

const hostLinks = (): Array<string> =>
  (JSON.parse(execFileSync("ip", ["-j", "link", "show"], { encoding: "utf8" })) as ReadonlyArray<{ ifname: string }>)
    .map((l) => l.ifname)
    .sort()

/** Path → sha256 of every file under `root` (symlinks by target), or null when `root` is absent. */
const snapshot = (root: string): Record<string, string> | null => {
  if (!fs.existsSync(root)) return null
  const out: Record<string, string> = {}
  const walk = (p: string) => {
    const st = fs.lstatSync(p)
    if (st.isSymbolicLink()) out[p] = `-> ${fs.readlinkSync(p)}`
    else if (st.isDirectory()) {
      out[p] = "dir"
      for (const entry of fs.readdirSync(p).sort()) walk(path.join(p, entry))
    } else out[p] = createHash("sha256").update(fs.readFileSync(p)).digest("hex")
  }
  walk(root)
  return out
}

const HOST_PATHS = [
  "/etc/machina",
  "/usr/bin/machina",
  "/usr/bin/machina-ifup",
  "/usr/bin/machina-ifdown",
  `${UNIT_DIR}/${unitOf("alpha")}`,
  `${UNIT_DIR}/${unitOf("beta")}`
]
const hostFiles = () => Object.fromEntries(HOST_PATHS.map((p) => [p, snapshot(p)]))

// ---------------------------------------------------------------------------------------------
// Configuration written inside the sandbox

const IDS: Record<(typeof MACHINES)[number], string> = {
  alpha: "3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e01",
  beta: "3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e02"
}

const machineConfig = (name: (typeof MACHINES)[number]) => tinyMachineConfig(IDS[name], `lifecycle ${name}`)

// ---------------------------------------------------------------------------------------------

describe("machine lifecycle under a real systemd", () => {
  let sandbox: Sandbox | undefined
  let pins: UnitPins | undefined
  let markerDir: string | undefined
  let linksBefore: Array<string> = []
  let filesBefore: ReturnType<typeof hostFiles> = {}
  const timings: Array<string> = []

  const box = (): Sandbox => {
    if (sandbox === undefined) throw new Error("the sandbox did not boot")
    return sandbox
  }

  /** Runs the installed `machina` inside the sandbox; asserts the exit status. */
  const machina = async (args: ReadonlyArray<string>, options: { code?: number; timeoutMs?: number } = {}) => {
    const started = Date.now()
    const result = await box().exec(["machina", ...args], { timeoutMs: options.timeoutMs ?? 30_000 })
    timings.push(`machina ${args.join(" ")}: ${Date.now() - started} ms`)
    expect(result.code, `machina ${args.join(" ")}\n${showExec(result)}`).toBe(options.code ?? 0)
    return result
  }

  const props = (unit: string, names: ReadonlyArray<string>) => unitProps(box(), unit, names)
  const link = (name: string) => linkState(box(), name)

  const journalOf = (machine: string) => box().journal(unitOf(machine))

  /** The journal's current end, so that later reads show only what a step caused. */
  const journalCursor = async (): Promise<string> => {
    const out = await box().execOk(["journalctl", "-q", "-n", "0", "--show-cursor"])
    const cursor = /^-- cursor: (.+)$/m.exec(out)?.[1]
    if (cursor === undefined) throw new Error(`journalctl printed no cursor: ${out}`)
    return cursor
  }
  const journalSince = (machine: string, cursor: string) =>
    box().execOk(["journalctl", "--no-pager", "-o", "short-precise", "-u", unitOf(machine), `--after-cursor=${cursor}`])

  const activeRunning = (machine: string, notPid?: string) => async () => {
    const p = await props(unitOf(machine), ["ActiveState", "SubState", "MainPID"])
    return p["ActiveState"] === "active" && p["SubState"] === "running" && p["MainPID"] !== "0" && p["MainPID"] !== notPid
      ? p
      : undefined
  }

  const waitGuestReady = async (machine: string) => {
    // command.1: the product's own commands try command.0 first, so they are never kept waiting.
    const waited = await waitForPowerButton(box().hostPathOf(`/run/machina/${machine}/command.1.qmp.socket`), 60_000)
    timings.push(`${machine}: guest listening to the power button after ${waited} ms`)
  }

  /** Stops a machine through systemd and checks the stop was graceful (ExecStop, guest power-off). */
  const stopGracefully = async (machine: string) => {
    const cursor = await journalCursor()
    const started = Date.now()
    const stopped = await machina(["stop", machine], { timeoutMs: 120_000 })
    timings.push(`${machine}: stop job done in ${Date.now() - started} ms`)
    expect(stopped.stdout).toBe(`${machine}: stopped\n`)

    const unit = unitOf(machine)
    const p = await props(unit, ["ActiveState", "SubState", "Result", "ExecMainCode", "ExecMainStatus", "ExecStop", "ExecStopPost"])
    // This stop's journal (journald may lag behind the job's end by a moment).
    const journal = await pollUntil(
      `the journal of ${unit} to record the deactivation`,
      async () => {
        const j = await journalSince(machine, cursor)
        return j.includes(`${unit}: Deactivated successfully.`) ? j : undefined
      },
      { timeoutMs: 10_000, diagnostics: () => journalOf(machine) }
    )
    const context = `${JSON.stringify(p, null, 2)}\n${journal}`
    expect(p["ActiveState"], context).toBe("inactive")
    expect(p["SubState"], context).toBe("dead")
    // The pinned unit's real outcome: QEMU exited on its own with status 0 (CLD_EXITED = 1),
    // not killed by systemd's stop timeout.
    expect(p["Result"], context).toBe("success")
    expect(p["ExecMainCode"], context).toBe("1")
    expect(p["ExecMainStatus"], context).toBe("0")
    expect(p["ExecStop"], context).toContain(`argv[]=machina shutdown --system --timeout 1m25s ${machine} ;`)
    expect(p["ExecStop"], context).toMatch(/ code=exited ; status=0 \}$/)
    expect(p["ExecStopPost"], context).toContain(`argv[]=machina teardown ${machine} ;`)
    expect(p["ExecStopPost"], context).toMatch(/ code=exited ; status=0 \}$/)

    expect(journal).toContain(`${machine}: Issued shutdown command.`)
    expect(journal).toContain(`${machine}: SHUTDOWN: {"guest": true, "reason": "guest-shutdown"}`)
    expect(journal).toContain(`${machine}: QMP socket closed. Shutdown complete.`)
    expect(journal).not.toContain("Timeout expired")
    expect(journal).not.toMatch(/Killing process|stop-sigterm|stop-final-sigterm/)
    // QEMU ran the downscript (machina-ifdown) for the tap on its way out.
    expect(journal).toContain(`${machine}.0: disabled`)

    const status = parseValid<Array<Record<string, unknown>>>("status", (await machina(["status", "--format", "json", machine], { code: 3 })).stdout)
    expect(status[0]).toMatchObject({ name: machine, unit, role: "qemu", "active-state": "inactive", "sub-state": "dead", result: "success" })
    expect(status[0]).not.toHaveProperty("main-pid") // unset: omitted, not 0
    expect(await link(`${machine}.0`)).toBeUndefined()
    expect((await box().exec(["test", "-e", `/run/machina/${machine}`])).code).not.toBe(0)
  }

  beforeAll(async () => {
    markerDir = fs.mkdtempSync(path.join(os.tmpdir(), "machina-lifecycle-marker-"))
    fs.writeFileSync(path.join(markerDir, "marker"), "still here")
    linksBefore = hostLinks()
    filesBefore = hostFiles()
    const booted = Date.now()
    sandbox = await startSandbox()
    timings.push(`sandbox boot: ${Date.now() - booted} ms`)
    const s = sandbox

    // The real bundle, installed the way an admin would (into the sandbox's overlay). It is copied
    // in first: the checkout may live under /tmp, which the sandbox replaces with its own.
    const installed = await installMachina(s)
    for (const p of ["/usr/bin/machina", "/usr/bin/machina-ifup", "/usr/bin/machina-ifdown", "/etc/machina/machine.conf.d"]) {
      expect(installed.stdout).toContain(`${p}: created`)
    }

    await provisionTinyHost(s, {
      machines: Object.fromEntries(MACHINES.map((m) => [m, machineConfig(m)])),
      disks: MACHINES.map((m) => `${m}-os.raw`)
    })
  }, 120_000)

  afterAll(async () => {
    try {
      pins?.release()
    } finally {
      await sandbox?.stop()
    }
    console.info(`Lifecycle timings:\n  ${timings.join("\n  ")}`)
    if (markerDir === undefined) return // beforeAll failed before recording the host
    // The host is as it was: /tmp kept, no bridge or tap, no machina files or units.
    try {
      expect(fs.readFileSync(path.join(markerDir, "marker"), "utf8")).toBe("still here")
      const links = hostLinks()
      expect(links).toEqual(linksBefore)
      expect(links).not.toContain("kvmbr0")
      expect(links).not.toContain("alpha.0")
      expect(links).not.toContain("beta.0")
      expect(hostFiles()).toEqual(filesBefore)
    } finally {
      fs.rmSync(markerDir, { recursive: true, force: true })
    }
  }, 60_000)

  it("generates units, enables and starts both machines", async () => {
    const s = box()
    expect((await machina(["check"])).stdout).toContain("no problems found")

    const generated = await machina(["generate", "alpha", "beta"])
    expect(generated.stdout.split("\n").filter((l) => l !== "")).toEqual([
      `${UNIT_DIR}/${unitOf("alpha")}: created`,
      `${UNIT_DIR}/${unitOf("beta")}: created`,
      "systemd: units reloaded"
    ])
    const unitText = await s.readFile(`${UNIT_DIR}/${unitOf("alpha")}`)
    expect(unitText).toContain("-accel tcg")
    expect(unitText).toContain("-kernel /var/lib/machina/boot/vmlinuz")
    expect(unitText).toContain(`-append "${TINY_GUEST_APPEND}"`)
    expect(unitText).toContain("ExecStop=machina shutdown --system --timeout 1m25s alpha\n")
    // systemd picked the units up (reloaded by generate, nothing else did).
    for (const m of MACHINES) {
      expect(await props(unitOf(m), ["LoadState", "FragmentPath"])).toEqual({
        LoadState: "loaded",
        FragmentPath: `${UNIT_DIR}/${unitOf(m)}`
      })
    }
    pins = await pinUnits(s.busAddress, MACHINES.map(unitOf))

    const enabled = await machina(["enable", "alpha", "beta"])
    for (const m of MACHINES) {
      expect(enabled.stdout).toContain(`Created symlink ${UNIT_DIR}/multi-user.target.wants/${unitOf(m)} → ${UNIT_DIR}/${unitOf(m)}.`)
      expect((await s.exec(["systemctl", "is-enabled", unitOf(m)])).stdout.trim()).toBe("enabled")
      // systemd was reloaded (as systemctl enable does): the running manager knows the link.
      expect(await props(unitOf(m), ["WantedBy"])).toEqual({ WantedBy: "multi-user.target" })
    }

    const started = await machina(["start", "alpha", "beta"], { timeoutMs: 60_000 })
    expect(started.stdout.split("\n").filter((l) => l !== "").sort()).toEqual(["alpha: started", "beta: started"])

    for (const m of MACHINES) {
      const p = await props(unitOf(m), ["ActiveState", "SubState", "MainPID"])
      expect(p, await journalOf(m)).toMatchObject({ ActiveState: "active", SubState: "running" })
      const status = await machina(["status", m])
      expect(status.stdout).toMatch(new RegExp(`^${m}: ${unitOf(m).replace(".", "\\.")}  loaded  active/running  pid ${p["MainPID"]}  since `))
      expect(Number(p["MainPID"])).toBeGreaterThan(1)
      // The main process is QEMU itself (systemd runs it directly).
      expect((await s.execOk(["cat", `/proc/${p["MainPID"]}/comm`])).trim()).toBe("qemu-system-x86")
    }

    const list = await machina(["list"])
    expect(list.stdout).toMatch(/^alpha\s+loaded\s+active\/running\s+\S+\s+\(lifecycle alpha\)$/m)
    expect(list.stdout).toMatch(/^beta\s+loaded\s+active\/running\s+\S+\s+\(lifecycle beta\)$/m)
    const listJson = parseValid<Array<Record<string, unknown>>>("list", (await machina(["list", "--format", "json"])).stdout)
    expect(listJson.map((r) => [r["name"], r["active-state"], r["sub-state"]])).toEqual([
      ["alpha", "active", "running"],
      ["beta", "active", "running"]
    ])
  }, 240_000) // a 2-core machine under a load average of 25 needs minutes here

  it("answers QMP queries: the virtio devices behind their root ports", async () => {
    const text = (await machina(["query", "pci", "alpha"])).stdout
    expect(text.startsWith("----alpha----\n[\n\t{\n")).toBe(true)
    const buses = JSON.parse(text.slice("----alpha----\n".length)) as Array<PciBus>
    const ports = buses[0]!.devices.filter((d) => d.pci_bridge !== undefined)
    // Two ioh3420 root ports (pcie.1.1: virtio-scsi, pcie.1.2: virtio-net), per the generated layout.
    expect(ports.map((d) => [d.qdev_id, d.id.vendor, d.id.device])).toEqual([
      ["pcie.1.1", 0x8086, 0x3420],
      ["pcie.1.2", 0x8086, 0x3420]
    ])
    const behind = (port: string) =>
      ports.find((d) => d.qdev_id === port)!.pci_bridge!.devices!.map((d) => [d.class_info.desc, d.id.vendor, d.id.device])
    expect(behind("pcie.1.1")).toEqual([["SCSI controller", 0x1af4, 0x1048]])
    expect(behind("pcie.1.2")).toEqual([["Ethernet controller", 0x1af4, 0x1041]])

    const json = parseValid<Record<string, Array<PciBus>>>("query", (await machina(["query", "pci", "--format", "json", "alpha", "beta"])).stdout)
    expect(Object.keys(json)).toEqual(["alpha", "beta"])
    // The guest may still be programming bridge windows between the two queries: compare the
    // device layout, not the volatile I/O and memory ranges.
    const layout = (devices: ReadonlyArray<PciDevice>): unknown =>
      devices.map((d) => [d.slot, d.function, d.qdev_id, d.id.vendor, d.id.device, layout(d.pci_bridge?.devices ?? [])])
    expect(json["alpha"]!.map((b) => layout(b.devices))).toEqual(buses.map((b) => layout(b.devices)))
  }, 60_000)

  it("connects taps to the bridge: ifup from QEMU, then disconnect and connect", async () => {
    // QEMU ran /usr/bin/machina-ifup for the tap when it started (logged in the unit's journal).
    expect(await journalOf("alpha")).toContain("alpha.0: enabled")
    for (const m of MACHINES) {
      const tap = await link(`${m}.0`)
      expect(tap?.master).toBe("kvmbr0")
      expect(tap?.flags).toContain("UP")
    }

    expect((await machina(["disconnect", "alpha.0"])).stdout).toBe("alpha.0: disabled\n")
    const down = await link("alpha.0")
    expect(down?.master).toBeUndefined()
    expect(down?.flags).not.toContain("UP")
    expect((await link("beta.0"))?.master).toBe("kvmbr0") // only the one asked for

    expect((await machina(["connect", "alpha"])).stdout).toBe("alpha.0: enabled\n")
    const up = await link("alpha.0")
    expect(up?.master).toBe("kvmbr0")
    expect(up?.flags).toContain("UP")
  }, 60_000)

  it("stops a machine gracefully through the unit's ExecStop (ACPI power-off, then teardown)", async () => {
    await waitGuestReady("alpha")
    await stopGracefully("alpha")
    // beta is untouched.
    expect(await props(unitOf("beta"), ["ActiveState", "SubState"])).toEqual({ ActiveState: "active", SubState: "running" })
  }, 180_000)

  it("a guest that powers itself off ends its unit cleanly: inactive, success, not restarted, teardown ran", async () => {
    const unit = unitOf("alpha")
    const started = await machina(["start", "alpha"], { timeoutMs: 60_000 })
    expect(started.stdout).toBe("alpha: started\n")
    const before = await props(unit, ["MainPID", "NRestarts"])
    await waitGuestReady("alpha")
    const cursor = await journalCursor()

    // The power-off comes from the guest, not from systemd: `machina shutdown` presses the ACPI
    // button over a command socket; the guest powers off and QEMU exits 0 on its own. systemd
    // then runs ExecStop (QEMU is already gone) and ExecStopPost.
    const shutdown = await machina(["shutdown", "--wait", "alpha"], { timeoutMs: 120_000 })
    expect(shutdown.stdout).toContain(`alpha: SHUTDOWN: {"guest": true, "reason": "guest-shutdown"}`)
    expect(shutdown.stdout).toContain("alpha: QMP socket closed. Shutdown complete.")

    const after = await pollUntil(`${unit} to become inactive`, async () => {
      const p = await props(unit, ["ActiveState", "SubState", "Result", "NRestarts", "ExecMainCode", "ExecMainStatus", "ExecStop", "ExecStopPost"])
      return p["ActiveState"] === "inactive" ? p : undefined
    }, { timeoutMs: 60_000, diagnostics: () => journalOf("alpha") })
    const journal = await pollUntil(
      `the journal of ${unit} to record the deactivation`,
      async () => {
        const j = await journalSince("alpha", cursor)
        return j.includes(`${unit}: Deactivated successfully.`) ? j : undefined
      },
      { timeoutMs: 10_000, diagnostics: () => journalOf("alpha") }
    )
    const context = `${JSON.stringify({ before, after }, null, 2)}\n${journal}`
    expect(after["SubState"], context).toBe("dead") // not auto-restart
    expect(after["Result"], context).toBe("success")
    expect(after["NRestarts"], context).toBe(before["NRestarts"])
    expect(after["ExecMainCode"], context).toBe("1")
    expect(after["ExecMainStatus"], context).toBe("0")
    // ExecStop saw QEMU gone and succeeded; teardown ran and succeeded.
    expect(after["ExecStop"], context).toMatch(/ code=exited ; status=0 \}$/)
    expect(after["ExecStopPost"], context).toContain("argv[]=machina teardown alpha ;")
    expect(after["ExecStopPost"], context).toMatch(/ code=exited ; status=0 \}$/)
    expect(journal).toContain("alpha: QEMU has already exited (main process exited, status=0). Shutdown complete.")
    expect(journal).not.toContain("Failed to issue shutdown command")
    expect(journal).not.toMatch(/Scheduled restart job|Failed with result/)
    expect(await link("alpha.0")).toBeUndefined()
    expect((await box().exec(["test", "-e", "/run/machina/alpha"])).code).not.toBe(0)
    // Still down a RestartSec later.
    await new Promise((r) => setTimeout(r, 11_000))
    expect(await props(unit, ["ActiveState", "SubState", "NRestarts"])).toEqual({
      ActiveState: "inactive",
      SubState: "dead",
      NRestarts: before["NRestarts"]
    })
  }, 360_000)

  it("run, prepare and teardown by hand refuse a machine its unit runs, and change nothing", async () => {
    const unit = unitOf("beta")
    const before = await props(unit, ["ActiveState", "SubState", "MainPID", "NRestarts"])
    expect(before).toMatchObject({ ActiveState: "active", SubState: "running" })
    for (const command of ["run", "prepare", "teardown"]) {
      const r = await machina([command, "beta"], { code: 1 })
      expect(r.stdout).toBe("")
      expect(r.stderr).toContain(`machina: error: ${command} beta: refused: its unit ${unit} is active (running, pid ${before["MainPID"]}); nothing was changed.`)
    }
    expect(await props(unit, ["ActiveState", "SubState", "MainPID", "NRestarts"])).toEqual(before)
    expect((await box().execOk(["pgrep", "-c", "-x", "qemu-system-x86"])).trim()).toBe("1")
    expect((await link("beta.0"))?.master).toBe("kvmbr0")
    await box().execOk(["test", "-S", "/run/machina/beta/systemd.0.qmp.socket"])
  }, 60_000)

  it("restarts a machine whose QEMU dies", async () => {
    const unit = unitOf("beta")
    const before = await props(unit, ["MainPID", "NRestarts"])
    expect(before["NRestarts"]).toBe("0")
    const oldPid = before["MainPID"]!
    await box().execOk(["kill", "-9", oldPid])
    const killed = Date.now()
    const after = await pollUntil("beta to be restarted with a new QEMU", activeRunning("beta", oldPid), {
      timeoutMs: 40_000, // RestartSec=10s, then prepare and QEMU
      intervalMs: 500,
      diagnostics: () => journalOf("beta")
    })
    timings.push(`beta: active/running again ${Date.now() - killed} ms after kill -9`)
    expect(after["MainPID"]).not.toBe(oldPid)
    expect((await props(unit, ["NRestarts"]))["NRestarts"]).toBe("1")
    const journal = await journalOf("beta")
    expect(journal).toContain(`${unit}: Main process exited, code=killed, status=9/KILL`)
    expect(journal).toContain(`${unit}: Failed with result 'signal'.`)
    expect(journal).toContain(`${unit}: Scheduled restart job, restart counter is at 1.`)

    const status = parseValid<Array<Record<string, unknown>>>("status", (await machina(["status", "--format", "json", "beta"])).stdout)
    expect(status[0]).toMatchObject({ "active-state": "active", "sub-state": "running", "main-pid": Number(after["MainPID"]) })
    // The new QEMU recreated its tap and ran ifup again.
    const tap = await pollUntil("beta.0 to be back on kvmbr0", async () => {
      const l = await link("beta.0")
      return l?.master === "kvmbr0" ? l : undefined
    }, { timeoutMs: 15_000 })
    expect(tap.flags).toContain("UP")
  }, 90_000)

  it("stops the restarted machine gracefully and disables both", async () => {
    await waitGuestReady("beta")
    await stopGracefully("beta")

    const disabled = await machina(["disable", "alpha", "beta"])
    for (const m of MACHINES) {
      expect(disabled.stdout).toContain(`Removed ${UNIT_DIR}/multi-user.target.wants/${unitOf(m)}.`)
      expect((await box().exec(["systemctl", "is-enabled", unitOf(m)])).stdout.trim()).toBe("disabled")
      expect(await props(unitOf(m), ["WantedBy"])).toEqual({ WantedBy: "" })
    }
    const list = await machina(["list"])
    expect(list.stdout).toMatch(/^alpha\s+loaded\s+inactive\/dead\b/m)
    expect(list.stdout).toMatch(/^beta\s+loaded\s+inactive\/dead\b/m)
    // Nothing of ours is left running in the sandbox.
    expect((await box().exec(["pgrep", "-x", "qemu-system-x86"])).code).toBe(1)
  }, 180_000)
})

interface PciDevice {
  readonly slot: number
  readonly function: number
  readonly qdev_id: string
  readonly class_info: { readonly desc?: string; readonly class: number }
  readonly id: { readonly vendor: number; readonly device: number }
  readonly pci_bridge?: { readonly devices?: ReadonlyArray<PciDevice> }
}
interface PciBus {
  readonly bus: number
  readonly devices: ReadonlyArray<PciDevice>
}

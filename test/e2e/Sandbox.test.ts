/**
 * The test sandbox (test/support/Sandbox.ts) boots a real systemd and leaves the host as it was:
 * its /tmp (which systemd-tmpfiles empties at boot), /etc, /dev, network and cgroups.
 */
import dbus from "dbus-next"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSandbox } from "../support/Sandbox.js"
import type { Sandbox } from "../support/Sandbox.js"

const hostLinks = () =>
  (JSON.parse(execFileSync("ip", ["-j", "link", "show"], { encoding: "utf8" })) as ReadonlyArray<{ ifname: string }>)
    .map((link) => link.ifname)
    .sort()

const hostDev = () => fs.readdirSync("/dev").sort()

describe("Sandbox", () => {
  let sandbox: Sandbox
  let markerDir: string
  const probe = `machina-sandbox-probe-${process.pid}-${Date.now()}`
  let linksBefore: ReadonlyArray<string>
  let devBefore: ReadonlyArray<string>

  beforeAll(async () => {
    markerDir = fs.mkdtempSync(path.join(os.tmpdir(), "machina-marker-"))
    fs.writeFileSync(path.join(markerDir, "marker"), "still here")
    linksBefore = hostLinks()
    devBefore = hostDev()
    sandbox = await startSandbox()
  })

  afterAll(async () => {
    await sandbox?.stop()
    fs.rmSync(markerDir, { recursive: true, force: true })
  })

  it("runs systemd as PID 1 of its own namespaces", async () => {
    expect(fs.readFileSync(`/proc/${sandbox.pid}/cmdline`, "utf8").split("\0")[0]).toBe("/lib/systemd/systemd")
    expect((await sandbox.execOk(["systemctl", "is-system-running"])).trim()).toMatch(/^(running|degraded)$/)
    expect((await sandbox.execOk(["cat", "/proc/1/comm"])).trim()).toBe("systemd")
    expect((await sandbox.execOk(["stat", "-f", "-c", "%T", "/"])).trim()).toBe("overlayfs")
    expect((await sandbox.execOk(["stat", "-f", "-c", "%T", "/tmp"])).trim()).toBe("tmpfs")
    // Its own cgroup namespace: units live under a cgroup of their own.
    const cgroup = (await sandbox.execOk(["systemctl", "show", "-P", "ControlGroup", "dbus.service"])).trim()
    expect(cgroup).toBe("/system.slice/dbus.service")
  })

  it("writes stay inside: /tmp, /etc, /dev and the network of the host are untouched", async () => {
    await sandbox.execOk(["sh", "-c", `echo inside > /tmp/${probe} && echo inside > /etc/${probe}`])
    await sandbox.writeFile(`/etc/${probe}.2`, "via host path")
    await sandbox.execOk(["ip", "link", "add", "mtest0", "type", "bridge"])
    await sandbox.execOk(["ip", "tuntap", "add", "dev", "mtest1", "mode", "tap"])
    expect(await sandbox.readFile(`/etc/${probe}.2`)).toBe("via host path")
    expect((await sandbox.execOk(["cat", `/etc/${probe}`])).trim()).toBe("inside")

    expect(fs.existsSync(`/tmp/${probe}`)).toBe(false)
    expect(fs.existsSync(`/etc/${probe}`)).toBe(false)
    expect(fs.existsSync(`/etc/${probe}.2`)).toBe(false)
    expect(fs.readFileSync(path.join(markerDir, "marker"), "utf8")).toBe("still here")
    expect(hostLinks()).toEqual(linksBefore)
    expect(hostDev()).toEqual(devBefore)
    const inside = (await sandbox.execOk(["ip", "-br", "link"])).split("\n").map((l) => l.split(/\s+/)[0])
    expect(inside).toEqual(expect.arrayContaining(["lo", "mtest0", "mtest1"]))
    expect(inside).not.toContain("eth0")
  })

  it("answers D-Bus from the host through /proc/<pid>/root", async () => {
    const bus = dbus.sessionBus({ busAddress: sandbox.busAddress })
    try {
      const reply = await bus.call(
        new dbus.Message({
          destination: "org.freedesktop.systemd1",
          path: "/org/freedesktop/systemd1",
          interface: "org.freedesktop.systemd1.Manager",
          member: "ListUnitsByNames",
          signature: "as",
          body: [["dbus.service"]]
        })
      )
      const [[name, , load, active]] = reply?.body[0] as ReadonlyArray<ReadonlyArray<string>>
      expect([name, load, active]).toEqual(["dbus.service", "loaded", "active"])
    } finally {
      bus.disconnect()
    }
  })

  it("stop ends every process and leaves nothing behind", async () => {
    const { pid, workDir } = sandbox
    const cgroups = () =>
      execFileSync("find", ["/sys/fs/cgroup", "-maxdepth", "4", "-type", "d", "-name", "machina-sandbox-*"], {
        encoding: "utf8"
      })
    expect(cgroups()).not.toBe("")
    const before = cgroups().split("\n").filter((l) => l !== "")
    await sandbox.stop()
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false)
    expect(fs.existsSync(workDir)).toBe(false)
    // Our own sandbox's cgroup is gone (another test file's sandbox may exist meanwhile).
    const after = cgroups().split("\n").filter((l) => l !== "")
    expect(after.length).toBeLessThan(before.length)
    expect(fs.readFileSync(path.join(markerDir, "marker"), "utf8")).toBe("still here")
    expect(hostLinks()).toEqual(linksBefore)
    expect(hostDev()).toEqual(devBefore)
    await sandbox.stop() // idempotent
  })
})

describe("Sandbox watchdog", () => {
  it("kills the sandbox when the watched process dies without stopping it", async () => {
    const watched = spawn("sleep", ["60"], { stdio: "ignore" })
    const sandbox = await startSandbox({ watchPid: watched.pid ?? 0, dbus: false })
    try {
      expect(fs.existsSync(`/proc/${sandbox.pid}`)).toBe(true)
      watched.kill("SIGKILL")
      const deadline = Date.now() + 5_000
      while (fs.existsSync(`/proc/${sandbox.pid}`)) {
        expect(Date.now()).toBeLessThan(deadline)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    } finally {
      watched.kill("SIGKILL")
      await sandbox.stop()
    }
    expect(fs.existsSync(sandbox.workDir)).toBe(false)
  })
})

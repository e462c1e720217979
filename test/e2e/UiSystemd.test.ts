/**
 * `machina ui`'s Start, Shut down (ACPI) and Stop buttons against a real systemd: the installed
 * bundle runs the UI as a service inside the sandbox (test/support/Sandbox.ts) beside a tiny
 * machine under TCG, and Debian's Chromium, entered into the sandbox's network namespace only
 * (`nsenter --net`), drives the page. Each button's job must have happened in systemd (the unit's
 * state and main process), and the page must say so. The pages themselves, their editing and their
 * access checks: test/e2e/Ui.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { waitForPowerButton } from "../support/GuestAcpi.js"
import { pollUntil } from "../support/Poll.js"
import { type Sandbox, startSandbox } from "../support/Sandbox.js"
import { installMachina, provisionTinyHost, showExec, tinyMachineConfig, unitProps } from "../support/TinyHost.js"
import { pinUnits, type UnitPins } from "../support/UnitPins.js"

const CHROMIUM = "/usr/bin/chromium"
const MACHINE = "panel"
const UNIT = `machina-${MACHINE}.service`
const UI_UNIT = "machina-ui-test.service"
const PORT = 8765

describe.skipIf(!existsSync(CHROMIUM) || !existsSync("/usr/bin/nsenter"))("machina ui's buttons under a real systemd", () => {
  let sandbox: Sandbox | undefined
  let browser: Browser | undefined
  let wrapperDir: string | undefined
  let pins: UnitPins | undefined
  let url = ""

  const box = (): Sandbox => {
    if (sandbox === undefined) throw new Error("the sandbox did not boot")
    return sandbox
  }
  const props = () => unitProps(box(), UNIT, ["ActiveState", "SubState", "MainPID", "Result"])
  const diagnostics = async () => `${JSON.stringify(await props())}\n${await box().journal(UNIT)}\n${await box().journal(UI_UNIT)}`

  beforeAll(async () => {
    sandbox = await startSandbox()
    const s = sandbox
    await installMachina(s)
    await provisionTinyHost(s, {
      machines: { [MACHINE]: tinyMachineConfig("3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e21", "ui buttons") },
      disks: [`${MACHINE}-os.raw`]
    })
    const generated = await s.exec(["machina", "generate", MACHINE])
    expect(generated.code, showExec(generated)).toBe(0)
    // Keeps the unit loaded between runs, so its last result can be read (UnitPins.ts).
    pins = await pinUnits(s.busAddress, [UNIT])
    // The UI as an admin would keep it running: a service of its own.
    await s.execOk(["systemd-run", `--unit=${UI_UNIT}`, "--property=Type=exec", "machina", "ui", "--listen", `127.0.0.1:${PORT}`])
    url = await pollUntil(
      "the UI's URL in its journal",
      async () => (await s.journal(UI_UNIT)).match(new RegExp(`http://127\\.0\\.0\\.1:${PORT}/\\?token=[A-Za-z0-9_-]{43}`))?.[0],
      { timeoutMs: 30_000, diagnostics: () => s.journal(UI_UNIT) }
    )
    // Chromium on this host's files, in the sandbox's network (where the UI listens on loopback).
    wrapperDir = mkdtempSync(join(tmpdir(), "machina-ui-systemd-"))
    const wrapper = join(wrapperDir, "chromium")
    writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/nsenter --net=/proc/${s.pid}/ns/net -- ${CHROMIUM} "$@"\n`)
    chmodSync(wrapper, 0o755)
    browser = await chromium.launch({ executablePath: wrapper, args: ["--no-sandbox"] })
  }, 180_000)

  afterAll(async () => {
    try {
      pins?.release()
      await browser?.close()
    } finally {
      await sandbox?.stop()
      if (wrapperDir !== undefined) rmSync(wrapperDir, { recursive: true, force: true })
    }
  })

  /** Clicks a button of the machine's page (accepting its confirmation); the answer's status and the notice shown. */
  const press = async (page: Page, label: string, action: string): Promise<string> => {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/api/machines/${MACHINE}/${action}`), { timeout: 90_000 }),
      page.click(`button:has-text('${label}')`)
    ])
    // The buttons are disabled from the click until the answer is shown.
    await page.waitForSelector("button:has-text('Start'):not([disabled])", { timeout: 10_000 })
    return `${response.status()} ${(await page.textContent("p.notice[role=status]"))?.trim()}`
  }

  it("Start, Shut down (ACPI) and Stop do what systemd then reports, and the page shows it", async () => {
    const s = box()
    const page = await browser!.newPage()
    page.on("dialog", (d) => void d.accept())
    await page.goto(url)
    await page.goto(`${new URL(url).origin}/#/m/${MACHINE}`)
    await page.waitForSelector("button:has-text('Start')")
    const state = async () => (await page.textContent("main p [class^=state-]"))?.trim()
    expect(await page.textContent("main")).not.toContain("Unit state unknown")
    expect(await state()).toBe("inactive/dead")

    // Start: systemd runs QEMU itself as the unit's main process.
    expect(await press(page, "Start", "start"), await diagnostics()).toBe("200 start: done")
    const started = await props()
    expect(started, await diagnostics()).toMatchObject({ ActiveState: "active", SubState: "running" })
    expect((await s.execOk(["cat", `/proc/${started["MainPID"]}/comm`])).trim()).toBe("qemu-system-x86")
    await pollUntil("the page to show the unit running", async () => ((await state()) === "active/running" ? true : undefined), { timeoutMs: 10_000 })

    // Shut down (ACPI): the guest powers off, QEMU exits, and the unit with it.
    // One press is one press of the power button: a guest that enabled the button but does not
    // read its events yet (GuestAcpi.ts) misses it, as a real one would; press again then.
    await waitForPowerButton(s.hostPathOf(`/run/machina/${MACHINE}/command.1.qmp.socket`), 60_000)
    for (let presses = 1; ; presses++) {
      expect(await press(page, "Shut down (ACPI)", "shutdown"), await diagnostics()).toBe("200 shutdown: ACPI power-off sent")
      const off = await pollUntil("the unit to stop", async () => ((await props())["ActiveState"] === "inactive" ? true : undefined), {
        timeoutMs: 30_000
      }).catch(() => false)
      if (off) break
      if (presses === 3) throw new Error(`the guest did not power off after ${presses} presses\n${await diagnostics()}`)
    }
    // QEMU exited on its own, with status 0 (CLD_EXITED = 1): the guest powered off.
    expect(await unitProps(s, UNIT, ["Result", "ExecMainCode", "ExecMainStatus"]), await diagnostics()).toEqual({
      Result: "success",
      ExecMainCode: "1",
      ExecMainStatus: "0"
    })

    // Start again, then Stop: the stop job runs the unit's ExecStop and ends with the unit inactive.
    expect(await press(page, "Start", "start"), await diagnostics()).toBe("200 start: done")
    expect((await props())["ActiveState"]).toBe("active")
    expect(await press(page, "Stop", "stop"), await diagnostics()).toBe("200 stop: done")
    expect(await props(), await diagnostics()).toMatchObject({ ActiveState: "inactive", SubState: "dead" })
    await pollUntil("the page to show the unit stopped", async () => ((await state()) === "inactive/dead" ? true : undefined), { timeoutMs: 10_000 })
    await page.close()
  }, 300_000)
})

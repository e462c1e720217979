/**
 * Whether a running guest listens to the ACPI power button, read from outside over QMP.
 *
 * QEMU delivers `system_powerdown` as the fixed-feature power button event: it sets PWRBTN_STS in
 * the PM1 event block and raises an SCI only if the guest has set PWRBTN_EN (bit 8 of the 16-bit
 * PM1_EN register). Linux sets that bit when the ACPI button driver binds (the tiny guest's
 * `insmod button.ko`, just before it opens the event device). Until then a powerdown is lost.
 * On q35 the firmware (SeaBIOS, also with direct kernel boot) places the ICH9 PM I/O block at
 * 0x600, so PM1_EN is port 0x602; HMP's `i /h` reads it through QMP `human-monitor-command`.
 *
 * The tiny guest opens its event device a few milliseconds after the bit is set; `machina
 * shutdown` repeats the powerdown every 5 s anyway, so that gap only ever costs one repeat.
 */
import { existsSync } from "node:fs"
import { QmpTestClient } from "./QmpTestClient.js"
import { pollUntil } from "./Poll.js"

const PM1_EN_PORT = 0x602
const PWRBTN_EN = 0x100

/** Reads PM1_EN once over an open QMP connection. */
export const readPm1Enable = async (client: QmpTestClient): Promise<number> => {
  const out = await client.execute("human-monitor-command", { "command-line": `i /h 0x${PM1_EN_PORT.toString(16)}` })
  const match = /=\s*0x([0-9a-f]+)/i.exec(String(out))
  if (match === null) throw new Error(`unexpected HMP answer to an I/O port read: ${JSON.stringify(out)}`)
  return Number.parseInt(match[1]!, 16)
}

/**
 * Waits (bounded) until the guest behind the QMP socket `socketPath` has enabled the ACPI power
 * button; returns the milliseconds waited. Connects once, polls, and always closes the connection
 * (so the socket is free again for the product's commands).
 */
export const waitForPowerButton = async (socketPath: string, timeoutMs: number): Promise<number> => {
  const started = Date.now()
  // A unit's start job ends when QEMU is forked, before it has created its sockets.
  await pollUntil(`QEMU to create ${socketPath}`, async () => (existsSync(socketPath) ? true : undefined), { timeoutMs, intervalMs: 100 })
  const client = await QmpTestClient.connect(socketPath, Math.min(timeoutMs, 10_000))
  try {
    await pollUntil(
      `the guest behind ${socketPath} to enable the ACPI power button (PM1_EN.PWRBTN_EN)`,
      async () => ((await readPm1Enable(client)) & PWRBTN_EN) !== 0 ? true : undefined,
      { timeoutMs: Math.max(0, timeoutMs - (Date.now() - started)), intervalMs: 200 }
    )
    return Date.now() - started
  } finally {
    client.close()
  }
}

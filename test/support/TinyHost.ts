/**
 * The host that every e2e test under a real systemd sets up inside its sandbox: the real bundle
 * installed with `machina install`, a bridge `kvmbr0`, the tiny guest's kernel and initrd in a
 * firmware storage, raw disks in another, and the configuration files. Also the small queries the
 * tests make of that host (unit properties, links) and the way they show a failed command.
 */
import * as fs from "node:fs"
import { copyBundleInto } from "./Bundle.js"
import type { ExecResult, Sandbox } from "./Sandbox.js"
import { ensureTinyGuest, TINY_GUEST_APPEND } from "./TinyGuest.js"

export const BOOT_DIR = "/var/lib/machina/boot"
export const DISK_DIR = "/var/lib/machina/disks"
export const BRIDGE = "kvmbr0"

/** A command's exit status and output, for assertion messages. */
export const showExec = (r: ExecResult): string => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`

/** The host file of a tiny-guest host: storages `boot` (kernel, initrd) and `disks`, network `lan` on the bridge. */
export const tinyHostConfig = (dirs: { readonly boot?: string; readonly disks?: string } = {}) => ({
  accelerator: "tcg",
  storage: {
    boot: { path: dirs.boot ?? BOOT_DIR, pattern: "${volume}", type: "firmware", readonly: true },
    disks: { path: dirs.disks ?? DISK_DIR, pattern: "${machine-name}-${volume}.raw", type: "raw" }
  },
  network: { lan: { device: BRIDGE } }
})

/** The tiny guest's boot attributes (kernel and initrd from storage `boot`). */
export const TINY_BOOT = {
  kernel: { name: "vmlinuz", storage: "boot" },
  initrd: { name: "initrd.gz", storage: "boot" },
  append: TINY_GUEST_APPEND
} as const

/** A machine that boots the tiny guest with QMP, one tap on `lan` and one disk `os`. */
export const tinyMachineConfig = (id: string, description: string, ram = 256) => ({
  id,
  description,
  attrs: { memory: { ram }, qmp: { enabled: true }, boot: TINY_BOOT },
  connections: [{ name: "0", network: "lan" }],
  volumes: [{ name: "os", storage: "disks", bootable: true }]
})

/**
 * Installs the real bundle in the sandbox (copied in first: a checkout under /tmp is invisible
 * there) with `install [args]`; returns the install's result after asserting it succeeded.
 */
export const installMachina = async (sandbox: Sandbox, args: ReadonlyArray<string> = []): Promise<ExecResult> => {
  const installed = await sandbox.exec(["node", await copyBundleInto(sandbox), "install", ...args], { timeoutMs: 30_000 })
  if (installed.code !== 0) throw new Error(`machina install ${args.join(" ")} failed\n${showExec(installed)}`)
  return installed
}

export interface TinyHostFiles {
  /** The configuration directory (default /etc/machina). */
  readonly configDir?: string
  readonly bootDir?: string
  readonly diskDir?: string
  /** The host file's content (default {@link tinyHostConfig} of the directories). */
  readonly host?: unknown
  /** Machine name → configuration, written to `<configDir>/machine.conf.d/<name>.conf.json`. */
  readonly machines: Readonly<Record<string, unknown>>
  /** Raw disk images (16 MiB) to create in the disk directory, by file name. */
  readonly disks?: ReadonlyArray<string>
}

/** Makes the bridge, puts the tiny guest in the boot storage, creates the disks and writes the configuration. */
export const provisionTinyHost = async (sandbox: Sandbox, files: TinyHostFiles): Promise<void> => {
  const guest = await ensureTinyGuest()
  const bootDir = files.bootDir ?? BOOT_DIR
  const diskDir = files.diskDir ?? DISK_DIR
  const configDir = files.configDir ?? "/etc/machina"
  await sandbox.execOk(["ip", "link", "add", BRIDGE, "type", "bridge"])
  await sandbox.execOk(["ip", "link", "set", BRIDGE, "up"])
  await sandbox.writeFile(`${bootDir}/vmlinuz`, fs.readFileSync(guest.kernel))
  await sandbox.writeFile(`${bootDir}/initrd.gz`, fs.readFileSync(guest.initrd))
  await sandbox.execOk(["mkdir", "-p", diskDir])
  for (const disk of files.disks ?? []) await sandbox.execOk(["qemu-img", "create", "-q", "-f", "raw", `${diskDir}/${disk}`, "16M"])
  const host = files.host ?? tinyHostConfig({ boot: bootDir, disks: diskDir })
  await sandbox.writeFile(`${configDir}/machina.conf.json`, JSON.stringify(host, null, 2) + "\n")
  for (const [name, config] of Object.entries(files.machines)) {
    await sandbox.writeFile(`${configDir}/machine.conf.d/${name}.conf.json`, JSON.stringify(config, null, 2) + "\n")
  }
}

/** `systemctl show -p …` of a unit, as a record. */
export const unitProps = async (sandbox: Sandbox, unit: string, names: ReadonlyArray<string>): Promise<Record<string, string>> => {
  const out = await sandbox.execOk(["systemctl", "show", "-p", names.join(","), unit])
  return Object.fromEntries(out.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))
}

export interface LinkState {
  readonly flags: Array<string>
  readonly master?: string
}

/** A network link's flags and master, or undefined when it does not exist. */
export const linkState = async (sandbox: Sandbox, name: string): Promise<LinkState | undefined> => {
  const r = await sandbox.exec(["ip", "-j", "link", "show", name])
  if (r.code !== 0) return undefined
  return (JSON.parse(r.stdout) as Array<LinkState>)[0]
}

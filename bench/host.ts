/**
 * An offline simulated host for the hook benchmarks, in a temp dir: a configuration directory
 * (the seed's host file and seed-like machines, two taps each), an empty run directory, a sysfs
 * tree offering the seed's mediated device type, and a bin directory where `machina`,
 * `machina-ifup` and `machina-ifdown` link to machina as `machina install` puts it on a host (the
 * small loader and its bundle directory, installed from the built bundle into `root/usr`);
 * `fileBin` has the same links to the built bundle itself. `env` points machina at it:
 * `MACHINA_CONFIG_DIR`, `MACHINA_RUN_DIR`, `MACHINA_SYSFS_ROOT` and `MACHINA_SIMULATE_LINKS`
 * (the bridge and every tap exist, simulated in memory by each process). No QEMU runs: the
 * machines are stopped, so `shutdown --system` finds no QMP socket.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { machineText } from "./generate.js"

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..")

export interface SimulatedHost {
  readonly dir: string
  /** Links to the installed machina. */
  readonly bin: string
  /** Links to the built bundle itself. */
  readonly fileBin: string
  readonly machines: ReadonlyArray<string>
  readonly taps: (machine: string) => ReadonlyArray<string>
  readonly env: NodeJS.ProcessEnv
  readonly dispose: () => void
}

export const makeHost = (count: number, bundle = "dist/machina.cjs"): SimulatedHost => {
  const dir = mkdtempSync(join(tmpdir(), "machina-bench-host-"))
  const conf = join(dir, "etc")
  mkdirSync(join(conf, "machine.conf.d"), { recursive: true })
  copyFileSync(join(ROOT, "examples/seed/machina.conf.json"), join(conf, "machina.conf.json"))
  const machines: Array<string> = []
  for (let i = 0; i < count; i++) {
    const m = machineText(i)
    // The seed's tags give connection "0"; a second one makes two taps per machine.
    const doc = { ...JSON.parse(m.text), connections: [{ name: "1", network: "local" }] }
    writeFileSync(join(conf, "machine.conf.d", `${m.name}.conf.json`), JSON.stringify(doc, null, "\t"))
    machines.push(m.name)
  }
  const run = join(dir, "run")
  mkdirSync(run)
  // The seed's mdev entry: an RTX 8000 at 0000:c1:00.0 offering "GRID RTX8000-6Q".
  const type = join(dir, "sys/bus/pci/devices/0000:c1:00.0/mdev_supported_types/nvidia-428")
  mkdirSync(type, { recursive: true })
  writeFileSync(join(type, "name"), "GRID RTX8000-6Q\n")
  writeFileSync(join(type, "create"), "")
  mkdirSync(join(dir, "sys/bus/mdev/devices"), { recursive: true })
  const { NODE_OPTIONS: _, ...env } = process.env
  const installed = spawnSync(process.execPath, [resolve(ROOT, bundle), "install", "--root", join(dir, "root")], { env, encoding: "utf8" })
  if (installed.status !== 0) throw new Error(`machina install --root failed:\n${installed.stderr}`)
  const bin = join(dir, "bin")
  const fileBin = join(dir, "file-bin")
  for (const [linkDir, target] of [[bin, join(dir, "root/usr/bin/machina")], [fileBin, resolve(ROOT, bundle)]] as const) {
    mkdirSync(linkDir)
    for (const name of ["machina", "machina-ifup", "machina-ifdown"]) symlinkSync(target, join(linkDir, name))
  }
  const taps = (machine: string) => [`${machine}.0`, `${machine}.1`]
  return {
    dir,
    bin,
    fileBin,
    machines,
    taps,
    env: {
      ...env,
      MACHINA_CONFIG_DIR: conf,
      MACHINA_RUN_DIR: run,
      MACHINA_SYSFS_ROOT: join(dir, "sys"),
      MACHINA_SIMULATE_LINKS: ["kvmbr0:bridge", ...machines.flatMap(taps)].join(",")
    },
    dispose: () => rmSync(dir, { recursive: true, force: true })
  }
}

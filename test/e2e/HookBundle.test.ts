/**
 * The built bundle's two ways in (scripts/build.mjs): the loader runs the hook bundle for the
 * commands HookArgv recognises and the full CLI otherwise, and the hook bundle hands what it
 * cannot take as given (a `--timeout` that does not parse) to the full CLI. Runs
 * dist/machina.cjs (built by `npm test` / `npm run build`) through `machina`, `machina-ifup` and
 * `machina-ifdown` links, on an offline host: the seed configuration, links simulated
 * (MACHINA_SIMULATE_LINKS), run directory and sysfs in a temp dir.
 */
import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const bundle = resolve("dist/machina.cjs")

describe.skipIf(!existsSync(bundle))("dist/machina.cjs hooks", () => {
  const run = (program: string, args: ReadonlyArray<string>, links = "kvmbr0:bridge,test-vm.0") => {
    const dir = mkdtempSync(join(tmpdir(), "machina-hookbundle-"))
    try {
      mkdirSync(join(dir, "run"))
      mkdirSync(join(dir, "sys/bus/pci/devices"), { recursive: true })
      symlinkSync(bundle, join(dir, program))
      const { NODE_OPTIONS: _, ...env } = process.env
      const r = spawnSync(process.execPath, [join(dir, program), ...args], {
        encoding: "utf8",
        timeout: 60_000,
        env: {
          ...env,
          MACHINA_CONFIG_DIR: resolve("examples/seed"),
          MACHINA_RUN_DIR: join(dir, "run"),
          MACHINA_SYSFS_ROOT: join(dir, "sys"),
          MACHINA_SIMULATE_LINKS: links
        }
      })
      return { status: r.status, stdout: r.stdout.replaceAll(dir, "$TMP"), stderr: r.stderr.replaceAll(dir, "$TMP") }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  it("machina-ifup and machina-ifdown set simulated links", () => {
    expect(run("machina-ifup", ["test-vm.0"])).toEqual({ status: 0, stdout: "test-vm.0: enabled\n", stderr: "" })
    expect(run("machina-ifdown", ["test-vm.0"])).toEqual({ status: 0, stdout: "test-vm.0: disabled\n", stderr: "" })
    expect(run("machina-ifup", ["test-vm.0"], "test-vm.0")).toEqual({ status: 1, stdout: "", stderr: "test-vm.0: failed: link \"kvmbr0\" not found\n" })
    expect(run("machina-ifup", ["nope"]).stderr).toBe("machina-ifup: error: \"nope\": no machine, machine.connection or tap interface of this host has that name\n")
  })

  it("prepare reports a missing sysfs parent; shutdown --system of a stopped machine runs", () => {
    const prepared = run("machina", ["prepare", "test-vm"])
    expect(prepared.status).toBe(1)
    expect(prepared.stderr).toMatch(/^machina: error: .*0000:c1:00\.0/)
    const stopped = run("machina", ["shutdown", "--system", "--timeout", "1m25s", "test-vm"])
    // Whether a stopped machine is a failure or not is the shutdown program's call; the hook runs it.
    expect([0, 1]).toContain(stopped.status)
    expect(stopped.stdout + stopped.stderr).toContain("test-vm")
    expect(stopped.stderr).not.toContain("internal error")
  })

  it("leaves help and bad values to the full CLI", () => {
    const help = run("machina", ["prepare", "--help"])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain("Prepares the host environment")
    const bad = run("machina", ["shutdown", "--system", "--timeout", "soon", "test-vm"])
    expect(bad.status).toBe(2)
    expect(bad.stdout + bad.stderr).toContain("invalid duration \"soon\"")
  })
})

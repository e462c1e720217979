/**
 * The built bundle's two ways in (scripts/build.mjs): the loader runs the hook bundle for the
 * commands HookArgv recognises and the full CLI otherwise (checked with MACHINA_BUNDLE=report,
 * which also names the code cache each bundle was compiled with and says whether V8 took it),
 * and for every hook the hook bundle prints and exits exactly as the full CLI of the same file
 * (MACHINA_BUNDLE=full). The hook bundle hands what it cannot take as given (a `--timeout` that
 * does not parse) to the full CLI. Runs dist/machina.cjs (`npm run build`) through `machina`,
 * `machina-ifup` and `machina-ifdown` links on an offline host: the seed configuration, links
 * simulated (MACHINA_SIMULATE_LINKS), run directory and sysfs in a fresh temp dir per run.
 * Everything is checked twice: on dist/machina.cjs itself, and on the form `machina install` writes
 * (a small loader in bin/, the bundles in lib/machina/<id>/), which must also print and exit as the
 * built file does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUNDLE, REPO } from "../support/Bundle.js"

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** The file the `machina` links point at: dist/machina.cjs, or the installed loader. */
let target = BUNDLE

const run = (
  program: string,
  args: ReadonlyArray<string>,
  options: { links?: string; bundle?: string; mdev?: boolean; env?: Record<string, string>; target?: string } = {}
): Run => {
  const dir = mkdtempSync(join(tmpdir(), "machina-hookbundle-"))
  try {
    mkdirSync(join(dir, "run"))
    mkdirSync(join(dir, "sys/bus/pci/devices"), { recursive: true })
    if (options.mdev === true) {
      // The seed's mediated device type, offered by its parent (creating one writes `create`).
      const type = join(dir, "sys/bus/pci/devices/0000:c1:00.0/mdev_supported_types/nvidia-428")
      mkdirSync(type, { recursive: true })
      writeFileSync(join(type, "name"), "GRID RTX8000-6Q\n")
      writeFileSync(join(type, "create"), "")
    }
    symlinkSync(options.target ?? target, join(dir, program))
    const { NODE_OPTIONS: _, MACHINA_BUNDLE: __, ...env } = process.env
    const r = spawnSync(process.execPath, [join(dir, program), ...args], {
      encoding: "utf8",
      timeout: 120_000,
      env: {
        ...env,
        MACHINA_CONFIG_DIR: join(REPO, "examples/seed"),
        MACHINA_RUN_DIR: join(dir, "run"),
        MACHINA_SYSFS_ROOT: join(dir, "sys"),
        MACHINA_SIMULATE_LINKS: options.links ?? "kvmbr0:bridge,test-vm.0",
        ...(options.bundle === undefined ? {} : { MACHINA_BUNDLE: options.bundle }),
        ...options.env
      }
    })
    return { status: r.status, stdout: r.stdout.replaceAll(dir, "$TMP"), stderr: r.stderr.replaceAll(dir, "$TMP") }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const hooks: ReadonlyArray<{ readonly program: string; readonly args: ReadonlyArray<string>; readonly links?: string; readonly mdev?: boolean }> = [
  { program: "machina-ifup", args: ["test-vm.0"] },
  { program: "machina-ifup", args: ["test-vm.0"], links: "test-vm.0" },
  { program: "machina-ifup", args: ["nope"] },
  { program: "machina-ifdown", args: ["test-vm.0"] },
  { program: "machina", args: ["prepare", "test-vm"] },
  { program: "machina", args: ["prepare", "test-vm"], mdev: true },
  { program: "machina", args: ["prepare", "--swtpm", "test-vm"] },
  { program: "machina", args: ["teardown", "test-vm"] },
  { program: "machina", args: ["shutdown", "--system", "--timeout", "1m25s", "test-vm"] },
  { program: "machina", args: ["--config-dir", join(REPO, "examples/seed"), "shutdown", "--system", "--wait", "test-vm"] }
]

const forms = ["dist/machina.cjs", "installed"] as const

describe.skipIf(!existsSync(BUNDLE)).each(forms)("%s: hooks", (form) => {
  let root: string | undefined
  beforeAll(() => {
    if (form === "dist/machina.cjs") {
      target = BUNDLE
      return
    }
    root = mkdtempSync(join(tmpdir(), "machina-hookbundle-installed-"))
    execFileSync(process.execPath, [BUNDLE, "install", "--root", root], { encoding: "utf8", timeout: 60_000 })
    target = join(root, "usr/bin/machina")
    // The installed machina is the small loader, not a copy of the built file.
    expect(statSync(target).size).toBeLessThan(64 * 1024)
  })
  afterAll(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true })
  })

  for (const h of hooks) {
    const label = `${h.program} ${h.args.join(" ")}${h.links === undefined ? "" : ` (links ${h.links})`}${h.mdev === true ? " (mdev offered)" : ""}`
    it(`${label}: runs the hook bundle and prints and exits as the full CLI`, { timeout: 240_000 }, () => {
      const options = { ...(h.links === undefined ? {} : { links: h.links }), ...(h.mdev === undefined ? {} : { mdev: h.mdev }) }
      const reported = run(h.program, h.args, { ...options, bundle: "report" })
      expect(reported.stderr.split("\n")[0]).toBe("machina: bundle: hooks")
      // Every hook, installed or run from the built file itself, takes the hook bundle's one cache.
      expect(reported.stderr.split("\n")[1]).toBe("machina: code cache: hooks.cache: accepted")
      const fast = run(h.program, h.args, options)
      const full = run(h.program, h.args, { ...options, bundle: "full" })
      expect(fast).toEqual(full)
      if (form === "installed") expect(fast).toEqual(run(h.program, h.args, { ...options, target: BUNDLE }))
      // Not a vacuous comparison: all but a teardown with nothing to remove print something.
      if (!h.args.includes("teardown")) expect(fast.stdout + fast.stderr).not.toBe("")
      expect(fast.stderr).not.toContain("internal error")
    })
  }

  it("machina-ifup and machina-ifdown set simulated links", { timeout: 120_000 }, () => {
    expect(run("machina-ifup", ["test-vm.0"])).toEqual({ status: 0, stdout: "test-vm.0: enabled\n", stderr: "" })
    expect(run("machina-ifdown", ["test-vm.0"])).toEqual({ status: 0, stdout: "test-vm.0: disabled\n", stderr: "" })
    const noBridge = run("machina-ifup", ["test-vm.0"], { links: "test-vm.0" })
    expect(noBridge.status).toBe(1)
    expect(noBridge.stderr).toContain("test-vm.0: failed: bridge \"kvmbr0\"")
  })

  it("leaves help, other commands and bad values to the full CLI", { timeout: 120_000 }, () => {
    expect(run("machina", ["args", "test-vm"], { bundle: "report" }).stderr.split("\n")[0]).toBe("machina: bundle: full")
    const help = run("machina", ["prepare", "--help"], { bundle: "report" })
    expect(help.stderr).toBe("machina: bundle: full\nmachina: code cache: cli.cache: accepted\n")
    expect(help.status).toBe(0)
    expect(help.stdout).toContain("Prepares the host environment")
    // The hook bundle recognises the shape, cannot parse the duration, and hands over.
    const bad = run("machina", ["shutdown", "--system", "--timeout", "soon", "test-vm"])
    expect(bad).toEqual(run("machina", ["shutdown", "--system", "--timeout", "soon", "test-vm"], { bundle: "full" }))
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("soon")
  })

  // The hook bundle does not carry dbus-next: the loader unpacks it from the file when a hook first
  // talks to systemd (scripts/build.mjs). prepare and teardown, outside their unit, check the unit's
  // state over the system bus: here a private dbus-daemon whose only service, systemd's name, is
  // /bin/false, so activating it fails with an error the command reports. The hook bundle must get
  // that far (connect, authenticate, call) and say the same as the full CLI.
  it.skipIf(!existsSync("/usr/bin/dbus-daemon"))("prepare and teardown reach a real bus through the D-Bus client kept apart", { timeout: 240_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), "machina-hookbundle-bus-"))
    const socket = join(dir, "bus")
    mkdirSync(join(dir, "services"))
    writeFileSync(join(dir, "services/org.freedesktop.systemd1.service"), "[D-BUS Service]\nName=org.freedesktop.systemd1\nExec=/bin/false\n")
    writeFileSync(
      join(dir, "bus.conf"),
      `<busconfig><type>custom</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth><servicedir>${join(dir, "services")}</servicedir>` +
        `<policy context="default"><allow send_destination="*"/><allow receive_sender="*"/><allow own="*"/></policy></busconfig>`
    )
    const pid = Number(
      execFileSync("/usr/bin/dbus-daemon", [`--config-file=${join(dir, "bus.conf")}`, "--fork", "--print-pid=1", "--nosyslog"], {
        encoding: "utf8",
        timeout: 30_000
      }).trim()
    )
    try {
      const env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` }
      for (const args of [["prepare", "test-vm"], ["teardown", "test-vm"]]) {
        expect(run("machina", args, { env, mdev: true, bundle: "report" }).stderr.split("\n")[0]).toBe("machina: bundle: hooks")
        const fast = run("machina", args, { env, mdev: true })
        expect(fast).toEqual(run("machina", args, { env, mdev: true, bundle: "full" }))
        // The bus answered: dbus-next connected, authenticated and made the call.
        expect(fast.status).toBe(1)
        expect(fast.stderr).toContain("org.freedesktop.DBus.Error.Spawn.ChildExited")
        expect(fast.stderr).not.toContain("internal error")
      }
    } finally {
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, "SIGTERM")
      rmSync(dir, { recursive: true, force: true })
    }
  })

  // What a hook loads beyond its bundle costs it: Node's stdio streams (2.5 to 4.5 ms; the hooks
  // write with layers/ConsoleFd.ts), `performance` (1.3 ms; Effect's clock probes it on first use,
  // see effectProbes in scripts/build.mjs), and net or child_process, which these runs do not need
  // (the links are simulated; the stopped machine has no QMP socket). The built file itself loads
  // zlib, and with it the stream modules, to unpack its code cache: installed only. So does the
  // first stack trace formatted (1-2 ms): Effect's probe at load, a failing span's call site
  // (effectProbes; layers/Traced.ts), and Schema, which only a failure needs (schemaOnDemand).
  it.runIf(form === "installed")("installed, the frequent hooks load no stdio stream, performance, net, child_process or Schema, and format no stack", { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), "machina-hookbundle-probe-"))
    try {
      const probe = join(dir, "probe.cjs")
      writeFileSync(
        probe,
        `let stacks = 0
Error.prepareStackTrace = (e, sites) => { stacks++; return String(e) + sites.map((s) => "\\n    at " + s).join("") }
const schema = () => { const store = globalThis["effect/GlobalValue"]; return store instanceof Map && store.has("effect/Schema/astCache") }
process.on("exit", () => require("node:fs").writeSync(2, "loaded: " + JSON.stringify(process.moduleLoadList.filter((m) => /^NativeModule (stream|net|tty|child_process|internal\\/perf\\/performance)$/.test(m))) + " stacks: " + stacks + " schema: " + schema() + "\\n"))\n`
      )
      // Not vacuous: the probe counts a stack formatted.
      expect(spawnSync(process.execPath, ["--require", probe, "-e", "new Error().stack"], { encoding: "utf8" }).stderr).toBe("loaded: [] stacks: 1 schema: false\n")
      for (const [program, args, stdout] of [
        ["machina-ifup", ["test-vm.0"], "test-vm.0: enabled\n"],
        ["machina-ifdown", ["test-vm.0"], "test-vm.0: disabled\n"],
        ["machina", ["shutdown", "--system", "--timeout", "1m25s", "test-vm"], "test-vm: QEMU has already exited (no QEMU process serves its QMP socket). Shutdown complete.\n"]
      ] as const) {
        const r = run(program, args, { env: { NODE_OPTIONS: `--require ${probe}` } })
        expect(r).toEqual({ status: 0, stdout, stderr: "loaded: [] stacks: 0 schema: false\n" })
      }
      // Not vacuous: a hook that fails builds its error class, with Schema (Effect's global store says so).
      const failed = run("machina-ifup", ["nosuch.0"], { env: { NODE_OPTIONS: `--require ${probe}` } })
      expect(failed.status).toBe(1)
      expect(failed.stderr).toContain(" schema: true\n")
      // Not vacuous: a hook that does talk to a socket loads net.
      const bus = run("machina", ["teardown", "test-vm"], { env: { NODE_OPTIONS: `--require ${probe}`, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(dir, "no-bus")}` } })
      expect(bus.stderr).toContain('"NativeModule net"')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.runIf(form === "installed")("a missing code cache only makes a hook compile its bundle: same output, reported as none", { timeout: 120_000 }, () => {
    const lib = join(root!, "usr/lib/machina")
    const [id] = readdirSync(lib)
    for (const [program, args, cache] of [["machina-ifup", ["test-vm.0"], "hooks.cache"], ["machina", ["shutdown", "--system", "test-vm"], "hooks.cache"]] as const) {
      const file = join(lib, id!, cache)
      const before = run(program, args)
      execFileSync("mv", [file, `${file}.away`])
      try {
        expect(run(program, args, { bundle: "report" }).stderr.split("\n").slice(0, 2)).toEqual(["machina: bundle: hooks", `machina: code cache: ${cache}: none`])
        expect(run(program, args)).toEqual(before)
      } finally {
        execFileSync("mv", [`${file}.away`, file])
      }
    }
  })

  // The loader reads a bundle and then its cache into one buffer sized for the installed files;
  // a file grown since (edited by hand, say) is read whole all the same.
  it.runIf(form === "installed")("a bundle larger than when installed is read whole: same output, its cache rejected", { timeout: 120_000 }, () => {
    const lib = join(root!, "usr/lib/machina")
    const [id] = readdirSync(lib)
    const file = join(lib, id!, "hooks.js")
    const before = run("machina-ifup", ["test-vm.0"])
    execFileSync("cp", [file, `${file}.away`])
    try {
      appendFileSync(file, `\n/* ${"x".repeat(2 * 1024 * 1024)} */\n`)
      expect(run("machina-ifup", ["test-vm.0"], { bundle: "report" }).stderr.split("\n").slice(0, 2)).toEqual(["machina: bundle: hooks", "machina: code cache: hooks.cache: rejected"])
      expect(run("machina-ifup", ["test-vm.0"])).toEqual(before)
    } finally {
      execFileSync("mv", [`${file}.away`, file])
    }
  })

  it.runIf(form === "installed")("an installation without its bundle directory says so and exits 70", { timeout: 60_000 }, () => {
    const lib = join(root!, "usr/lib/machina")
    const [id] = readdirSync(lib)
    const moved = join(lib, `${id}.away`)
    rmSync(moved, { recursive: true, force: true })
    execFileSync("mv", [join(lib, id!), moved])
    try {
      for (const [program, args] of [["machina-ifup", ["test-vm.0"]], ["machina", ["args", "test-vm"]]] as const) {
        const r = run(program, args)
        expect(r.status).toBe(70)
        expect(r.stdout).toBe("")
        expect(r.stderr).toBe(`machina: cannot read ${join(lib, id!, program === "machina" ? "cli.js" : "hooks.js")} (ENOENT): this installation of machina is incomplete; install it again\n`)
      }
    } finally {
      execFileSync("mv", [moved, join(lib, id!)])
    }
  })
})

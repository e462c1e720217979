/**
 * `machina install` from the built bundle into a staging root: idempotent, atomic, completion for
 * bash, zsh and fish (driven in the shells by Completion.test.ts). It installs the built file's
 * installed form: a small loader as bin/machina and the bundles in lib/machina/<id>/
 * (scripts/build.mjs); upgrades keep the directory of the loader they replace and remove older ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUNDLE } from "../support/Bundle.js"

const bundle = BUNDLE
let root: string

const install = () => spawnSync(process.execPath, [bundle, "install", "--root", root], { encoding: "utf8", timeout: 20_000 })

describe("install", () => {
  beforeAll(() => {
    // An empty staging root: no usr/share/bash-completion, zsh or fish there (packaging).
    root = mkdtempSync(join(tmpdir(), "machina-install-"))
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it("installs the bundle, the ifup/ifdown links, completion and /etc/machina, then changes nothing", () => {
    const first = install()
    expect(first.status).toBe(0)
    expect(first.stdout.split("\n").filter((l) => l.endsWith(": created"))).toHaveLength(9)
    expect(first.stdout).not.toMatch(/skipped|not installed/)
    for (const script of ["usr/share/bash-completion/completions/machina", "usr/share/zsh/vendor-completions/_machina", "usr/share/fish/vendor_completions.d/machina.fish"]) {
      expect(readFileSync(join(root, script), "utf8"), script).toContain("__complete")
      expect(statSync(join(root, script)).mode & 0o777).toBe(0o644)
    }
    const bin = join(root, "usr/bin/machina")
    const loader = readFileSync(bin, "latin1")
    expect(loader.startsWith("#!/usr/bin/env node\n")).toBe(true)
    expect(loader.length).toBeLessThan(64 * 1024)
    expect(statSync(bin).mode & 0o777).toBe(0o755)
    // The loader names its bundle directory, which holds every bundle and is all this install wrote there.
    const id = loader.match(/^ {2}const id = "([0-9a-f]{16})"$/m)?.[1]
    expect(readdirSync(join(root, "usr/lib/machina"))).toEqual([id])
    const bundles = join(root, "usr/lib/machina", id!)
    expect(readdirSync(bundles).sort()).toEqual(["cli.cache", "cli.js", "dbus-next.js", "hooks.cache", "hooks.js"])
    expect(first.stdout).toContain(`bundles    ${bundles}: created`)
    for (const file of readdirSync(bundles)) expect(statSync(join(bundles, file)).mode & 0o777).toBe(0o644)
    // The bundles' sources are the built file's own bytes (its loader stores them raw).
    const built = readFileSync(bundle)
    for (const file of ["cli.js", "hooks.js"]) expect(built.includes(readFileSync(join(bundles, file)).subarray(0, 4096))).toBe(true)
    // Each code cache is one V8 takes for its bundle's source (in a Node without NODE_OPTIONS, as
    // machina runs).
    const { NODE_OPTIONS: _, ...cleanEnv } = process.env
    for (const [source, cache] of [["cli.js", "cli.cache"], ["hooks.js", "hooks.cache"]]) {
      const check = spawnSync(process.execPath, [
        "-e",
        `const fs = require("node:fs"); const s = new (require("node:vm").Script)(fs.readFileSync(process.argv[1]).latin1Slice(), { cachedData: fs.readFileSync(process.argv[2]) }); process.stdout.write(String(s.cachedDataRejected))`,
        join(bundles, source),
        join(bundles, cache)
      ], { encoding: "utf8", env: cleanEnv, timeout: 20_000 })
      expect(check.stdout, cache).toBe("false")
    }
    expect(readlinkSync(join(root, "usr/bin/machina-ifup"))).toBe("machina")
    expect(readlinkSync(join(root, "usr/bin/machina-ifdown"))).toBe("machina")
    expect(statSync(join(root, "etc/machina/machine.conf.d")).isDirectory()).toBe(true)
    const inode = statSync(bin).ino
    const second = install()
    expect(second.status).toBe(0)
    expect(second.stdout.split("\n").filter((l) => l !== "").every((l) => l.endsWith(": unchanged"))).toBe(true)
    expect(statSync(bin).ino).toBe(inode)
  })

  it("installed binary works and reinstalling itself is a no-op that never truncates it", () => {
    const bin = join(root, "usr/bin/machina")
    expect(execFileSync(bin, ["gen-mac"], { encoding: "utf8" })).toMatch(/^52:54:00(:[0-9a-f]{2}){3}\n$/)
    const self = spawnSync(bin, ["install", "--root", root], { encoding: "utf8", timeout: 20_000 })
    expect(self.status).toBe(0)
    expect(self.stdout).toMatch(/usr\/bin\/machina: unchanged/)
    expect(self.stdout.split("\n").filter((l) => l !== "").every((l) => l.endsWith(": unchanged"))).toBe(true)
  })

  it("an upgrade keeps the bundles of the loader it replaces and removes older ones", () => {
    const lib = join(root, "usr/lib/machina")
    const bin = join(root, "usr/bin/machina")
    const current = readFileSync(bin, "latin1")
    const id = current.match(/^ {2}const id = "([0-9a-f]{16})"$/m)![1]!
    // As if the installed machina were an older build (its loader naming 1111…), with an even older one's directory left.
    const older = "0000000000000000"
    const previous = "1111111111111111"
    for (const dir of [older, previous]) {
      mkdirSync(join(lib, dir))
      writeFileSync(join(lib, dir, "cli.js"), "")
    }
    mkdirSync(join(lib, "not-a-build"))
    writeFileSync(bin, current.replace(`  const id = "${id}"`, `  const id = "${previous}"`), { mode: 0o755 })
    const upgrade = install()
    expect(upgrade.status).toBe(0)
    expect(upgrade.stdout).toContain(`binary     ${bin}: updated`)
    expect(upgrade.stdout).toContain(`bundles    ${join(lib, older)}: removed`)
    expect(upgrade.stdout).not.toContain(previous)
    expect(readdirSync(lib).sort()).toEqual([previous, id, "not-a-build"].sort())
    expect(readFileSync(bin, "latin1")).toBe(current)
    // The next upgrade (to the same build) removes what the replaced loader named.
    const again = install()
    expect(again.stdout).toContain(`bundles    ${join(lib, previous)}: removed`)
    expect(readdirSync(lib).sort()).toEqual([id, "not-a-build"].sort())
    rmSync(join(lib, "not-a-build"), { recursive: true })
  })

  it.skipIf(!existsSync("/usr/share/bash-completion/bash_completion"))("completes subcommands, also after sudo", () => {
    const script = `
      source /usr/share/bash-completion/bash_completion
      source ${join(root, "usr/share/bash-completion/completions/machina")}
      __load_completion sudo
      COMP_WORDS=(sudo machina ge); COMP_CWORD=2; COMP_LINE='sudo machina ge'; COMP_POINT=\${#COMP_LINE}
      _sudo sudo ge machina 2>/dev/null
      echo "\${COMPREPLY[@]}"`
    // The installed machina on PATH (the scripts run the machina the user typed).
    const env = { ...process.env, PATH: `${join(root, "usr/bin")}:${process.env["PATH"]}` }
    const out = execFileSync("bash", ["-c", script], { encoding: "utf8", env })
    expect(out.trim().split(/\s+/)).toEqual(expect.arrayContaining(["gen-id", "gen-mac", "generate"]))
  })
})

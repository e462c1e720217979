/**
 * `machina install` from the built bundle into a staging root: idempotent, atomic, completion for
 * bash, zsh and fish (driven in the shells by Completion.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs"
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
    expect(first.stdout.split("\n").filter((l) => l.endsWith(": created"))).toHaveLength(8)
    expect(first.stdout).not.toMatch(/skipped|not installed/)
    for (const script of ["usr/share/bash-completion/completions/machina", "usr/share/zsh/vendor-completions/_machina", "usr/share/fish/vendor_completions.d/machina.fish"]) {
      expect(readFileSync(join(root, script), "utf8"), script).toContain("__complete")
      expect(statSync(join(root, script)).mode & 0o777).toBe(0o644)
    }
    const bin = join(root, "usr/bin/machina")
    expect(readFileSync(bin)).toEqual(readFileSync(bundle))
    expect(statSync(bin).mode & 0o777).toBe(0o755)
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
    expect(readFileSync(bin)).toEqual(readFileSync(bundle))
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

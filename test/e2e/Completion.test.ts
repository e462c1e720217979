/**
 * Completion in the real shells: `machina install --root` stages the bash, zsh and fish scripts,
 * and each shell completes lines with them as a user's would (bash through bash-completion,
 * zsh through compinit on a pseudo-terminal, fish through `complete -C`), also after `sudo`.
 * Names come from a temporary configuration directory (MACHINA_CONFIG_DIR, or `--config-dir` on
 * the line). Everything is spawned with argument vectors: lines and paths are never put into a
 * shell's source.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { BUNDLE, REPO } from "../support/Bundle.js"

const has = (program: string) => spawnSync("sh", ["-c", 'command -v "$1"', "sh", program]).status === 0
const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

let dir: string
let root: string
let conf: string
let env: NodeJS.ProcessEnv

const run = (program: string, args: ReadonlyArray<string>, extraEnv: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(program, args, { encoding: "utf8", timeout: 120_000, env: { ...env, ...extraEnv } })
  expect(r.error, `${program} ${args.join(" ")}`).toBeUndefined()
  expect(r.status, `${program}: ${r.stderr}`).toBe(0)
  return r.stdout
}

/**
 * bash: sources bash-completion and the installed script, then for each line sets COMP_WORDS as
 * readline would (a "=" is a word of its own) and calls the function `complete` registered for
 * the line's command (`_machina`, or `_sudo` which hands over to it). Prints LINE<TAB>CANDIDATES.
 */
const BASH_DRIVER = `
source "$1"; source "$2"; shift 2
__load_completion sudo
for line in "$@"; do
  COMP_LINE=$line COMP_POINT=\${#line}
  read -ra COMP_WORDS <<<"\${line//=/ = }"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  spec=$(complete -p "\${COMP_WORDS[0]}")
  fn=\${spec#*-F }; fn=\${fn%% *}
  "$fn" "\${COMP_WORDS[0]}" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\\t%s\\n' "$line" "\${COMPREPLY[*]}"
done`

const bash = (lines: ReadonlyArray<string>, extraEnv: NodeJS.ProcessEnv = {}): Map<string, Array<string>> => {
  const out = run("bash", ["--norc", "--noprofile", "-c", BASH_DRIVER, "bash", BASH_COMPLETION, join(root, "usr/share/bash-completion/completions/machina"), ...lines], extraEnv)
  return new Map(out.split("\n").filter((l) => l.includes("\t")).map((l) => {
    const [line, words] = l.split("\t") as [string, string]
    return [line, words.split(" ").filter((w) => w !== "").sort()]
  }))
}

/** zsh: every line in one interactive zsh on a pseudo-terminal (test/support/zsh-complete.zsh). */
const zsh = (lines: ReadonlyArray<string>): Map<string, Array<string>> => {
  const out = run("zsh", ["-f", join(REPO, "test/support/zsh-complete.zsh"), join(root, "usr/share/zsh/vendor-completions"), ...lines])
  return new Map(out.split("\n").filter((l) => l.includes("\t")).map((l) => {
    const [line, words] = l.split("\t") as [string, string]
    return [line, words.split(" ").filter((w) => w !== "").sort()]
  }))
}

/**
 * fish finds the installed script in its vendor directory under XDG_DATA_DIRS; its own sudo
 * completion hands `sudo machina ...` over (fish completes only commands that exist, and sudo is
 * not installed on the test host: a function named sudo stands in for the command).
 */
const fish = (line: string, extraEnv: NodeJS.ProcessEnv = {}): Array<string> =>
  run("fish", ["-c", "function sudo; end; complete -C $argv[1]", line], {
    XDG_CONFIG_HOME: join(dir, "xdg-config"),
    XDG_DATA_HOME: join(dir, "xdg-data"),
    XDG_DATA_DIRS: join(root, "usr/share"),
    ...extraEnv
  }).split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]!).sort()

describe("completion in bash, zsh and fish", () => {
  beforeAll(() => {
    if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`)
    dir = mkdtempSync(join(tmpdir(), "machina-completion-"))
    root = join(dir, "root")
    conf = join(dir, "conf")
    mkdirSync(join(conf, "machine.conf.d"), { recursive: true })
    writeFileSync(join(conf, "machina.conf.json"), JSON.stringify({
      storage: {},
      network: { lan: { device: "br0" }, dmz: { device: "br1" } },
      tag: { small: { attrs: { memory: { ram: 512 } } }, linux: {} }
    }))
    writeFileSync(join(conf, "machine.conf.d/test-vm.conf.json"), JSON.stringify({
      tags: ["small"],
      connections: [{ name: "lan", network: "lan" }, { name: "wan", network: "dmz" }]
    }))
    writeFileSync(join(conf, "machine.conf.d/test-two.conf.json"), JSON.stringify({ tags: ["small"] }))
    writeFileSync(join(conf, "machine.conf.d/web.conf.json"), JSON.stringify({ tags: ["small"] }))
    const installed = spawnSync(process.execPath, [BUNDLE, "install", "--root", root], { encoding: "utf8", timeout: 60_000 })
    expect(installed.status, installed.stderr).toBe(0)
    // The installed machina on PATH, as after `machina install`; the configuration by environment.
    env = { ...process.env, PATH: `${join(root, "usr/bin")}:${process.env["PATH"]}`, MACHINA_CONFIG_DIR: conf }
    delete env["MACHINA_UNIT_DIR"]
  }, 300_000)
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it.skipIf(!existsSync(BASH_COMPLETION))("bash: machines, connections, tags, option values, also after sudo", () => {
    const got = bash([
      "machina start te",
      "sudo machina start te",
      "machina connect test-vm",
      "machina list --format ",
      "machina list --format=j",
      "machina new web2 --tag ",
      "machina help que",
      `machina --config-dir ${join(dir, "nowhere")} start `,
      `machina generate --unit-dir ${join(dir, "ro")}`
    ])
    expect(got.get("machina start te")).toEqual(["test-two", "test-vm"])
    expect(got.get("sudo machina start te")).toEqual(["test-two", "test-vm"])
    expect(got.get("machina connect test-vm")).toEqual(["test-vm", "test-vm.lan", "test-vm.wan"])
    expect(got.get("machina list --format ")).toEqual(["json", "text"])
    expect(got.get("machina list --format=j")).toEqual(["json"])
    expect(got.get("machina new web2 --tag ")).toEqual(["linux", "small"])
    expect(got.get("machina help que")).toEqual(["query"])
    expect(got.get(`machina --config-dir ${join(dir, "nowhere")} start `)).toEqual([])
    expect(got.get(`machina generate --unit-dir ${join(dir, "ro")}`)).toEqual([root])
  }, 300_000)

  it.skipIf(!has("zsh"))("zsh: machines, connections, options and their values, also after sudo", () => {
    const lines = [
      "machina start te",
      "sudo machina start te",
      "machina disconnect test-vm.",
      "machina check --format=",
      "machina stop --ti",
      `machina --config-dir ${join(dir, "nowhere")} new x --tag `,
      `machina --config-dir ${conf} new x --tag `
    ]
    const got = zsh(lines)
    expect([...got.keys()]).toEqual(lines)
    expect(got.get("machina start te")).toEqual(["test-two", "test-vm"])
    expect(got.get("sudo machina start te")).toEqual(["test-two", "test-vm"])
    expect(got.get("machina disconnect test-vm.")).toEqual(["test-vm.lan", "test-vm.wan"])
    expect(got.get("machina check --format=")).toEqual(["--format=json", "--format=text"])
    // Commands and options come with descriptions (shown, not inserted).
    expect(got.get("machina stop --ti")).toEqual(["--timeout"])
    // The line's --config-dir wins over MACHINA_CONFIG_DIR.
    expect(got.get(`machina --config-dir ${join(dir, "nowhere")} new x --tag `)).toEqual([])
    expect(got.get(`machina --config-dir ${conf} new x --tag `)).toEqual(["linux", "small"])
  }, 300_000)

  it.skipIf(!has("fish"))("fish: machines, connections, commands, option values, also after sudo", () => {
    expect(fish("machina start te")).toEqual(["test-two", "test-vm"])
    expect(fish("sudo machina start te")).toEqual(["test-two", "test-vm"])
    expect(fish("machina connect test-vm.")).toEqual(["test-vm.lan", "test-vm.wan"])
    expect(fish("machina list --format ")).toEqual(["json", "text"])
    expect(fish("machina gen")).toEqual(["gen-id", "gen-mac", "generate"])
    expect(fish(`machina --config-dir=${conf} cat `, { MACHINA_CONFIG_DIR: "" })).toEqual(["system", "test-two", "test-vm", "web"])
  }, 300_000)

  it.skipIf(!existsSync(BASH_COMPLETION))("the installed machina is used when machina is not on the user's PATH", () => {
    // A script printed by the installed machina names it as the fallback.
    const bin = join(root, "usr/bin/machina")
    const printed = join(dir, "printed.bash")
    writeFileSync(printed, run(bin, ["--completions", "bash"]))
    const out = run("bash", ["--norc", "--noprofile", "-c", BASH_DRIVER, "bash", BASH_COMPLETION, printed, "machina start w"], {
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`
    })
    expect(out).toBe("machina start w\tweb\n")
  }, 300_000)
})

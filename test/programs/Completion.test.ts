/**
 * `machina __complete WORD...`, the candidates the bash, zsh and fish scripts offer: from the Help
 * table (commands, options, choices, argument kinds) and the configuration (machines, tags,
 * connections). The shells themselves are driven in test/e2e/Completion.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import { analyse, argKind, candidates, type NameSource, optionKind, script, shellWord, SHELLS } from "../../src/programs/Completion.js"
import { COMMANDS, type CommandSpec, GLOBAL_OPTIONS, ROOT } from "../../src/programs/Help.js"
import { runCli } from "../support/Cli.js"

const host = {
  storage: {},
  network: { lan: { device: "br0" }, dmz: { device: "br1" } },
  tag: { small: { attrs: { memory: { ram: 512 } } }, linux: {} }
}
const machines = {
  "test-vm": { tags: ["small"], connections: [{ name: "lan", network: "lan" }, { name: "wan", network: "dmz" }] },
  "test-two": { tags: ["small"] },
  web: { tags: ["small"] }
}
const simulated = ConfigStoreMemory.layer({ location: "/etc/machina", host, machines })

const complete = (...words: Array<string>) =>
  Effect.map(runCli(["__complete", ...words], simulated), (r) => {
    expect(r.stderr).toBe("")
    expect(r.exitCode).toBe(0)
    return r.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]!)
  })

describe("completion candidates", () => {
  it.effect("machine names for every argument that takes machines, not those already given", () =>
    Effect.gen(function*() {
      const machineCommands = COMMANDS.filter((c) => c.args.some((a) => a.name === "MACHINE"))
      expect(machineCommands.length).toBeGreaterThan(15)
      for (const c of machineCommands) {
        const got = yield* complete(c.name, "te")
        expect(got, c.name).toEqual(expect.arrayContaining(["test-two", "test-vm"]))
        expect(got, c.name).not.toContain("web")
      }
      expect(yield* complete("query", "cpu", "w")).toEqual(["web"])
      expect(yield* complete("start", "test-vm", "te")).toEqual(["test-two"])
      expect(yield* complete("cat", "")).toEqual(["system", "test-two", "test-vm", "web"])
    }))

  it.effect("commands, subcommands and help topics", () =>
    Effect.gen(function*() {
      expect(yield* complete("")).toEqual(COMMANDS.map((c) => c.name))
      expect(yield* complete("st")).toEqual(["status", "start", "stop"])
      expect(yield* complete("query", "")).toEqual(["pci", "cpu"])
      expect(yield* complete("help", "q")).toEqual(["query"])
      expect(yield* complete("help", "query", "")).toEqual(["pci", "cpu"])
      expect(yield* complete("--log-level", "debug", "li")).toEqual(["list"])
      expect(yield* complete("lsit", "")).toEqual([])
    }))

  it.effect("commands and options carry their description after a tab (zsh and fish show it)", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["__complete", "stop", "--t"], simulated)
      expect(r.stdout).toBe("--timeout\tHow long to wait for each systemd job (e.g. 90s, 2m); when it expires the job goes on in systemd\n")
      const commands = (yield* runCli(["__complete", "gen"], simulated)).stdout
      expect(commands).toBe("generate\tGenerates systemd unit configuration files from /etc/machina/machine.conf.d/*.conf.json\n" +
        "gen-id\tGenerate a random machine identifier\ngen-mac\tGenerate a random MAC hardware address\n")
      expect((yield* runCli(["__complete", "list", "--format", ""], simulated)).stdout).toBe("text\njson\n")
    }))

  it.effect("option names of the command and the global ones; option values", () =>
    Effect.gen(function*() {
      expect(yield* complete("list", "--")).toEqual(["--format", ...GLOBAL_OPTIONS.map((o) => o.names[0])])
      expect(yield* complete("stop", "--t")).toEqual(["--timeout"])
      expect(yield* complete("list", "--format", "")).toEqual(["text", "json"])
      expect(yield* complete("check", "-f", "j")).toEqual(["json"])
      expect(yield* complete("list", "--format=")).toEqual(["--format=text", "--format=json"])
      expect(yield* complete("--log-level", "d")).toEqual(["debug"])
      expect(yield* complete("--completions", "")).toEqual(["sh", "bash", "fish", "zsh"])
      expect(yield* complete("plan", "--hardware-revision", "2026")).toEqual(["2026.12"])
      expect(yield* complete("generate", "--unit-dir", "/e")).toEqual([":directory"])
      expect(yield* complete("--config-dir=/e")).toEqual([":directory"])
      expect(yield* complete("ui", "--socket", "")).toEqual([":file"])
      expect(yield* complete("stop", "--timeout", "")).toEqual([])
    }))

  it.effect("tags for --tag, connections for connect and disconnect", () =>
    Effect.gen(function*() {
      expect(yield* complete("new", "web2", "--tag", "")).toEqual(["small", "linux"])
      expect(yield* complete("new", "web2", "--tag=l")).toEqual(["--tag=linux"])
      expect(yield* complete("connect", "te")).toEqual(["test-two", "test-vm"])
      expect(yield* complete("connect", "test-vm")).toEqual(["test-vm", "test-vm.lan", "test-vm.wan"])
      expect(yield* complete("disconnect", "test-vm.w")).toEqual(["test-vm.wan"])
    }))

  it.effect("reads the line's --config-dir, and a bad configuration only means no names", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "machina-complete-"))
      try {
        mkdirSync(join(dir, "machine.conf.d"))
        writeFileSync(join(dir, "machina.conf.json"), "{ not json")
        writeFileSync(join(dir, "machine.conf.d", "alpha.conf.json"), "{}")
        writeFileSync(join(dir, "machine.conf.d", "beta.conf.json"), "[]")
        for (const words of [["--config-dir", dir, "start", ""], ["start", `--config-dir=${dir}`, ""]]) {
          const r = yield* runCli(["__complete", ...words])
          expect(r).toEqual({ stdout: "alpha\nbeta\n", stderr: "", exitCode: 0 })
        }
        // The host file does not parse: no tags, no connections, no error.
        expect(yield* runCli(["__complete", "--config-dir", dir, "new", "x", "--tag", ""])).toEqual({ stdout: "", stderr: "", exitCode: 0 })
        expect(yield* runCli(["__complete", "--config-dir", dir, "connect", "alpha"])).toEqual({ stdout: "alpha\n", stderr: "", exitCode: 0 })
        expect(yield* runCli(["__complete", "--config-dir", join(dir, "missing"), "start", ""])).toEqual({ stdout: "", stderr: "", exitCode: 0 })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))

  it("reads a --config-dir written with ~, quotes or backslashes as the shell will", () => {
    expect(shellWord("~/vms", "/home/ann")).toBe("/home/ann/vms")
    expect(shellWord("'/etc/my vms'")).toBe("/etc/my vms")
    expect(shellWord("\"/etc/vms\"")).toBe("/etc/vms")
    expect(shellWord("/etc/my\\ vms")).toBe("/etc/my vms")
    expect(analyse(["--config-dir", "~/vms", "start", ""]).configDir).toBe(shellWord("~/vms"))
    expect(analyse(["start", "--config-dir='/a b'", ""]).configDir).toBe("/a b")
  })

  it.effect("network names where an argument or option takes one", () =>
    Effect.gen(function*() {
      const spec: CommandSpec = {
        ...ROOT,
        subcommands: [{ name: "bridge", summary: "", args: [{ name: "NETWORK", description: "" }], options: [{ names: ["--via"], value: "NETWORK", description: "" }] }]
      }
      const source: NameSource = {
        machines: Effect.succeed([]),
        tags: Effect.succeed([]),
        networks: Effect.succeed(["lan", "dmz"]),
        connections: () => Effect.succeed([])
      }
      expect(yield* candidates(analyse(["bridge", ""], spec), source)).toEqual(["lan", "dmz"])
      expect(yield* candidates(analyse(["bridge", "--via", "d"], spec), source)).toEqual(["dmz"])
    }))

  it("every argument and valued option of the table says what completes it", () => {
    const all = (specs: ReadonlyArray<CommandSpec>): Array<CommandSpec> => specs.flatMap((c) => [c, ...all(c.subcommands ?? [])])
    for (const c of all(COMMANDS)) {
      for (const a of c.args) {
        if (["MACHINE", "TARGET", "COMMAND"].includes(a.name)) expect(argKind(a), `${c.name} ${a.name}`).not.toBe("none")
      }
      for (const o of c.options) {
        if (o.value === "DIR") expect(optionKind(o), `${c.name} ${o.names[0]}`).toBe("directory")
        if (o.value === "TAG") expect(optionKind(o), `${c.name} ${o.names[0]}`).toBe("tag")
      }
    }
  })

  it.effect("__complete is not a command: neither help nor the usage errors know it", () =>
    Effect.gen(function*() {
      expect(COMMANDS.map((c) => c.name)).not.toContain("__complete")
      expect((yield* runCli(["--help"])).stdout).not.toContain("__complete")
      expect((yield* runCli(["list", "__complete"])).exitCode).toBe(2)
    }))
})

describe("completion scripts", () => {
  it.effect("--completions bash|zsh|fish prints machina's own script; sh stays @effect/cli's", () =>
    Effect.gen(function*() {
      for (const shell of SHELLS) {
        const r = yield* runCli(["--completions", shell])
        expect(r.exitCode).toBe(0)
        expect(r.stdout).toContain("__complete")
      }
      const sh = yield* runCli(["--completions", "sh"])
      expect(sh.exitCode).toBe(0)
      expect(sh.stdout).not.toContain("__complete")
      expect(sh.stdout.length).toBeGreaterThan(0)
    }))

  it("quote the fallback machina for each shell", () => {
    const odd = "/opt/it's here/bin/machina"
    expect(script("bash", odd)).toContain(`bin='/opt/it'\\''s here/bin/machina'`)
    expect(script("zsh", odd)).toContain(`bin='/opt/it'\\''s here/bin/machina'`)
    expect(script("fish", odd)).toContain(`set bin '/opt/it\\'s here/bin/machina'`)
  })
})

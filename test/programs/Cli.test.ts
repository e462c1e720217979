/**
 * The command line itself: help texts, global options in any order, usage errors with
 * suggestions, exit statuses. Help output is also kept as golden files (cli-help-and-usage).
 */
import * as Command from "@effect/cli/Command"
import * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import type * as Usage from "@effect/cli/Usage"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { command, commandTree, VERSION } from "../../src/programs/Cli.js"
import { query } from "../../src/programs/Guests.js"
import { COMMANDS, type CommandSpec, find, render, suggest } from "../../src/programs/Help.js"
import { runCli } from "../support/Cli.js"

const named = (u: Usage.Usage): Array<string> => {
  switch (u._tag) {
    case "Named":
      return [...u.names]
    case "Optional":
    case "Repeated":
      return named(u.usage)
    case "Alternation":
    case "Concat":
      return [...named(u.left), ...named(u.right)]
    default:
      return []
  }
}

const leaves = (specs: ReadonlyArray<CommandSpec>, prefix: ReadonlyArray<string> = []): Array<ReadonlyArray<string>> =>
  specs.flatMap((c) => (c.subcommands === undefined ? [[...prefix, c.name]] : leaves(c.subcommands, [...prefix, c.name])))

/** The parser's descriptor of a command (`query` is the only command with subcommands). */
const descriptorAt = (tree: Effect.Effect.Success<typeof command>, path: ReadonlyArray<string>) =>
  path.length === 1
    ? HashMap.unsafeGet(Command.getSubcommands(tree), path[0]!)
    : HashMap.unsafeGet(Command.getSubcommands(query), path[1]!)

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[/

describe("help", () => {
  it.effect("describes exactly the options and arguments the parser accepts, for every command", () =>
    Effect.gen(function*() {
      const tree = yield* command
      const parserCommands = HashMap.keys(Command.getSubcommands(tree))
      expect([...parserCommands].sort()).toEqual(COMMANDS.map((c) => c.name).filter((n) => n !== "help").sort())
      for (const path of leaves(COMMANDS.filter((c) => c.name !== "help"))) {
        const spec = find(path)!
        const words = named(CommandDescriptor.getUsage(descriptorAt(tree, path)))
        const options = words.filter((w) => w.startsWith("-")).sort()
        const args = words.filter((w) => w.startsWith("<"))
        expect(spec.options.map((o) => o.names[0]).sort(), path.join(" ")).toEqual(options)
        expect(spec.args.length, `${path.join(" ")} arguments`).toBe(args.length)
      }
    }))

  it.effect("a run builds the tree of its command alone, which has that command and no other", () =>
    Effect.gen(function*() {
      for (const spec of COMMANDS.filter((c) => c.name !== "help")) {
        const tree = yield* commandTree(spec.name)
        expect([...HashMap.keys(Command.getSubcommands(tree))], spec.name).toEqual([spec.name])
      }
    }))

  it("is plain text with real descriptions, defaults and the exit statuses", () => {
    for (const path of [[], ...leaves(COMMANDS), ["query"]]) {
      const text = render(path)
      expect(text, path.join(" ")).not.toMatch(ANSI)
      expect(text).not.toMatch(/user-defined piece of text/)
      expect(text).toMatch(/^Usage: machina/)
      expect(text).toMatch(/Exit status:\n {2}0 +success/)
      if (path.length > 0) expect(text).not.toMatch(/--completions|--wizard/)
    }
    expect(render(["stop"])).toMatch(/--timeout DURATION +How long .*\(default: 2m\)/s)
    expect(render(["shutdown"])).toMatch(/\(default: 5s\)[\s\S]*\(default: 10s\)/)
    expect(render([])).toMatch(/ 3 +a unit is not active/)
  })

  it.effect("--help, -h and help COMMAND print the same text at any depth, after any global option", () =>
    Effect.gen(function*() {
      for (const argv of [["help", "stop"], ["stop", "--help"], ["--config-dir", "/nowhere", "stop", "-h"], ["--log-level", "debug", "--help", "stop"]]) {
        const r = yield* runCli(argv)
        expect(r, argv.join(" ")).toEqual({ stdout: render(["stop"]), stderr: "", exitCode: 0 })
      }
      const root = yield* runCli(["--config-dir", "/nowhere", "--help"])
      expect(root).toEqual({ stdout: render([]), stderr: "", exitCode: 0 })
      expect((yield* runCli(["help", "query", "cpu"])).stdout).toBe(render(["query", "cpu"]))
      expect((yield* runCli(["query", "--help"])).stdout).toBe(render(["query"]))
    }))

  it.effect("--version works before or after other global options", () =>
    Effect.gen(function*() {
      for (const argv of [["--version"], ["--config-dir", "/nowhere", "--version"], ["--log-level", "debug", "--version"]]) {
        expect(yield* runCli(argv)).toEqual({ stdout: `${VERSION}\n`, stderr: "", exitCode: 0 })
      }
    }))
})

const simulated = Layer.merge(
  ConfigStoreMemory.layer({ location: "/etc/machina", host: { storage: {}, network: {} }, machines: { web: { description: "Web", attrs: { memory: { ram: 512 } } } } }),
  SystemdMemory.layer({ units: [{ name: "machina-web.service", activeState: "active" }] })
)

describe("global options", () => {
  it.effect("come before or after the command, in any order", () =>
    Effect.gen(function*() {
      const expected = yield* runCli(["list"], simulated)
      expect(expected.exitCode).toBe(0)
      expect(expected.stdout).toMatch(/^web +loaded +active/)
      for (const argv of [["--log-level", "warning", "list"], ["list", "--log-level=warning"], ["--log-level", "error", "--config-dir", "/x", "list"]]) {
        const r = yield* runCli(argv, simulated)
        expect(r.exitCode, argv.join(" ")).toBe(0)
        expect(r.stdout.replace(/ +\d+s? +/, " "), argv.join(" ")).toBe(expected.stdout.replace(/ +\d+s? +/, " "))
      }
    }))

  it.effect("--config-dir after the command is the configuration directory too", () =>
    Effect.gen(function*() {
      const before = yield* runCli(["--config-dir", "examples/seed", "args", "test-vm"])
      const after = yield* runCli(["args", "test-vm", "--config-dir=examples/seed"])
      expect(before.exitCode).toBe(0)
      expect(after).toEqual(before)
    }))

  it.effect("a configuration directory named like another command is still the directory", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["--config-dir", "list", "cat", "test-vm"])
      expect(r.stderr).toMatch(/^machina: error: list\/machina\.conf\.json: file not found/)
      expect(r.exitCode).toBe(1)
    }))

  it.effect("--log-level debug logs the files read on stderr, and nothing extra on stdout", () =>
    Effect.gen(function*() {
      const quiet = yield* runCli(["--config-dir", "examples/seed", "cat", "test-vm"])
      const loud = yield* runCli(["--log-level", "debug", "--config-dir", "examples/seed", "cat", "test-vm"])
      expect(loud.stdout).toBe(quiet.stdout)
      expect(quiet.stderr).toBe("")
      expect(loud.stderr).toContain("machina: debug: reading examples/seed/machina.conf.json\n")
      expect(loud.stderr).toContain("machina: debug: reading examples/seed/machine.conf.d/test-vm.conf.json\n")
    }))

  it.effect("--wizard without a terminal is a usage error, not a hang", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["--wizard"])
      expect(r.exitCode).toBe(2)
      expect(r.stderr).toMatch(/^machina: error: --wizard needs a terminal/)
    }))
})

describe("usage errors", () => {
  const usage = (argv: ReadonlyArray<string>) => Effect.map(runCli(argv, simulated), (r) => {
    expect(r.exitCode, argv.join(" ")).toBe(2)
    expect(r.stdout, argv.join(" ")).toBe("")
    return r.stderr
  })

  it.effect("name the word at fault and suggest the closest one", () =>
    Effect.gen(function*() {
      expect(yield* usage(["lsit"])).toBe("machina: error: unknown command \"lsit\"; did you mean \"list\"?\n")
      expect(yield* usage(["--config-dir", "/x", "stauts", "web"])).toBe("machina: error: unknown command \"stauts\"; did you mean \"status\"?\n")
      expect(yield* usage(["query", "foo", "web"])).toMatch(/^machina: error: unknown command "query foo"; expected one of: pci, cpu\n/)
      expect(yield* usage(["query", "cpo", "web"])).toBe("machina: error: unknown command \"query cpo\"; did you mean \"query cpu\"?\n")
      expect(yield* usage(["query"])).toMatch(/^machina: error: "machina query" needs a command: pci, cpu\n/)
      expect(yield* usage(["stop", "--tiemout", "3s", "web"])).toBe("machina: error: unknown option \"--tiemout\" for \"machina stop\"; did you mean \"--timeout\"?\n")
      expect(yield* usage(["list", "--bogus"])).toMatch(/^machina: error: unknown option "--bogus" for "machina list"\nRun 'machina help list' for usage\.\n$/)
      expect(yield* usage(["args", "-x", "web"])).toMatch(/^machina: error: unknown option "-x" for "machina args"/)
      expect(yield* usage(["check", "-f", "xml"])).toMatch(/^machina: error: invalid value "xml" for --format; expected one of: text, json\n/)
      expect(yield* usage(["args"])).toMatch(/^machina: error: "machina args" needs MACHINE\.\.\.\n/)
      expect(yield* usage(["stop", "--timeout", "5x", "web"])).toMatch(/^machina: error: --timeout: invalid duration "5x"/)
      expect(yield* usage(["logs", "-n", "many", "web"])).toMatch(/^machina: error: --lines: expected a whole number, got "many"\n/)
      expect(yield* usage(["run", "a", "b"])).toMatch(/^machina: error: unexpected argument "b" for "machina run"/)
      expect(yield* usage(["stop", "--timeout"])).toMatch(/^machina: error: option --timeout needs a value \(DURATION\)/)
      expect(yield* usage(["gen-id", "extra"])).toMatch(/^machina: error: unexpected argument "extra" for "machina gen-id"/)
      expect(yield* usage(["help", "lsit"])).toBe("machina: error: unknown command \"lsit\"; did you mean \"list\"?\n")
    }))

  it.effect("-f is --format, not a machine name", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["check", "-f", "json"], simulated)
      expect(r.exitCode).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, machines: ["web"] })
    }))

  it("suggests only what looks like a typo", () => {
    expect(suggest("lsit", ["list", "start"])).toBe("list")
    expect(suggest("gen", ["gen-id", "gen-mac", "generate"])).toBe("gen-id")
    expect(suggest("xyzzy", ["list", "start", "stop"])).toBeUndefined()
  })
})

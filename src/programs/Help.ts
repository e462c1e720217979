/**
 * What `machina --help`, `machina help COMMAND` and usage errors print: a table of every command,
 * argument and option with real descriptions and defaults, rendered as plain text (no ANSI, so
 * it reads the same on a terminal, in a pipe and with `NO_COLOR`). Pure: no Effect, no I/O, so
 * it costs nothing at start-up.
 *
 * The table is checked against the @effect/cli command tree by test/programs/Cli.test.ts: every
 * option and argument the parser knows is described here, and nothing else.
 */

import { parseDuration } from "../domain/Duration.js"
import { KNOWN_REVISIONS } from "../domain/qemu/HardwareRevision.js"

/**
 * What completes an argument or an option's value (programs/Completion.ts): names read from the
 * configuration directory (`machine`, `tag`, `network`; `connection` is a machine or
 * MACHINE.CONNECTION), command names (`command`), paths (`file`, `directory`) or nothing (`none`).
 * Absent, it follows from the placeholder: MACHINE, TAG, NETWORK, TARGET, COMMAND, DIR, PATH/FILE.
 */
export type CompletionKind = "machine" | "tag" | "network" | "connection" | "command" | "file" | "directory" | "none"

export interface OptionSpec {
  /** Long name first (`--format`), then aliases (`-f`). */
  readonly names: readonly [string, ...Array<string>]
  /** Placeholder of the value (`DURATION`); absent for a flag. */
  readonly value?: string
  readonly description: string
  readonly default?: string
  readonly choices?: ReadonlyArray<string>
  /** Checks a value: a description of the problem, or undefined when it is acceptable. */
  readonly check?: (value: string) => string | undefined
  /** What completes the value (default: `choices`, else from the placeholder). */
  readonly complete?: CompletionKind
  /** Values to offer when completing, beyond what `complete` finds (not a restriction). */
  readonly values?: ReadonlyArray<string>
}

export interface ArgSpec {
  readonly name: string
  readonly description: string
  readonly repeated?: boolean
  readonly optional?: boolean
  /** What completes the argument (default: from the name, MACHINE → machine names). */
  readonly complete?: CompletionKind
  /** Words to offer when completing, beyond what `complete` finds (`cat system`). */
  readonly values?: ReadonlyArray<string>
}

export interface CommandSpec {
  readonly name: string
  readonly summary: string
  /** More paragraphs shown by `machina help COMMAND`. */
  readonly details?: ReadonlyArray<string>
  readonly args: ReadonlyArray<ArgSpec>
  readonly options: ReadonlyArray<OptionSpec>
  readonly subcommands?: ReadonlyArray<CommandSpec>
  readonly examples?: ReadonlyArray<string>
  /** Exit statuses beyond the common ones. */
  readonly exit?: ReadonlyArray<readonly [number, string]>
}

/** A Go or systemd duration. */
const durationCheck = (value: string): string | undefined => {
  const parsed = parseDuration(value)
  return parsed._tag === "Left" ? parsed.left.message : undefined
}

const countCheck = (value: string): string | undefined =>
  /^\d+$/.test(value) ? undefined : `expected a whole number, got ${JSON.stringify(value)}`

export const LOG_LEVELS = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"] as const

export const EXIT_STATUSES: ReadonlyArray<readonly [number, string]> = [
  [0, "success"],
  [1, "failure (configuration problem, a machine that failed, a host error)"],
  [2, "usage error (unknown command or option, missing or invalid argument)"],
  [3, "a unit is not active (status)"],
  [4, "a guest had to be forced off with quit (shutdown)"],
  [130, "interrupted"]
]

/**
 * The first word of `machina __complete WORD...`, which the completion scripts run for candidates
 * (Completion.ts). Internal: not a command of the table, so neither help nor the parser lists it.
 */
export const COMPLETE_COMMAND = "__complete"

export const HELP_OPTION: OptionSpec = { names: ["--help", "-h"], description: "Show this help and exit." }

/** Options accepted before (and after) any command. */
export const GLOBAL_OPTIONS: ReadonlyArray<OptionSpec> = [
  {
    names: ["--config-dir"],
    value: "DIR",
    description: "Configuration directory holding machina.conf.json and machine.conf.d/ (environment: MACHINA_CONFIG_DIR).",
    default: "/etc/machina"
  },
  {
    names: ["--log-level"],
    value: "LEVEL",
    description: "Log what machina does (files read, D-Bus calls, QMP traffic) on stderr at this level and above: " +
      LOG_LEVELS.join(", ") + ".",
    default: "info",
    choices: LOG_LEVELS
  },
  {
    names: ["--completions"],
    value: "SHELL",
    description: "Print a shell completion script for bash, zsh, fish or sh and exit.",
    choices: ["sh", "bash", "fish", "zsh"]
  },
  { names: ["--wizard"], description: "Build a command line interactively (needs a terminal)." },
  { names: ["--version"], description: "Print the version and exit." },
  HELP_OPTION
]

const format: OptionSpec = {
  names: ["--format", "-f"],
  value: "FORMAT",
  description: "Output format: text or json (README: \"JSON output\").",
  default: "text",
  choices: ["text", "json"]
}

const machines = (what: string): ArgSpec => ({
  name: "MACHINE",
  description: `${what} (the name of machine.conf.d/MACHINE.conf.json).`,
  repeated: true
})

const allOption: OptionSpec = { names: ["--all"], description: "Every machine of the host instead of named ones." }

/** `--yes` of the commands that ask before acting on every machine. */
const yesAll: OptionSpec = { names: ["--yes", "-y"], description: "With --all, do not ask for confirmation (needed without a terminal)." }

const ASKS = "With --all it asks for confirmation on a terminal, and refuses without one unless --yes. " +
  "On a terminal, a line on stderr shows what it waits for and how long is left."

/** MACHINE... that `--all` can replace. */
const machinesOrAll = (what: string): ArgSpec => ({ ...machines(what), description: `${what} (or --all).`, optional: true })

const jobTimeout: OptionSpec = {
  names: ["--timeout"],
  value: "DURATION",
  check: durationCheck,
  description: "How long to wait for each systemd job (e.g. 90s, 2m); when it expires the job goes on in systemd.",
  default: "2m"
}

const queryCommand = (name: string, summary: string, qmp: string): CommandSpec => ({
  name,
  summary,
  details: [`Runs the QMP command ${qmp} on each running machine and prints its result.`],
  args: [machines("Machines to query")],
  options: [format],
  examples: [`machina query ${name} test-vm`, `machina query ${name} --format json test-vm`]
})

export const COMMANDS: ReadonlyArray<CommandSpec> = [
  {
    name: "install",
    summary: "Installs the machina command in the system path.",
    details: [
      "Copies this executable to PREFIX/bin, creates the machina-ifup and machina-ifdown links, completion for bash, zsh " +
      "and fish and the configuration directories. Idempotent.",
      "Completion goes to /usr/share/bash-completion/completions/machina, /usr/share/zsh/vendor-completions/_machina and " +
      "/usr/share/fish/vendor_completions.d/machina.fish; a shell whose directory under /usr/share is missing is skipped " +
      "(under --root, a staging tree, the directories are created)."
    ],
    args: [],
    options: [
      { names: ["--prefix"], value: "DIR", description: "Installation prefix: the binary goes to DIR/bin.", default: "/usr" },
      { names: ["--root"], value: "DIR", description: "Stage the installation under this root instead of the host's.", default: "/" }
    ],
    examples: ["sudo machina install", "machina install --root /tmp/stage"]
  },
  {
    name: "cat",
    summary: "Displays the machina configuration for virtual machines.",
    args: [{
      name: "MACHINE",
      description: "Machines to show, merged with their tags (default: every machine); \"system\" shows the host configuration.",
      repeated: true,
      optional: true,
      values: ["system"]
    }],
    options: [format],
    examples: ["machina cat test-vm", "machina cat system", "machina cat --format json"]
  },
  {
    name: "list",
    summary: "Lists all of the virtual machines present.",
    details: ["Each machine with its unit's load state, active state, how long it has been in it, and its description."],
    args: [],
    options: [format],
    examples: ["machina list", "machina list --format json"]
  },
  {
    name: "status",
    summary: "Displays the systemd unit status for virtual machines.",
    args: [machinesOrAll("Machines whose unit status to show")],
    options: [allOption, format],
    exit: [[3, "a unit is not active"]],
    examples: ["machina status test-vm"]
  },
  {
    name: "observe",
    summary: "Reports QMP events for virtual machines.",
    details: ["Prints every QMP event of the running machines until they stop (or Ctrl-C)."],
    args: [machines("Machines to observe")],
    options: [format],
    examples: ["machina observe test-vm"]
  },
  {
    name: "generate",
    summary: "Generates systemd unit configuration files from /etc/machina/machine.conf.d/*.conf.json.",
    details: ["Writes machina-MACHINE.service for each machine (created, changed or unchanged) and reloads systemd."],
    args: [machinesOrAll("Machines to generate units for")],
    options: [
      allOption,
      { names: ["--preview"], description: "Print the units instead of writing them." },
      { names: ["--no-reload"], description: "Do not ask systemd to reload its units after writing." },
      { names: ["--yes", "-y"], description: "Write units even when the guest-visible hardware of a running machine changes." },
      {
        names: ["--unit-dir"],
        value: "DIR",
        description: "Directory the units are written to; it must exist (environment: MACHINA_UNIT_DIR).",
        default: "/etc/systemd/system"
      }
    ],
    examples: ["machina generate test-vm", "machina generate --preview test-vm"]
  },
  {
    name: "enable",
    summary: "Enables the systemd units for virtual machines.",
    args: [machinesOrAll("Machines to start at boot")],
    options: [allOption],
    examples: ["machina enable test-vm"]
  },
  {
    name: "disable",
    summary: "Disables the systemd units for virtual machines.",
    args: [machinesOrAll("Machines not to start at boot")],
    options: [allOption],
    examples: ["machina disable test-vm"]
  },
  {
    name: "start",
    summary: "Starts the systemd units for virtual machines.",
    details: [
      "Waits for each start job; a machine without a unit needs `machina generate MACHINE` first. " +
      "On a terminal, a line on stderr shows what it waits for and how long is left."
    ],
    args: [machinesOrAll("Machines to start")],
    options: [allOption, { names: ["--yes", "-y"], description: "Accepted as stop and restart accept it; start never asks." }, jobTimeout],
    examples: ["machina start test-vm"]
  },
  {
    name: "stop",
    summary: "Stops the systemd units for virtual machines.",
    details: [
      "Runs the unit's graceful ExecStop (ACPI power-off, then quit) and waits for each stop job. " + ASKS
    ],
    args: [machinesOrAll("Machines to stop")],
    options: [allOption, yesAll, jobTimeout],
    examples: ["machina stop test-vm", "machina stop --timeout 5m test-vm"]
  },
  {
    name: "restart",
    summary: "Restarts the systemd units for virtual machines.",
    details: ["Stops (gracefully) and starts each unit, waiting for the jobs. " + ASKS],
    args: [machinesOrAll("Machines to restart")],
    options: [allOption, yesAll, jobTimeout],
    examples: ["machina restart test-vm"]
  },
  {
    name: "kill",
    summary: "Kills the QEMU processes of virtual machines (SIGKILL through systemd).",
    details: [
      "For a guest that hangs: systemd sends SIGKILL to the unit's processes; the unit ends failed. " +
      "With --all it asks for confirmation on a terminal, and refuses without one unless --yes."
    ],
    args: [machinesOrAll("Machines to kill")],
    options: [allOption, yesAll],
    examples: ["machina kill test-vm"]
  },
  {
    name: "reset",
    summary: "Resets virtual machines at once, as the reset button does (QMP system_reset).",
    args: [machines("Machines to reset")],
    options: [],
    examples: ["machina reset test-vm"]
  },
  {
    name: "logs",
    summary: "Shows the journal of a virtual machine's unit (journalctl).",
    args: [{ name: "MACHINE", description: "The machine whose journal to show." }],
    options: [
      { names: ["--follow", "-f"], description: "Keep printing new entries until Ctrl-C." },
      { names: ["--lines", "-n"], value: "N", check: countCheck, description: "Show only the last N entries.", default: "all" }
    ],
    examples: ["machina logs test-vm", "machina logs -f -n 50 test-vm"]
  },
  {
    name: "console",
    summary: "Attaches the terminal to a virtual machine's serial console (Ctrl-] detaches).",
    details: [
      "Needs attrs.console.enabled (an ISA serial port, the guest's ttyS0, on /run/machina/MACHINE/console.socket). " +
      "On a terminal every key goes to the guest until Ctrl-] detaches; without one, input is copied until it ends. " +
      "One client at a time: a second attaches only when the first leaves. " +
      "Fails (status 1) when the machine has no console or is not running."
    ],
    args: [{ name: "MACHINE", description: "The machine whose serial console to attach to." }],
    options: [
      { names: ["--connect-timeout"], value: "DURATION", check: durationCheck, description: "How long to wait for the console socket to accept the connection.", default: "5s" }
    ],
    examples: ["machina console test-vm", "machina console --connect-timeout 10s test-vm"]
  },
  {
    name: "new",
    summary: "Creates a machine file with a fresh UUID, checked against the host's tags.",
    details: [
      "Writes machine.conf.d/NAME.conf.json only when the machine builds (the checks of machina check); " +
      "never overwrites an existing machine."
    ],
    args: [{ name: "NAME", description: "The new machine's name: a letter, then letters, digits, '_', '-' or '.'." }],
    options: [
      { names: ["--tag"], value: "TAG", description: "A tag of the host file to apply; repeat for several, in order." },
      { names: ["--var"], value: "KEY=VALUE", description: "A variable for the tags' patterns; repeatable." },
      { names: ["--description"], value: "TEXT", description: "A description of the machine." }
    ],
    examples: ["machina new web01 --tag linux --tag small --var disk=web01"]
  },
  {
    name: "edit",
    summary: "Edits a machine file with $EDITOR, saving it only when it validates.",
    details: [
      "Opens $VISUAL (else $EDITOR, else vi) on a copy of the machine file. The copy replaces the file only when it " +
      "validates; otherwise the problems are shown and, on a terminal, the editor opens again."
    ],
    args: [{ name: "MACHINE", description: "The machine to edit." }],
    options: [],
    examples: ["EDITOR=nano machina edit test-vm"]
  },
  {
    name: "shutdown",
    summary: "Sends a shutdown command to one or more virtual machines.",
    details: [
      "Sends an ACPI power-off over QMP. With --timeout, sends quit when the guest has not stopped by then, " +
      "and exits with status 4 when it had to. " + ASKS
    ],
    args: [machinesOrAll("Machines to shut down")],
    options: [
      allOption,
      yesAll,
      { names: ["--system"], description: "Use the QMP socket reserved for systemd (the unit's ExecStop)." },
      { names: ["--wait"], description: "Wait until the machines have stopped." },
      {
        names: ["--timeout"],
        value: "DURATION",
        check: durationCheck,
        description: "Send quit after this long (implies --wait), e.g. 1m25s; 0 never quits.",
        default: "none"
      },
      {
        names: ["--repeat"],
        value: "DURATION",
        check: durationCheck,
        description: "Repeat the ACPI power-off request this often while waiting; 0 sends it once.",
        default: "5s"
      },
      {
        names: ["--grace"],
        value: "DURATION",
        check: durationCheck,
        description: "After quit, how long to wait for QEMU to exit before reporting failure.",
        default: "10s"
      }
    ],
    exit: [[4, "a guest did not power off in time and was stopped with quit"]],
    examples: ["machina shutdown test-vm", "machina shutdown --timeout 1m25s test-vm"]
  },
  {
    name: "prepare",
    summary: "Prepares the host environment for a virtual machine to start.",
    details: ["Creates the runtime directory and the mediated devices (the unit's ExecStartPre)."],
    args: [machines("Machines to prepare")],
    options: [{ names: ["--swtpm"], description: "Prepare the machines' software TPM (the swtpm unit's ExecStartPre) instead of QEMU." }],
    examples: ["machina prepare test-vm"]
  },
  {
    name: "teardown",
    summary: "Removes host resources prepared for a virtual machine.",
    details: ["Removes the mediated devices (the unit's ExecStopPost), reporting every failure."],
    args: [machines("Machines to tear down")],
    options: [],
    examples: ["machina teardown test-vm"]
  },
  {
    name: "connect",
    summary: "Connects a whole virtual machine or individual connections to the network.",
    details: ["Brings the taps up and attaches them to their network's bridge; needs root (CAP_NET_ADMIN)."],
    args: [{ name: "TARGET", description: "A machine (all its connections), MACHINE.CONNECTION, or a tap name.", repeated: true }],
    options: [],
    examples: ["machina connect test-vm", "machina connect test-vm.lan"]
  },
  {
    name: "disconnect",
    summary: "Disconnects a whole virtual machine or individual connections from the network.",
    details: ["Detaches the taps from their bridge and brings them down; needs root (CAP_NET_ADMIN)."],
    args: [{ name: "TARGET", description: "A machine (all its connections), MACHINE.CONNECTION, or a tap name.", repeated: true }],
    options: [],
    examples: ["machina disconnect test-vm.lan"]
  },
  {
    name: "query",
    summary: "Queries virtual machines via the QMP protocol.",
    args: [],
    options: [],
    subcommands: [
      queryCommand("pci", "Describes the PCI Bus in running virtual machines.", "query-pci"),
      queryCommand("cpu", "Describes the virtual CPUs present in running virtual machines.", "query-cpus-fast")
    ],
    examples: ["machina query pci test-vm", "machina query cpu test-vm"]
  },
  {
    name: "args",
    summary: "Displays the QEMU arguments for virtual machines.",
    args: [machines("Machines whose QEMU command line to show")],
    options: [{ names: ["--shell"], description: "One line to paste into a shell: the QEMU binary, then every argument, quoted." }],
    examples: ["machina args test-vm", "machina args --shell test-vm"]
  },
  {
    name: "run",
    summary: "Run a virtual machine directly via QEMU.",
    details: ["Prepares, runs QEMU in the foreground with the unit's arguments, then tears down."],
    args: [{ name: "MACHINE", description: "The machine to run in the foreground." }],
    options: [],
    examples: ["machina run test-vm"]
  },
  {
    name: "check",
    summary: "Validates the host configuration and machines, reporting every problem and collisions between machines.",
    args: [{ name: "MACHINE", description: "Machines to check (default: every machine of the host).", repeated: true, optional: true }],
    options: [
      format,
      { names: ["--strict"], description: "Fail (exit 1) on warnings too, not only on errors." }
    ],
    examples: ["machina check", "machina check --strict", "machina check --format json test-vm"]
  },
  {
    name: "plan",
    summary: "Shows what generate would change, writing nothing.",
    details: ["Per machine: created, changed, unchanged or orphaned, the unit diff, and the guest-visible hardware changes."],
    args: [{ name: "MACHINE", description: "Machines to plan (default: every machine of the host).", repeated: true, optional: true }],
    options: [
      format,
      { names: ["--unit-dir"], value: "DIR", description: "Directory holding the units (environment: MACHINA_UNIT_DIR).", default: "/etc/systemd/system" },
      {
        names: ["--hardware-revision"],
        value: "REVISION",
        description: "Show what switching the machines to this hardware revision would change.",
        values: KNOWN_REVISIONS.map((r) => r.name)
      }
    ],
    exit: [[2, "something would change (also: usage error)"]],
    examples: ["machina plan", "machina plan --format json test-vm"]
  },
  {
    name: "remove",
    summary: "Removes machines' systemd units, keeping their configuration and disks.",
    args: [machines("Machines to remove")],
    options: [
      { names: ["--stop"], description: "Stop running machines first (otherwise a running machine is refused)." },
      { names: ["--purge-config"], description: "Also delete the machine file (never volumes or disks)." },
      { names: ["--timeout"], value: "DURATION", check: durationCheck, description: "How long to wait for each stop job.", default: "2m" },
      { names: ["--unit-dir"], value: "DIR", description: "Directory holding the units (environment: MACHINA_UNIT_DIR).", default: "/etc/systemd/system" }
    ],
    examples: ["machina remove test-vm", "machina remove --stop test-vm"]
  },
  {
    name: "pin-hardware",
    summary: "Pins machines to a hardware revision (and QEMU machine type) in their machine files.",
    args: [machines("Machines to pin")],
    options: [
      {
        names: ["--revision"],
        value: "REVISION",
        description: "The hardware revision to pin.",
        default: "2026.12",
        values: KNOWN_REVISIONS.map((r) => r.name)
      },
      { names: ["--machine-type"], value: "TYPE", description: "The versioned QEMU machine type (default: the installed QEMU's newest pc-q35-X.Y)." }
    ],
    examples: ["machina pin-hardware test-vm"]
  },
  {
    name: "ui",
    summary: "Serves the configuration manager, a local web app, until Ctrl-C.",
    args: [],
    options: [
      { names: ["--listen"], value: "ADDR:PORT", description: "Address and port to listen on.", default: "127.0.0.1 on a free port" },
      { names: ["--socket"], value: "PATH", description: "Listen on a unix socket instead." }
    ],
    examples: ["machina ui", "machina ui --listen 127.0.0.1:8080"]
  },
  { name: "gen-id", summary: "Generate a random machine identifier.", args: [], options: [], examples: ["machina gen-id"] },
  { name: "gen-mac", summary: "Generate a random MAC hardware address.", args: [], options: [], examples: ["machina gen-mac"] },
  {
    name: "help",
    summary: "Shows help for machina or for a command.",
    args: [{ name: "COMMAND", description: "The command (and subcommand) to describe.", repeated: true, optional: true }],
    options: [],
    examples: ["machina help", "machina help query cpu"]
  }
]

export const ROOT: CommandSpec = {
  name: "machina",
  summary: "Manages kernel virtual machines via QEMU.",
  args: [],
  options: GLOBAL_OPTIONS,
  subcommands: COMMANDS
}

/** The command at `path` (names below the root), or undefined. */
export const find = (path: ReadonlyArray<string>): CommandSpec | undefined => {
  let spec: CommandSpec | undefined = ROOT
  for (const name of path) spec = spec?.subcommands?.find((c) => c.name === name)
  return spec
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

const WIDTH = 100

/** Wraps `text` to lines of at most `width - indent` characters, each prefixed by `indent` spaces. */
const wrap = (text: string, indent: number, first = indent): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  let room = WIDTH - first
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > room) {
      lines.push(line)
      line = word
      room = WIDTH - indent
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines.map((l, i) => " ".repeat(i === 0 ? first : indent) + l)
}

const optionLabel = (o: OptionSpec): string =>
  [...o.names.slice(1), o.names[0]].join(", ") + (o.value === undefined ? "" : ` ${o.value}`)

const argLabel = (a: ArgSpec): string => (a.optional ? `[${a.name}${a.repeated ? "..." : ""}]` : `${a.name}${a.repeated ? "..." : ""}`)

/** Two-column rows: label, then the description wrapped and aligned. */
const table = (rows: ReadonlyArray<readonly [string, string]>): Array<string> => {
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2)
  return rows.flatMap(([label, text]) => {
    const head = `  ${label}`
    if (head.length + 2 > width + 2) return [head, ...wrap(text, width + 2)]
    const body = wrap(text, width + 2)
    return [head.padEnd(width + 2) + (body[0] ?? "").trimStart(), ...body.slice(1)]
  })
}

const describeOption = (o: OptionSpec): string =>
  o.default === undefined ? o.description : `${o.description.replace(/\.$/, "")} (default: ${o.default}).`

const usageLine = (path: ReadonlyArray<string>, spec: CommandSpec): string => {
  const parts = ["machina", ...path]
  if (spec.subcommands !== undefined) parts.push("COMMAND")
  if (spec.options.length > 0) parts.push("[OPTIONS]")
  parts.push(...spec.args.map(argLabel))
  return parts.join(" ")
}

const exitLines = (extra: ReadonlyArray<readonly [number, string]>): Array<string> =>
  table([...EXIT_STATUSES.filter(([n]) => n <= 2), ...extra].map(([n, t]) => [String(n), t]))

/** The help of the command at `path` ([] = the root), as plain text ending with a newline. */
export const render = (path: ReadonlyArray<string>): string => {
  const spec = find(path)
  if (spec === undefined) return ""
  const out: Array<string> = []
  if (path.length === 0) {
    out.push("Usage: machina [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS...]", "", ...wrap(spec.summary, 0), "")
    out.push("Commands:", ...table(COMMANDS.flatMap((c) =>
      c.subcommands === undefined
        ? [[c.name, c.summary] as const]
        : c.subcommands.map((s) => [`${c.name} ${s.name}`, s.summary] as const))), "")
    out.push("Global options (before or after the command):", ...table(GLOBAL_OPTIONS.map((o) => [optionLabel(o), describeOption(o)])), "")
    out.push("Exit status:", ...table(EXIT_STATUSES.map(([n, t]) => [String(n), t])), "")
    out.push("Environment:", ...table([
      ["MACHINA_CONFIG_DIR", "configuration directory (as --config-dir)"],
      ["MACHINA_UNIT_DIR", "where generate writes units"],
      ["MACHINA_RUN_DIR", "runtime directory of QMP sockets and locks (default: /run/machina)"],
      ["NO_COLOR", "no colours in output"]
    ]), "")
    out.push("Run 'machina help COMMAND' for the options and arguments of a command.")
    return out.join("\n") + "\n"
  }
  out.push(`Usage: ${usageLine(path, spec)}`, "", ...wrap(spec.summary, 0))
  for (const d of spec.details ?? []) out.push("", ...wrap(d, 0))
  out.push("")
  if (spec.subcommands !== undefined) {
    out.push("Commands:", ...table(spec.subcommands.map((s) => [s.name, s.summary])), "")
  }
  if (spec.args.length > 0) out.push("Arguments:", ...table(spec.args.map((a) => [argLabel(a), a.description])), "")
  out.push("Options:", ...table([...spec.options, HELP_OPTION].map((o) => [optionLabel(o), describeOption(o)])), "")
  if (spec.examples !== undefined && spec.examples.length > 0) out.push("Examples:", ...spec.examples.map((e) => `  ${e}`), "")
  out.push("Exit status:", ...exitLines(spec.exit ?? []), "")
  out.push("Global options (--config-dir DIR, --log-level LEVEL, ...): see 'machina --help'.")
  return out.join("\n") + "\n"
}

// ---------------------------------------------------------------------------
// Suggestions
// ---------------------------------------------------------------------------

/** Damerau-Levenshtein (optimal string alignment) distance. */
export const distance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 0; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

/** The closest candidate within a distance that still looks like a typo, if any. */
export const suggest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const dist = distance(word.toLowerCase(), c.toLowerCase())
    if (dist < bestDistance) {
      best = c
      bestDistance = dist
    }
  }
  const limit = Math.max(1, Math.min(2, Math.floor((word.length) / 3)))
  return bestDistance <= limit ? best : (best !== undefined && best.startsWith(word) && word.length >= 2 ? best : undefined)
}

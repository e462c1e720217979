/**
 * Recognises, from argv alone, the commands systemd and QEMU run for every machine start and
 * stop (the "hooks"), so they can start without building the interactive CLI (Hooks.ts):
 *
 * - `machina-ifup TAP...` / `machina-ifdown TAP...` (QEMU's script and downscript: a program name
 *   ending in `-ifup` / `-ifdown`);
 * - `machina prepare MACHINE...` (ExecStartPre), `machina prepare --swtpm MACHINE...` (the swtpm
 *   unit's ExecStartPre) and `machina teardown MACHINE...` (ExecStopPost);
 * - `machina shutdown --system [--timeout D] [--wait] MACHINE...` (ExecStop);
 *
 * each optionally after `--config-dir DIR`. Anything else (help, version, completions, an unknown
 * or repeated option, an option after the machines, a value that starts with `-`) is not a hook:
 * the full CLI parses it, with its own messages.
 *
 * Pure and import-free: the bundle's loader (scripts/build.mjs) runs this very module to choose
 * between the hook program and the full CLI before loading either.
 */

export type HookArgv =
  | { readonly _tag: "Connect" | "Disconnect"; readonly program: string; readonly configDir: string | undefined; readonly targets: ReadonlyArray<string> }
  | { readonly _tag: "Prepare"; readonly configDir: string | undefined; readonly swtpm: boolean; readonly machines: ReadonlyArray<string> }
  | { readonly _tag: "Teardown"; readonly configDir: string | undefined; readonly machines: ReadonlyArray<string> }
  | {
    readonly _tag: "Shutdown"
    readonly configDir: string | undefined
    readonly wait: boolean
    /** The `--timeout` text as given, parsed by the program (a bad one falls back to the full CLI). */
    readonly timeout: string | undefined
    readonly machines: ReadonlyArray<string>
  }

const baseName = (path: string): string => {
  const trimmed = path.replace(/\/+$/, "")
  return trimmed.slice(trimmed.lastIndexOf("/") + 1)
}

/** A positional value: what @effect/cli takes as an argument without a second look. */
const plain = (arg: string): boolean => arg !== "" && !arg.startsWith("-")

const allPlain = (args: ReadonlyArray<string>): boolean => args.length > 0 && args.every(plain)

/** The hook `argv` (node-style: [node, script, ...args]) asks for, if it is one. */
export const hookArgv = (argv: ReadonlyArray<string>): HookArgv | undefined => {
  const program = baseName(argv[1] ?? "machina")
  let args = argv.slice(2)
  // `machina-ifup` / `machina-ifdown`: QEMU passes the tap name, nothing else.
  if (program.endsWith("-ifup") || program.endsWith("-ifdown")) {
    if (!allPlain(args)) return undefined
    return { _tag: program.endsWith("-ifup") ? "Connect" : "Disconnect", program, configDir: undefined, targets: args }
  }
  let configDir: string | undefined
  if (args[0] === "--config-dir" && args.length > 1 && plain(args[1]!)) {
    configDir = args[1]
    args = args.slice(2)
  } else if (args[0] !== undefined && args[0].startsWith("--config-dir=") && args[0].length > "--config-dir=".length) {
    configDir = args[0].slice("--config-dir=".length)
    args = args.slice(1)
  }
  const [command, ...rest] = args
  switch (command) {
    case "prepare": {
      const swtpm = rest[0] === "--swtpm"
      const machines = swtpm ? rest.slice(1) : rest
      return allPlain(machines) ? { _tag: "Prepare", configDir, swtpm, machines } : undefined
    }
    case "teardown":
      return allPlain(rest) ? { _tag: "Teardown", configDir, machines: rest } : undefined
    case "shutdown": {
      let system = false
      let wait = false
      let timeout: string | undefined
      let i = 0
      for (; i < rest.length && rest[i]!.startsWith("-"); i++) {
        const option = rest[i]!
        if (option === "--system" && !system) system = true
        else if (option === "--wait" && !wait) wait = true
        else if (option === "--timeout" && timeout === undefined && i + 1 < rest.length && plain(rest[i + 1]!)) timeout = rest[++i]!
        else if (option.startsWith("--timeout=") && timeout === undefined && option.length > "--timeout=".length) timeout = option.slice("--timeout=".length)
        else return undefined
      }
      const machines = rest.slice(i)
      return system && allPlain(machines) ? { _tag: "Shutdown", configDir, wait, timeout, machines } : undefined
    }
    default:
      return undefined
  }
}

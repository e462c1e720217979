/**
 * Fixed host paths and the per-machine runtime paths derived from them (config.md §1,
 * qmp.md §2): QMP sockets, the TPM socket and the serial console's socket live in `/run/machina/<machine>/`, which systemd
 * creates through `RuntimeDirectory=machina/<machine>`.
 */
import { posixJoin } from "./GoText.js"

export const BIN_DIR = "/usr/bin"
export const CONF_DIR = "/etc/machina"
export const UNIT_DIR = "/etc/systemd/system"
export const RUN_DIR = "/run/machina"
export const BASH_COMPLETION_DIR = "/usr/share/bash-completion/completions"
/** Debian's directory for completions of packaged commands (zsh-common puts it in $fpath). */
export const ZSH_COMPLETION_DIR = "/usr/share/zsh/vendor-completions"
/** fish's directory for completions shipped by other packages (in $fish_complete_path). */
export const FISH_COMPLETION_DIR = "/usr/share/fish/vendor_completions.d"

/** The QMP sockets machina itself uses: one reserved for systemd's ExecStop, two for commands. */
export const SYSTEM_SOCKETS = ["systemd.0"] as const
export const COMMAND_SOCKETS = ["command.0", "command.1"] as const

export const qmpSocketPath = (machine: string, name: string, runDir: string = RUN_DIR): string =>
  posixJoin(runDir, machine, `${name}.qmp.socket`)

/**
 * Every QMP socket of a machine in chardev order: systemd.0, command.0, command.1, the custom
 * names, then the custom paths verbatim; duplicates dropped (first kept). Without a machine name
 * (host summaries) only the custom paths remain.
 */
export const qmpSocketPaths = (
  machine: string,
  sockets: { readonly names: ReadonlyArray<string>; readonly paths: ReadonlyArray<string> },
  runDir: string = RUN_DIR
): ReadonlyArray<string> => {
  const all: Array<string> = []
  if (machine !== "") {
    for (const names of [SYSTEM_SOCKETS, COMMAND_SOCKETS, sockets.names]) {
      for (const n of names) all.push(qmpSocketPath(machine, n, runDir))
    }
  }
  all.push(...sockets.paths)
  const out: Array<string> = []
  for (const p of all) if (!out.includes(p)) out.push(p)
  return out
}

/** The sockets a CLI command tries, in order: the systemd socket with `--system`, else the command sockets. */
export const clientSocketPaths = (machine: string, system: boolean, runDir: string = RUN_DIR): ReadonlyArray<string> =>
  (system ? SYSTEM_SOCKETS : COMMAND_SOCKETS).map((n) => qmpSocketPath(machine, n, runDir))

export const tpmSocketPath = (machine: string, custom: string, runDir: string = RUN_DIR): string =>
  custom !== "" ? custom : machine === "" ? "" : posixJoin(runDir, machine, "tpm.socket")

export const runtimeDirOf = (machine: string, runDir: string = RUN_DIR): string => posixJoin(runDir, machine)

/**
 * The folder `prepare --swtpm` writes swtpm_setup's configuration into (`<run dir>/<machine>/swtpm`):
 * the swtpm unit's `swtpm_setup --config` names its `swtpm_setup.conf`.
 */
export const swtpmSetupDir = (machine: string, runDir: string = RUN_DIR): string => posixJoin(runDir, machine, "swtpm")

/** The serial console's socket (`console.enabled`): `<run dir>/<machine>/console.socket`. */
export const consoleSocketPath = (machine: string, runDir: string = RUN_DIR): string => posixJoin(runDir, machine, "console.socket")

/**
 * The software TPM of a machine with `tpm.enabled` (later-upstream.md §2, adapted):
 * `machina-swtpm-<name>.service` runs `swtpm socket` on the machine's TPM socket, after
 * `machina prepare --swtpm` (state directory) and `swtpm_setup --not-overwrite` (a fresh TPM 2.0
 * state on first start, kept afterwards). The QEMU unit binds to it and starts after it; the
 * swtpm unit is part of the QEMU unit, so stopping the machine stops it too. It has no
 * `[Install]` section: starting the machine pulls it in.
 *
 * The state directory is `tpm.data` located through a pool of type `tpm-data`, or by default
 * `/var/lib/machina/swtpm/<name>` made by systemd (`StateDirectory=`). No EK or platform
 * certificates are created (swtpm_localca would need a writable CA directory of its own).
 *
 * Pure: no I/O.
 */
import * as Either from "effect/Either"
import { isVolumeSet } from "./Config.js"
import type { Host } from "./ConfigFiles.js"
import type { Composed } from "./Merge.js"
import { tpmSocketPath } from "./Paths.js"
import { posixJoin } from "./GoText.js"
import { volumeFileName, firstWinsVars } from "./Pattern.js"
import {
  DEFAULT_STOP_TIMEOUT,
  directive,
  hardeningDirectives,
  MACHINA_EXECUTABLE,
  quote,
  RESTART_DELAY,
  START_LIMIT_BURST,
  START_LIMIT_INTERVAL,
  swtpmUnitName,
  type Unit,
  unitName,
  type UnitPrivileges
} from "./Unit.js"
import { formatGoDuration } from "./Duration.js"

export const SWTPM_EXECUTABLE = "swtpm"
export const SWTPM_SETUP_EXECUTABLE = "swtpm_setup"
/** The pool type that locates TPM state directories. */
export const TPM_DATA_POOL_TYPE = "tpm-data"
/** Where systemd keeps a machine's TPM state when `tpm.data` is not set (`StateDirectory=`). */
export const DEFAULT_STATE_ROOT = "/var/lib"
export const defaultStateDirectory = (machine: string): string => posixJoin("machina", "swtpm", machine)

export interface TpmState {
  /** The state directory's path. */
  readonly path: string
  /** systemd makes it (`StateDirectory=`), else `prepare --swtpm` does. */
  readonly managed: boolean
}

/**
 * The state directory of a TPM machine, or undefined when `tpm.data` names a pool that does not
 * exist or is not of type `tpm-data` (generation reports that).
 */
export const tpmStateOf = (host: Host, composed: Composed): TpmState | undefined => {
  const data = composed.definition.attrs.tpm.data
  const name = composed.machine.name
  if (!isVolumeSet(data)) return { path: posixJoin(DEFAULT_STATE_ROOT, defaultStateDirectory(name)), managed: true }
  const pools = host.config.storage
  if (!Object.prototype.hasOwnProperty.call(pools, data.storage)) return undefined
  const pool = pools[data.storage]!
  if (pool.type !== TPM_DATA_POOL_TYPE) return undefined
  const vars = firstWinsVars(
    { "machine-name": name, "machine-description": composed.machine.description, "machine-id": composed.machine.id },
    composed.definition.vars
  )
  const path = Either.getOrElse(volumeFileName(pool, (v) => (v === "volume" ? data.name : vars.get(v)), data.name), () => "")
  return path === "" ? undefined : { path, managed: false }
}

/** The swtpm unit of a machine (see the module comment). */
export const swtpmUnit = (input: {
  readonly name: string
  /** The socket QEMU connects to (`tpm.socket.path` or the default). */
  readonly socket: string
  readonly state: TpmState
  readonly privileges?: UnitPrivileges | undefined
  /** The machina the hook runs (see `MachineUnitInput.executable`). */
  readonly executable?: string | undefined
}): Unit => {
  const { name, state } = input
  const hook = input.privileges === undefined ? "" : "+"
  return {
    sections: [
      {
        name: "Unit",
        directives: [
          directive("Description", `machina swtpm ${name}`),
          directive("PartOf", unitName(name)),
          directive("StartLimitIntervalSec", formatGoDuration(START_LIMIT_INTERVAL)),
          directive("StartLimitBurst", String(START_LIMIT_BURST))
        ]
      },
      {
        name: "Service",
        directives: [
          directive("Type", "simple"),
          {
            key: "ExecStart",
            lines: [
              `${SWTPM_EXECUTABLE} socket`,
              `--tpmstate ${quote(`dir=${state.path}`)}`,
              `--ctrl ${quote(`type=unixio,path=${input.socket}`)}`,
              "--tpm2",
              "--log level=1"
            ]
          },
          directive("ExecStartPre", `${hook}${input.executable === undefined ? MACHINA_EXECUTABLE : quote(input.executable)} prepare --swtpm ${quote(name)}`),
          {
            key: "ExecStartPre",
            lines: [SWTPM_SETUP_EXECUTABLE, "--tpm2", `--tpmstate ${quote(state.path)}`, "--not-overwrite"]
          },
          directive("RestartSec", formatGoDuration(RESTART_DELAY)),
          directive("TimeoutStopSec", formatGoDuration(DEFAULT_STOP_TIMEOUT)),
          directive("Restart", "on-failure"),
          directive("RuntimeDirectory", posixJoin("machina", name)),
          ...(state.managed ? [directive("StateDirectory", defaultStateDirectory(name)), directive("StateDirectoryMode", "0700")] : []),
          ...(input.privileges === undefined
            ? []
            : hardeningDirectives(
              { ...input.privileges, writablePaths: state.managed ? [] : [state.path] },
              { devices: [], addressFamilies: "AF_UNIX" }
            ))
        ]
      }
    ]
  }
}

/** The swtpm unit of a composed machine, or undefined without a TPM (or with an invalid `tpm.data`). */
export const machineSwtpmUnit = (
  host: Host,
  composed: Composed,
  privileges: UnitPrivileges | undefined,
  executable?: string | undefined
): Unit | undefined => {
  const { tpm } = composed.definition.attrs
  if (!tpm.enabled) return undefined
  const state = tpmStateOf(host, composed)
  if (state === undefined) return undefined
  return swtpmUnit({
    name: composed.machine.name,
    socket: tpmSocketPath(composed.machine.name, tpm.socket.path),
    state,
    privileges,
    executable
  })
}

export { swtpmUnitName }

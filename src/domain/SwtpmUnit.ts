/**
 * The software TPM of a machine with `tpm.enabled` (later-upstream.md §2, adapted):
 * `machina-swtpm-<name>.service` runs `swtpm socket` on the machine's TPM socket, after
 * `machina prepare --swtpm` (state directory, configuration) and `swtpm_setup --not-overwrite` (a fresh TPM 2.0
 * state on first start, kept afterwards). The QEMU unit binds to it and starts after it; the
 * swtpm unit is part of the QEMU unit, so stopping the machine stops it too. It has no
 * `[Install]` section: starting the machine pulls it in.
 *
 * The state directory is `tpm.data` located through a pool of type `tpm-data`, or by default
 * `/var/lib/machina/swtpm/<name>` made by systemd (`StateDirectory=`).
 *
 * A new TPM is manufactured as libvirt and later upstream machina do it: with RSA and ECC
 * endorsement key certificates and a platform certificate in its NVRAM (`--create-ek-cert`,
 * `--create-platform-cert`), locked against the guest (`--lock-nvram`), so a guest sees a TPM
 * with a certificate chain (Windows' `Get-TpmEndorsementKeyInfo`, attestation). They are signed by
 * a certificate authority of the machine's own, which `swtpm_localca` creates on first use in
 * `<state>/authority/` (writable by the machine's user, as the state is; the host-wide
 * `/var/lib/swtpm-localca` is not, for an unprivileged machine). `prepare --swtpm` writes the
 * configuration saying so into `/run/machina/<name>/swtpm/` (TpmState.ts `swtpmSetupFiles`). An existing
 * state is never touched (`--not-overwrite`): a TPM made before keeps its keys, and has no
 * certificates.
 *
 * Pure: no I/O.
 */
import type { Host } from "./ConfigFiles.js"
import type { Composed } from "./Merge.js"
import { swtpmSetupDir, tpmSocketPath } from "./Paths.js"
import { posixJoin } from "./GoText.js"
import { defaultStateDirectory, SWTPM_SETUP_CONF, type TpmState, tpmStateOf } from "./TpmState.js"
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
            lines: [
              SWTPM_SETUP_EXECUTABLE,
              "--tpm2",
              `--tpmstate ${quote(state.path)}`,
              `--config ${quote(posixJoin(swtpmSetupDir(name), SWTPM_SETUP_CONF))}`,
              "--create-ek-cert",
              "--create-platform-cert",
              "--lock-nvram",
              "--not-overwrite"
            ]
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

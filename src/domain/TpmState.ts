/**
 * Where a machine's software TPM keeps its state (later-upstream.md §2, adapted): `tpm.data`
 * located through a pool of type `tpm-data`, or by default `/var/lib/machina/swtpm/<name>`, which
 * systemd makes (`StateDirectory=`). Used by the QEMU pipeline (to refuse a path swtpm cannot be
 * given), the swtpm unit (SwtpmUnit.ts) and `prepare --swtpm`; and the configuration
 * `prepare --swtpm` writes for swtpm_setup, which has it make the TPM's certificates (SwtpmUnit.ts).
 *
 * Pure: no I/O.
 */
import * as Either from "effect/Either"
import { isVolumeSet } from "./Config.js"
import type { Host } from "./ConfigFiles.js"
import { posixJoin } from "./GoText.js"
import type { Composed } from "./Merge.js"
import { firstWinsVars, volumeFileName } from "./Pattern.js"

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

/**
 * Why swtpm cannot be given a path, or undefined: `--tpmstate dir=PATH` ends the path at a comma,
 * and swtpm_setup's and swtpm_localca's `key = value` files cannot quote (a value ends at `#`,
 * `${..}` in it is expanded from the environment, white space around it is dropped).
 */
export const swtpmPathProblem = (path: string): string | undefined =>
  /[\r\n]/.test(path)
    ? "it has a line break"
    : /[,#$]/.test(path)
    ? `it has ${JSON.stringify(/[,#$]/.exec(path)![0])}, which swtpm's options and configuration files cannot quote`
    : path.trim() !== path
    ? "it has leading or trailing white space"
    : undefined

/** The certificate tool swtpm_setup runs (`create_certs_tool`), found in PATH by `prepare --swtpm`. */
export const SWTPM_LOCALCA_EXECUTABLE = "swtpm_localca"

/**
 * The machine's own certificate authority, which signs its TPM's certificates: `authority/` in the
 * state directory, writable by the machine's user as the state is (the host-wide
 * `/var/lib/swtpm-localca` is not, for an unprivileged machine). swtpm_localca creates it, and
 * the authority's keys, the first time it signs.
 */
export const authorityDirOf = (state: TpmState): string => posixJoin(state.path, "authority")

/** The configuration `swtpm_setup --config` reads (in `swtpmSetupDir`). */
export const SWTPM_SETUP_CONF = "swtpm_setup.conf"
const LOCALCA_CONF = "swtpm-localca.conf"
const LOCALCA_OPTIONS = "swtpm-localca.options"

/**
 * The files of `swtpmSetupDir`: swtpm_setup's configuration (the certificate tool, its
 * configuration and options, SHA-256 PCR bank active, as Debian's `/etc/swtpm_setup.conf`),
 * swtpm_localca's (its state, signing key, issuer certificate and serial number in `authority`)
 * and the platform certificate's fields. `key = value` lines and one option per line, the formats
 * swtpm_setup and swtpm_localca read, which cannot quote: a path `swtpmPathProblem` refuses is
 * refused.
 */
export const swtpmSetupFiles = (input: {
  /** The folder the files go into. */
  readonly dir: string
  /** The machine's certificate authority (`authorityDirOf`). */
  readonly authority: string
  /** The swtpm_localca executable. */
  readonly localca: string
}): Either.Either<ReadonlyArray<{ readonly name: string; readonly content: string }>, string> => {
  for (const path of [input.dir, input.authority, input.localca]) {
    const problem = swtpmPathProblem(path)
    if (problem !== undefined) return Either.left(`${JSON.stringify(path)} cannot be given to swtpm: ${problem}`)
  }
  const lines = (entries: ReadonlyArray<readonly [string, string]>) => entries.map(([k, v]) => `${k} = ${v}\n`).join("")
  return Either.right([
    {
      name: SWTPM_SETUP_CONF,
      content: lines([
        ["create_certs_tool", input.localca],
        ["create_certs_tool_config", posixJoin(input.dir, LOCALCA_CONF)],
        ["create_certs_tool_options", posixJoin(input.dir, LOCALCA_OPTIONS)],
        ["active_pcr_banks", "sha256"]
      ])
    },
    {
      name: LOCALCA_CONF,
      content: lines([
        ["statedir", input.authority],
        ["signingkey", posixJoin(input.authority, "signkey.pem")],
        ["issuercert", posixJoin(input.authority, "issuercert.pem")],
        ["certserial", posixJoin(input.authority, "certserial")]
      ])
    },
    { name: LOCALCA_OPTIONS, content: "--platform-manufacturer machina\n--platform-version 0.1\n--platform-model QEMU\n" }
  ])
}

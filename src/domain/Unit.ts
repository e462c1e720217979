/**
 * The generated systemd unit (systemd.md): a small unit-file model, its rendering, the quoting of
 * command-line tokens, and the unit of one machine.
 *
 * Pure: no I/O.
 *
 * ## Quoting (systemd.md §5, with fixes)
 *
 * `quote(s)` emits a token that systemd 252 turns back into exactly `s` when it parses an `Exec*=`
 * line and later spawns the command. systemd processes every argument of an `Exec*=` line in
 * three steps (verified against systemd 252 in test/property/UnitQuoting.test.ts):
 *
 * 1. unit-file parsing: lines end at `\n`, `\r` or NUL; a line whose last character is an
 *    unescaped `\` continues on the next line (the `\` becomes a space);
 * 2. word splitting (`extract_first_word` with UNQUOTE|CUNESCAPE): `"..."`/`'...'` quoting and C
 *    escapes (`\\`, `\"`, `\'`, `\n`, `\xNN`, ...); an unquoted lone `;` separates commands;
 * 3. per word, after unquoting: specifier expansion (`%n`, `%i`, ...; `%%` is a literal `%`; an
 *    unknown specifier such as `%z` is a fatal error: the unit does not load), then, when the command is spawned, environment
 *    expansion (`${NAME}` anywhere in a word; a word that is exactly `$NAME` is replaced by the
 *    variable split at whitespace, and dropped when it is unset; `$$` is a literal `$`).
 *
 * So the rules are:
 * - safe tokens (only `A-Z a-z 0-9 _ @ % + = : , . / -`, non-empty) are emitted unquoted;
 * - any other token is wrapped in `"..."` with `\` → `\\`, `"` → `\"`, `'` → `\'` (as the original);
 * - FIX 1, in both forms: `%` → `%%` (the original let `%n`, `%i`, `%H`... expand, and a token like
 *   `50%z` kept the whole unit from loading);
 * - FIX 2, in both forms: `$` → `$$` (the original let `${VAR}` expand and dropped a lone `$`
 *   or `$VAR` word). `$` is outside the safe set, so a token holding one is always quoted;
 * - FIX 3 (robustness, inside quotes): line feed → `\n`, carriage return → `\r` (C escapes that step
 *   2 decodes), because a raw one ends the unit-file line: the original let a value with a newline
 *   inject directives into the unit. NUL (which no argv element can hold, and which systemd's
 *   line reader would also treat as a line end) → `\x00`: systemd 252 does not decode that escape,
 *   it keeps the four characters `\x00` in the argument and logs "Ignoring unknown escape
 *   sequences". The argument is then visibly wrong instead of truncated or split into a new line;
 * - FIX 4: the empty token is emitted as `""` (an empty argument) instead of nothing.
 * - FIX 5 (robustness, inside quotes): Unicode noncharacters (U+FDD0..U+FDEF and every U+xxFFFE,
 *   U+xxFFFF) are written as `\xNN` escapes of their UTF-8 bytes: systemd's UTF-8 check refuses
 *   them written raw ("String is not UTF-8 clean, ignoring assignment").
 *
 * Every other character (tabs, control characters, DEL, any other non-ASCII) is copied verbatim
 * inside the quotes: systemd passes them through. Strings are written as UTF-8, so lone UTF-16
 * surrogates cannot round-trip (they become U+FFFD); machine configuration never produces them.
 *
 * For tokens made only of safe characters other than `%` (every name and parameter string of the
 * seed example), the output is the original's, byte for byte.
 */
import type * as Arr from "effect/Array"
import * as Duration from "effect/Duration"
import { formatGoDuration } from "./Duration.js"
import { posixJoin } from "./GoText.js"
import { QEMU_EXECUTABLE, type QemuOption } from "./qemu/Options.js"

export { QEMU_EXECUTABLE, type QemuOption } from "./qemu/Options.js"

// ---------------------------------------------------------------------------
// Model and rendering (systemd.md §2)

/**
 * One `Key=Value` directive. `lines` holds the value: one line for an ordinary directive, several
 * for a value continued with ` \` at the end of every line but the last (ExecStart, §4).
 */
export interface Directive {
  readonly key: string
  readonly lines: Arr.NonEmptyReadonlyArray<string>
}

/** A `[Name]` section and its directives in order. */
export interface Section {
  readonly name: string
  readonly directives: ReadonlyArray<Directive>
}

/** A unit file: sections in order. */
export interface Unit {
  readonly sections: ReadonlyArray<Section>
}

/** A single-line directive. */
export const directive = (key: string, value: string): Directive => ({ key, lines: [value] })

/** A directive whose value spans several lines joined by ` \` continuations. */
export const multiLineDirective = (key: string, first: string, ...rest: ReadonlyArray<string>): Directive => ({
  key,
  lines: [first, ...rest]
})

// The text is built by concatenation rather than `join` at every level: each `join` copies the
// whole text so far, a concatenation only links the pieces (copied once, when the text is used).

/** `Key=line1 \` + newline + `line2 ...`, ending with a newline. */
export const renderDirective = (d: Directive): string => {
  let out = `${d.key}=${d.lines[0]}`
  for (let i = 1; i < d.lines.length; i++) out += ` \\\n${d.lines[i]}`
  return out + "\n"
}

/** The header line, then one line (or continued lines) per directive. */
export const renderSection = (s: Section): string => {
  let out = `[${s.name}]\n`
  for (const d of s.directives) out += renderDirective(d)
  return out
}

/**
 * The unit file text: every line ends with `\n`, sections are separated by exactly one empty line,
 * and there is no trailing empty line. Values are written as given: callers quote command tokens
 * with `quote` (which never emits a line break).
 */
export const renderUnit = (unit: Unit): string => {
  let out = ""
  for (let i = 0; i < unit.sections.length; i++) {
    if (i > 0) out += "\n"
    out += renderSection(unit.sections[i]!)
  }
  return out
}

// ---------------------------------------------------------------------------
// Quoting (systemd.md §5 with the fixes described in the module comment)

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/

/** Quotes one command-line token for an `Exec*=` line; see the module comment for the exact rules. */
export const quote = (s: string): string => {
  if (SAFE.test(s)) return s.includes("%") ? s.replaceAll("%", "%%") : s
  let out = "\""
  for (const ch of s) {
    switch (ch) {
      case "\\":
        out += "\\\\"
        break
      case "\"":
        out += "\\\""
        break
      case "'":
        out += "\\'"
        break
      case "%":
        out += "%%"
        break
      case "$":
        out += "$$"
        break
      case "\n":
        out += "\\n"
        break
      case "\r":
        out += "\\r"
        break
      case "\0":
        out += "\\x00"
        break
      default:
        out += isNonCharacter(ch.codePointAt(0)!) ? hexBytes(ch) : ch
    }
  }
  return out + "\""
}

/** Unicode noncharacters, which systemd's UTF-8 validation rejects. */
const isNonCharacter = (cp: number): boolean => (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe

const encoder = new TextEncoder()

/** `\xNN` C escapes of the UTF-8 bytes of `ch`. */
const hexBytes = (ch: string): string =>
  Array.from(encoder.encode(ch), (b) => `\\x${b.toString(16).padStart(2, "0")}`).join("")

// ---------------------------------------------------------------------------
// Unit names

export const UNIT_PREFIX = "machina-"
export const UNIT_SUFFIX = ".service"
/** systemd refuses unit names of 256 bytes or more (`UNIT_NAME_MAX`). */
export const UNIT_NAME_MAX_BYTES = 255

/** `machina-<name>.service` (systemd.md §1); the machine name is used as is (names are validated). */
export const unitName = (machine: string): string => `${UNIT_PREFIX}${machine}${UNIT_SUFFIX}`

const UNIT_NAME_CHARS = /^[A-Za-z0-9:_.\\@-]+$/

/**
 * Why a string cannot be the file name of a service unit written by machina, or `undefined` when it
 * can: it must end in `.service` after a non-empty prefix, contain no `/`, and otherwise follow
 * systemd's unit-name rules (letters, digits, `: _ . \ @ -`; at most 255 bytes).
 */
export const checkUnitFileName = (name: string): string | undefined => {
  const shown = JSON.stringify(name)
  if (name.includes("/")) return `unit name ${shown} must not contain '/'`
  if (!name.endsWith(UNIT_SUFFIX) || name.length === UNIT_SUFFIX.length) {
    return `unit name ${shown} must end in ${JSON.stringify(UNIT_SUFFIX)} after a non-empty prefix`
  }
  if (!UNIT_NAME_CHARS.test(name)) {
    return `unit name ${shown} may only contain letters, digits and ':', '_', '.', '\\', '@', '-'`
  }
  // ASCII only from here on, so characters are bytes.
  if (name.length > UNIT_NAME_MAX_BYTES) {
    return `unit name ${shown} is longer than ${UNIT_NAME_MAX_BYTES} bytes`
  }
  return undefined
}

// ---------------------------------------------------------------------------
// The machine unit (systemd.md §3, §4)

/** The machina executable, by bare name (like QEMU's, resolved through systemd's default PATH). */
export const MACHINA_EXECUTABLE = "machina"

/** Default `TimeoutStopSec=`: 90 s for ExecStop plus systemd's kill phase. */
export const DEFAULT_STOP_TIMEOUT: Duration.Duration = Duration.seconds(90)
/** How much sooner than `TimeoutStopSec=` the graceful shutdown gives up (1m30s → 1m25s). */
export const SHUTDOWN_MARGIN: Duration.Duration = Duration.seconds(5)
export const START_LIMIT_INTERVAL: Duration.Duration = Duration.minutes(1)
export const START_LIMIT_BURST = 2
export const RESTART_DELAY: Duration.Duration = Duration.seconds(10)

export interface MachineUnitInput {
  /** Effective machine name (validated elsewhere: letters, digits, `_ - .`). */
  readonly name: string
  /** The QEMU options in command-line order (qemu.md §3). */
  readonly options: ReadonlyArray<QemuOption>
  /**
   * `TimeoutStopSec=`; default 1m30s. `machina shutdown --timeout` gets 5 s less (at least 0s).
   */
  readonly stopTimeout?: Duration.DurationInput | undefined
  /**
   * The machina the hooks run (ExecStartPre, ExecStop, ExecStopPost): default the bare name
   * `machina` (systemd's PATH); an absolute path when machina is installed outside /usr/bin.
   */
  readonly executable?: string | undefined
  /** Run QEMU unprivileged in a hardened unit (absent: as root, the unit of systemd.md §3). */
  readonly privileges?: UnitPrivileges | undefined
  /** The machine has a generated swtpm unit: the QEMU unit binds to it and starts after it. */
  readonly swtpm?: boolean | undefined
}

/** What an unprivileged machine's unit needs to know (see `hardeningDirectives`). */
export interface UnitPrivileges {
  /** Host user name (`User=`). */
  readonly user: string
  /** The machine's file-system group id (`Group=`, numeric: no group database entry is needed). */
  readonly group: number
  /** Files and directories QEMU writes besides its runtime directory (writable volumes, firmware vars). */
  readonly writablePaths: ReadonlyArray<string>
}

/** One ExecStart line per option (§4): `quote("-" + type)`, then ` ` + `quote(params)` when non-empty. */
export const optionLine = (o: QemuOption): string =>
  o.params === "" ? quote(`-${o.type}`) : `${quote(`-${o.type}`)} ${quote(o.params)}`

/** The ExecStart value lines: the executable, then one option per line. */
export const execStartLines = (options: ReadonlyArray<QemuOption>): Arr.NonEmptyReadonlyArray<string> => {
  const lines: [string, ...Array<string>] = [QEMU_EXECUTABLE]
  for (const o of options) lines.push(optionLine(o))
  return lines
}

/** The durations of a unit as systemd reads them (Go's rendering), given its stop timeout. */
interface UnitDurations {
  readonly startLimitInterval: string
  readonly restartDelay: string
  readonly stopTimeout: string
  readonly shutdownTimeout: string
}

const unitDurations = (stopTimeout: Duration.Duration): UnitDurations => {
  const shutdownTimeout = Duration.greaterThan(stopTimeout, SHUTDOWN_MARGIN)
    ? Duration.subtract(stopTimeout, SHUTDOWN_MARGIN)
    : Duration.zero
  return {
    startLimitInterval: formatGoDuration(START_LIMIT_INTERVAL),
    restartDelay: formatGoDuration(RESTART_DELAY),
    stopTimeout: formatGoDuration(stopTimeout),
    shutdownTimeout: formatGoDuration(shutdownTimeout)
  }
}

/** Those of the default stop timeout, which every generated unit uses: rendered on first use. */
let defaultDurations: UnitDurations | undefined

/**
 * A path for a space-separated path list such as `ReadWritePaths=` (no environment expansion there,
 * only specifiers and quoting): safe paths as they are, others in double quotes with `\\` and `"`
 * escaped; `%` doubled in both.
 */
export const quotePathListItem = (path: string): string => {
  const escaped = path.replaceAll("%", "%%")
  if (SAFE.test(path)) return escaped
  return `"${escaped.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`
}

/** Devices an unprivileged QEMU may open (everything else is denied by `DevicePolicy=closed`). */
export const ALLOWED_DEVICES: ReadonlyArray<string> = ["/dev/kvm rw", "/dev/net/tun rw", "/dev/vfio/vfio rw", "char-vfio rw"]

/**
 * The sandboxing of an unprivileged QEMU: its user and numeric group, no capabilities at all, a
 * read-only view of the system but for its own files, no home directories, a private /tmp, only
 * the devices it needs, local and Internet sockets only, the system-service system calls but the
 * privileged ones, and the kernel, clock, control groups and other users' processes out of reach.
 * Every line is exercised by booting a guest under it (test/e2e/Unprivileged.test.ts).
 */
export const hardeningDirectives = (
  p: UnitPrivileges,
  options: { readonly devices?: ReadonlyArray<string>; readonly addressFamilies?: string } = {}
): ReadonlyArray<Directive> => [
  directive("User", p.user),
  directive("Group", String(p.group)),
  // systemd applies the mode again before every command: keep the QMP sockets' folder private.
  directive("RuntimeDirectoryMode", "0700"),
  directive("NoNewPrivileges", "yes"),
  directive("CapabilityBoundingSet", ""),
  directive("AmbientCapabilities", ""),
  directive("ProtectSystem", "strict"),
  ...p.writablePaths.map((path) => directive("ReadWritePaths", quotePathListItem(path))),
  directive("ProtectHome", "yes"),
  directive("PrivateTmp", "yes"),
  directive("PrivateIPC", "yes"),
  directive("PrivateMounts", "yes"),
  directive("DevicePolicy", "closed"),
  ...(options.devices ?? ALLOWED_DEVICES).map((d) => directive("DeviceAllow", d)),
  directive("RestrictAddressFamilies", options.addressFamilies ?? "AF_UNIX AF_INET AF_INET6"),
  directive("SystemCallArchitectures", "native"),
  directive("SystemCallFilter", "@system-service"),
  directive("SystemCallFilter", "~@privileged"),
  directive("SystemCallErrorNumber", "EPERM"),
  directive("ProtectKernelTunables", "yes"),
  directive("ProtectKernelModules", "yes"),
  directive("ProtectKernelLogs", "yes"),
  directive("ProtectControlGroups", "yes"),
  directive("ProtectClock", "yes"),
  directive("ProtectHostname", "yes"),
  directive("ProtectProc", "invisible"),
  directive("ProcSubset", "pid"),
  directive("RestrictNamespaces", "yes"),
  directive("RestrictRealtime", "yes"),
  directive("RestrictSUIDSGID", "yes"),
  directive("LockPersonality", "yes"),
  directive("RemoveIPC", "yes"),
  directive("KeyringMode", "private"),
  directive("UMask", "0077")
]

/** `machina-swtpm-<name>.service`: the software TPM of a machine (later-upstream.md §2). */
export const swtpmUnitName = (machine: string): string => `${UNIT_PREFIX}swtpm-${machine}${UNIT_SUFFIX}`

/** The unit of one machine, directive for directive as systemd.md §3 lists them. */
export const machineUnit = (input: MachineUnitInput): Unit => {
  const { name } = input
  const q = quote(name)
  const machina = input.executable === undefined ? MACHINA_EXECUTABLE : quote(input.executable)
  // An unprivileged QEMU's hooks keep full privileges (`+`): they create taps, grant file access
  // and talk to QEMU as root.
  const hook = input.privileges === undefined ? "" : "+"
  const swtpm = input.swtpm === true ? swtpmUnitName(name) : undefined
  const durations = input.stopTimeout === undefined
    ? (defaultDurations ??= unitDurations(DEFAULT_STOP_TIMEOUT))
    : unitDurations(Duration.decode(input.stopTimeout))
  return {
    sections: [
      {
        name: "Unit",
        directives: [
          directive("Description", `machina KVM ${name}`),
          directive("Wants", "network-online.target"),
          directive("After", "network-online.target"),
          ...(swtpm === undefined ? [] : [directive("BindsTo", swtpm), directive("After", swtpm)]),
          directive("StartLimitIntervalSec", durations.startLimitInterval),
          directive("StartLimitBurst", String(START_LIMIT_BURST))
        ]
      },
      {
        name: "Service",
        directives: [
          directive("Type", "simple"),
          { key: "ExecStart", lines: execStartLines(input.options) },
          directive("ExecStartPre", `${hook}${machina} prepare ${q}`),
          directive(
            "ExecStop",
            `${hook}${machina} shutdown --system --timeout ${durations.shutdownTimeout} ${q}`
          ),
          directive("ExecStopPost", `${hook}${machina} teardown ${q}`),
          directive("RestartSec", durations.restartDelay),
          directive("TimeoutStopSec", durations.stopTimeout),
          directive("Restart", "on-failure"),
          directive("RuntimeDirectory", posixJoin("machina", name)),
          // The swtpm unit's socket lives there too: an automatic restart must not remove it.
          ...(swtpm === undefined ? [] : [directive("RuntimeDirectoryPreserve", "restart")]),
          ...(input.privileges === undefined ? [] : hardeningDirectives(input.privileges))
        ]
      },
      {
        name: "Install",
        directives: [directive("WantedBy", "multi-user.target")]
      }
    ]
  }
}

/** `renderUnit(machineUnit(input))`. */
export const renderMachineUnit = (input: MachineUnitInput): string => renderUnit(machineUnit(input))

// ---------------------------------------------------------------------------
// The configuration directory drop-in

/** The drop-in that points a unit's hooks at a configuration directory other than /etc/machina. */
export const CONFIG_DROP_IN = "machina-config.conf"

/** `<unit>.d/machina-config.conf`, as a name for the unit store. */
export const configDropInName = (machine: string): string => `${unitName(machine)}.d/${CONFIG_DROP_IN}`

/**
 * Its text: `Environment="MACHINA_CONFIG_DIR=<directory>"` in `[Service]` (applies to every Exec*=
 * of the unit). Environment= values are unquoted once and specifier-expanded, but not
 * variable-expanded: `\`, `"` and `%` are escaped, line breaks written as C escapes.
 */
export const configDropIn = (directory: string): string => {
  let value = ""
  for (const ch of `MACHINA_CONFIG_DIR=${directory}`) {
    value += ch === "\\" ? "\\\\" : ch === "\"" ? "\\\"" : ch === "%" ? "%%" : ch === "\n" ? "\\n" : ch === "\r" ? "\\r" : ch
  }
  return "# Written by machina generate: the hooks read this machine's configuration from here.\n" +
    renderSection({ name: "Service", directives: [directive("Environment", `"${value}"`)] })
}

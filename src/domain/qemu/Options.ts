/**
 * QEMU parameters and options (qemu.md §2): the smallest pieces of a command line and their
 * three output forms (`machina args`, the argv of `machina run`, and the ExecStart tokens the
 * systemd unit quotes).
 *
 * Deviation from the original (qemu.md §11.4, fixed): in `name=value` parameters a `,` inside the
 * value is doubled (`,,`), which is how QEMU's option parser reads a literal comma. Validated
 * names never contain commas; this only matters for file paths built from patterns and variables.
 * Everything else renders exactly as the original did.
 */
import { isGoPrint } from "../GoText.js"

/** One `name=value` pair of an option. An empty name renders the value alone, an empty value the name alone. */
export interface Parameter {
  readonly name: string
  readonly value: string
}

/** A `name=value` parameter; numbers render in decimal. */
export const param = (name: string, value: string | number): Parameter => ({ name, value: String(value) })

/** A flag-style parameter rendered as its bare name (`host`, `hv-relaxed`, `ioh3420`). */
export const flag = (name: string): Parameter => ({ name, value: "" })

/** A value-only parameter (`-name test-vm`): the value is cleaned like a name. */
export const bare = (value: string): Parameter => ({ name: "", value })

/** Go `unicode.IsSpace`. */
const isSpace = (cp: number): boolean =>
  (cp >= 0x09 && cp <= 0x0d) || cp === 0x20 || cp === 0x85 || cp === 0xa0 || cp === 0x1680 ||
  (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f ||
  cp === 0x3000

/** Text `cleanToken` keeps as it is: printable ASCII but space, `,`, `"` and `=` (nearly every token). */
const CLEAN_ASCII = /^[\x21\x23-\x2b\x2d-\x3c\x3e-\x7e]*$/

/** Removes `,` `"` `=`, whitespace and non-printable characters (qemu.md §2.1 step 1). */
export const cleanToken = (text: string): string => {
  if (CLEAN_ASCII.test(text)) return text
  let out = ""
  for (const ch of text) {
    const cp = ch.codePointAt(0)!
    if (ch === "," || ch === "\"" || ch === "=" || isSpace(cp) || !isGoPrint(cp)) continue
    out += ch
  }
  return out
}

/** QEMU's option syntax reads `,,` as a literal comma inside a value. */
export const escapeValue = (value: string): string => value.replaceAll(",", ",,")

/** Renders one parameter (qemu.md §2.1 steps 2-4, with comma escaping). */
export const renderParameter = (p: Parameter): string => {
  // Fast path for the usual case: clean text has no comma to escape.
  if (CLEAN_ASCII.test(p.name) && CLEAN_ASCII.test(p.value)) {
    return p.name === "" ? p.value : p.value === "" ? p.name : `${p.name}=${p.value}`
  }
  const name = cleanToken(p.name)
  const value = cleanToken(p.value)
  if (name === "") return value
  if (value === "") return name
  return `${name}=${escapeValue(p.value)}`
}

/** The non-empty rendered parameters joined with `,`. */
export const renderParameters = (params: ReadonlyArray<Parameter>): string => {
  const rendered: Array<string> = []
  for (const p of params) {
    const text = renderParameter(p)
    if (text !== "") rendered.push(text)
  }
  return rendered.join(",")
}

/** One QEMU option: `-<type>` and its rendered parameter string ("" when it has none). */
export interface QemuOption {
  readonly type: string
  readonly params: string
}

/** An option from parameters. */
export const option = (type: string, params: ReadonlyArray<Parameter> = []): QemuOption => ({
  type,
  params: renderParameters(params)
})

/**
 * An option whose argument QEMU takes verbatim rather than as `key=value,...` (`-kernel`,
 * `-initrd`, `-append`): no cleaning, no escaping.
 */
export const verbatimOption = (type: string, argument: string): QemuOption => ({ type, params: argument })

/** `-<type>` alone, or `-<type> <params>`. */
export const renderOption = (o: QemuOption): string => (o.params === "" ? `-${o.type}` : `-${o.type} ${o.params}`)

/**
 * The `machina args` form: one option per line joined by ` \` + newline, no executable, no
 * trailing backslash (the caller adds the final newline).
 */
export const renderArgs = (options: ReadonlyArray<QemuOption>): string => options.map(renderOption).join(" \\\n")

/** The argv form (`machina run`): `-<type>`, then the parameter string as its own element when non-empty. */
export const toArgv = (options: ReadonlyArray<QemuOption>): ReadonlyArray<string> =>
  options.flatMap((o) => (o.params === "" ? [`-${o.type}`] : [`-${o.type}`, o.params]))

/** The executable every option list is meant for (bare name, resolved through `PATH`). */
export const QEMU_EXECUTABLE = "qemu-system-x86_64"

/**
 * Validation of the names sysadmins give to machines, tags, storage pools, networks, volumes,
 * connections and devices. These names end up in file paths, QEMU option values, systemd unit
 * names, tap interface names and sysfs paths, so they are restricted to a character set that means
 * nothing special to any of them: letters, digits, `_`, `-` and (not first, not doubled) `.`.
 */

export type NameKind =
  | "machine"
  | "tag"
  | "storage pool"
  | "network"
  | "volume"
  | "connection"
  | "device"
  | "mediated device"
  | "processor"
  | "device class"
  | "QMP socket"
  | "variable"

const MAX_LENGTH = 64

const pattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const startsWithLetter = /^[A-Za-z]/

/** Kinds whose names start QEMU block node names, which QEMU requires to begin with a letter. */
const mustStartWithLetter: ReadonlySet<NameKind> = new Set<NameKind>(["machine", "volume"])

export const allowedDescription = (kind: NameKind): string =>
  `${mustStartWithLetter.has(kind) ? "a letter" : "a letter or digit"} followed by letters, digits, ` +
  `'_', '-' or '.' (no '..'), at most ${MAX_LENGTH} characters`

/** Returns a problem description for an invalid name, or undefined when the name is acceptable. */
export const checkName = (kind: NameKind, name: string): string | undefined => {
  if (name.length === 0) return `${kind} name must not be empty`
  if (name.length > MAX_LENGTH) return `${kind} name ${JSON.stringify(name)} is longer than ${MAX_LENGTH} characters`
  if (!pattern.test(name) || name.includes("..") || name.endsWith(".")) {
    return `${kind} name ${JSON.stringify(name)} is not allowed: use ${allowedDescription(kind)}`
  }
  if (mustStartWithLetter.has(kind) && !startsWithLetter.test(name)) {
    return `${kind} name ${JSON.stringify(name)} must start with a letter (QEMU node names derive from it)`
  }
  return undefined
}

export const isValidName = (kind: NameKind, name: string): boolean => checkName(kind, name) === undefined

/** Variable names only need to be referable from `${...}` patterns: anything but `}` and empty. */
export const checkVariableName = (name: string): string | undefined =>
  name.length === 0
    ? "variable name must not be empty"
    : name.includes("}")
    ? `variable name ${JSON.stringify(name)} must not contain '}'`
    : undefined

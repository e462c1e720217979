/**
 * The configuration model: the host file (`machina.conf.json`) and the machine files
 * (`machine.conf.d/<name>.conf.json`), declared as shapes (ConfigShape.ts) and decoded by walking
 * them; a file that does not decode is reported by Schema (`schemaOf`).
 *
 * Compatibility with the original's Go decoding (config.md §7): keys match case-insensitively,
 * `null` leaves the default, absent, empty and zero values are indistinguishable, unknown keys are
 * ignored and so is anything after the first JSON value. What the original ignored silently is
 * returned as a warning (unknown keys with a did-you-mean, trailing data with its line); every
 * problem in a file is reported at once.
 */
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import { type ConfigIssue, type ConfigWarning, issue, jsonPath, warning } from "./ConfigIssue.js"
import {
  choice,
  count,
  decodeShape,
  dict,
  field,
  flag,
  list,
  port,
  schemaOf,
  type Shape,
  struct,
  text,
  type TypeOf,
  uint32,
  type UnknownKey
} from "./ConfigShape.js"
import { parseResultModule, schemaModule } from "./SchemaModule.js"

// ---------------------------------------------------------------------------------------------
// Definitions (shared by tags and machines)

export const Volume = struct({
  name: text,
  storage: text,
  /** Canonical rendering (`0x` + uppercase hex) once decoded; "" when absent. */
  wwn: text,
  serial: text,
  bootable: flag
})
export type Volume = TypeOf<typeof Volume>
export const isVolumeSet = (v: Volume): boolean => v.name !== "" || v.storage !== ""

export const Connection = struct({
  name: text,
  network: text,
  ip: text,
  mac: text
})
export type Connection = TypeOf<typeof Connection>

export const Device = struct({
  name: text,
  class: text,
  /** Canonical lowercase UUID once decoded; "" when absent or zero. */
  id: text
})
export type Device = TypeOf<typeof Device>

export const Firmware = struct({
  code: Volume,
  vars: Volume
})

export const Cpu = struct({
  processor: text,
  sockets: count,
  cores: count,
  threads: count
})

export const Memory = struct({
  /** MiB */
  ram: count
})

export const Enlightenments = struct({ enabled: flag })

export const Tpm = struct({
  enabled: flag,
  socket: struct({ path: text }),
  /** The swtpm state directory, through a pool of type `tpm-data`; unset = /var/lib/machina/swtpm/<machine>. */
  data: Volume
})

const strings = list(text)

export const Qmp = struct({
  enabled: flag,
  sockets: struct({ names: strings, paths: strings })
})

export const QemuAgent = struct({
  enabled: flag,
  port: port,
  portPattern: field(text, { key: "port-pattern" })
})

export const Agent = struct({
  qemu: QemuAgent
})

export const Spice = struct({
  enabled: flag,
  port: port,
  portPattern: field(text, { key: "port-pattern" }),
  displays: count
})

/**
 * The serial console (`machina console`): an ISA serial port (the guest's ttyS0) on a unix socket
 * in the machine's runtime directory, `<run dir>/<machine>/console.socket`. Opt-in, so machines
 * without it keep their hardware.
 */
export const SerialConsole = struct({ enabled: flag })

/**
 * Pinned virtual hardware (see `qemu/HardwareRevision.ts`): the revision ("" = the default, 2024.12)
 * and the QEMU machine type (`machine-type`, "" = `q35`, the alias of the installed QEMU's newest
 * q35 type; revisions from 2026.12 require a versioned `pc-q35-X.Y`, which `machina pin-hardware`
 * records).
 */
export const Hardware = struct({
  revision: text,
  machineType: field(text, { key: "machine-type" })
})

/** Direct kernel boot: kernel and initrd located through storage pools, plus a command line. */
export const Boot = struct({
  kernel: Volume,
  initrd: Volume,
  append: text
})

export const Attributes = struct({
  firmware: Firmware,
  cpu: Cpu,
  memory: Memory,
  enlightenments: Enlightenments,
  tpm: Tpm,
  qmp: Qmp,
  agent: Agent,
  spice: Spice,
  hardware: Hardware,
  boot: Boot,
  console: SerialConsole
})
export type Attributes = TypeOf<typeof Attributes>

export const Group = struct({
  name: text,
  id: uint32
})

export const Privileges = struct({
  /**
   * The host user QEMU runs as ("" = root, as before). With a user, QEMU also runs as the
   * machine's file-system group (numerically) with no capabilities, in a hardened unit.
   */
  user: text,
  filesystem: struct({ group: Group })
})
export type Privileges = TypeOf<typeof Privileges>

const stringRecord = dict(text)

const definitionFields = {
  vars: stringRecord,
  privileges: Privileges,
  attrs: Attributes,
  volumes: list(Volume),
  connections: list(Connection),
  devices: list(Device)
}

export const Definition = struct(definitionFields)
export type Definition = TypeOf<typeof Definition>

export const emptyDefinition = (): Definition => decodeSyncOf(Definition)({})

// ---------------------------------------------------------------------------------------------
// Machine file

export const MachineFile = struct({
  name: text,
  description: text,
  /** Canonical lowercase UUID once decoded; the zero UUID when absent. */
  id: text,
  tags: strings,
  ...definitionFields
})
export type MachineFile = TypeOf<typeof MachineFile>

// ---------------------------------------------------------------------------------------------
// Host file

export const Processor = struct({
  brand: text,
  model: text,
  threads: count,
  default: flag
})
export type Processor = TypeOf<typeof Processor>

export const Storage = struct({
  path: text,
  pattern: text,
  type: text,
  readonly: flag
})
export type Storage = TypeOf<typeof Storage>

export const Network = struct({
  device: text,
  up: text,
  down: text
})
export type Network = TypeOf<typeof Network>

export const MediatedDevice = struct({
  address: text,
  types: stringRecord
})
export type MediatedDevice = TypeOf<typeof MediatedDevice>

export const Accelerator = choice("kvm", "tcg")
export type Accelerator = TypeOf<typeof Accelerator>

export const HostFile = struct({
  processor: dict(Processor),
  storage: dict(Storage),
  network: dict(Network),
  mdev: dict(MediatedDevice),
  tag: dict(Definition),
  /** QEMU accelerator for this host: `kvm` (default) or `tcg` for hosts without usable KVM. */
  accelerator: field(Accelerator, { default: () => "kvm" as const })
})
export type HostFile = TypeOf<typeof HostFile>

export const emptyHost = (): HostFile => decodeSyncOf(HostFile)({})

// ---------------------------------------------------------------------------------------------
// JSON decoding with Go-compatible key matching

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive. */
export const editDistance = (a: string, b: string): number => {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  const d: Array<Array<number>> = []
  for (let i = 0; i <= x.length; i++) {
    d.push([i])
    for (let j = 1; j <= y.length; j++) d[i]![j] = i === 0 ? j : 0
  }
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[x.length]![y.length]!
}

/** The known key closest to `key` when it is close enough to be a typo of it (first wins a tie). */
export const didYouMean = (key: string, known: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const k of known) {
    const distance = editDistance(key, k)
    if (distance < bestDistance) {
      best = k
      bestDistance = distance
    }
  }
  const limit = Math.min(2, Math.floor(Math.max(key.length, best?.length ?? 0) / 3))
  return best !== undefined && bestDistance <= limit ? best : undefined
}

/** The warning text for an unknown key: `unknown key "tagz" (ignored; did you mean "tags"?)`. */
export const unknownKeyMessage = (key: string, known: ReadonlyArray<string>): string => {
  const suggestion = didYouMean(key, known)
  return `unknown key ${JSON.stringify(key)} (ignored${suggestion === undefined ? "" : `; did you mean ${JSON.stringify(suggestion)}?`})`
}

/** The fields of a struct by exact and by lowercase name (the first field wins a lowercase clash). */
interface FieldIndex {
  readonly byName: ReadonlyMap<string, AST.PropertySignature>
  readonly byLower: ReadonlyMap<string, AST.PropertySignature>
  readonly names: ReadonlyArray<string>
}

/** Built once per struct, not once per object decoded. */
const fieldIndexes = new WeakMap<AST.TypeLiteral, FieldIndex>()

const fieldIndexOf = (ast: AST.TypeLiteral): FieldIndex => {
  let index = fieldIndexes.get(ast)
  if (index === undefined) {
    const byName = new Map<string, AST.PropertySignature>()
    const byLower = new Map<string, AST.PropertySignature>()
    for (const ps of ast.propertySignatures) {
      const name = String(ps.name)
      byName.set(name, ps)
      if (!byLower.has(name.toLowerCase())) byLower.set(name.toLowerCase(), ps)
    }
    index = { byName, byLower, names: ast.propertySignatures.map((p) => String(p.name)) }
    fieldIndexes.set(ast, index)
  }
  return index
}

/**
 * `path` is the JSON path of `value`; it is extended in place while a member is visited and
 * copied only for the (rare) unknown key.
 */
export const canonicalize = (ast: AST.AST, value: unknown, path: Array<PropertyKey>, unknown: Array<UnknownKey>): unknown => {
  switch (ast._tag) {
    case "Transformation":
      return canonicalize(ast.from, value, path, unknown)
    case "Refinement":
      return canonicalize(ast.from, value, path, unknown)
    case "Suspend":
      return canonicalize(ast.f(), value, path, unknown)
    case "Union": {
      for (const member of ast.types) {
        if (member._tag === "TypeLiteral" && isPlainObject(value)) return canonicalize(member, value, path, unknown)
        if (member._tag === "TupleType" && Array.isArray(value)) return canonicalize(member, value, path, unknown)
      }
      return value
    }
    case "TupleType": {
      if (!Array.isArray(value) || ast.rest.length === 0) return value
      const element = ast.rest[0]!.type
      const out: Array<unknown> = []
      for (let i = 0; i < value.length; i++) {
        path.push(i)
        out.push(canonicalize(element, value[i], path, unknown))
        path.pop()
      }
      return out
    }
    case "TypeLiteral": {
      if (!isPlainObject(value)) return value
      const fields = fieldIndexOf(ast)
      const index = ast.indexSignatures[0]
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(value)) {
        const member = value[key]
        const ps = fields.byName.get(key) ?? fields.byLower.get(key.toLowerCase())
        if (member === null && (ps !== undefined || index !== undefined)) continue
        if (ps !== undefined) {
          const name = String(ps.name)
          path.push(name)
          out[name] = canonicalize(ps.type, member, path, unknown)
          path.pop()
        } else if (index !== undefined) {
          path.push(key)
          out[key] = canonicalize(index.type, member, path, unknown)
          path.pop()
        } else {
          // Unknown keys are ignored, as the original does, and reported as warnings here, where
          // the expected names are at hand; the schema then decodes without its (slower)
          // excess-property check.
          unknown.push({ path: [...path, key], key, expected: fields.names })
        }
      }
      return out
    }
    default:
      return value
  }
}

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const describeParseIssue = (i: ParseResult.ArrayFormatterIssue): string => {
  if (i._tag === "Unexpected") {
    const expected = /expected: (.*)$/.exec(i.message)?.[1]
    return expected === undefined ? "unknown key" : `unknown key (expected one of: ${expected.replace(/"/g, "")})`
  }
  if (i._tag === "Missing") return "is required"
  return i.message.replace(/^Expected /, "expected ")
}

const viablePrefix = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch (e) {
    if (!(e instanceof Error)) return false
    if (/Unexpected end of JSON input|Unterminated string/.test(e.message)) return true
    const position = /at position (\d+)/.exec(e.message)
    return position !== null && Number(position[1]) >= text.length
  }
}

/**
 * Offset of the first syntax error: the longest prefix that still parses or merely ends early
 * (V8's messages do not always carry a position). Prefix viability is monotonic, so bisect.
 */
const errorOffset = (text: string): number => {
  let lo = 0
  let hi = text.length
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (viablePrefix(text.slice(0, mid))) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** A parsed JSON document and, when the file goes on after its first value, a warning saying where. */
export interface ParsedJson {
  readonly value: unknown
  readonly warnings: ReadonlyArray<ConfigWarning>
}

const lineAndColumn = (text: string, offset: number) => {
  const before = text.slice(0, offset)
  return { line: before.split("\n").length, column: offset - before.lastIndexOf("\n") }
}

/**
 * Parses JSON text, reporting syntax errors with a line and column. As the original (Go's
 * `json.Decoder.Decode`), only the first JSON value is read: anything after it is ignored, with a
 * warning naming the line where it starts.
 */
export const parseJsonText = (text: string, file: string): Either.Either<ParsedJson, ConfigIssue> => {
  try {
    return Either.right({ value: JSON.parse(text) as unknown, warnings: [] })
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    if (text.trim() === "") return Either.left(issue(file, "$", "invalid JSON: the file is empty"))
    const explicit = /at position (\d+)/.exec(message)
    const offset = explicit !== null ? Number(explicit[1]) : errorOffset(text)
    const { column, line } = lineAndColumn(text, offset)
    const first = offset > 0 ? Either.try(() => JSON.parse(text.slice(0, offset)) as unknown) : undefined
    if (first !== undefined && Either.isRight(first)) {
      return Either.right({
        value: first.right,
        warnings: [warning(file, "$", `data after the JSON value at line ${line}, column ${column} (ignored)`)]
      })
    }
    const reason = offset >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(text.slice(offset, offset + 1))}`
    return Either.left(issue(file, "$", `invalid JSON (line ${line}, column ${column}): ${reason}`))
  }
}

/** Decodes a value the shape surely decodes (defaults, tests); Schema throws its report otherwise. */
function decodeSyncOf<S extends Shape>(shape: S): (u: unknown) => TypeOf<S> {
  return (u) => {
    const direct = decodeShape(shape, u)
    return direct !== undefined ? direct.value : schemaModule().decodeUnknownSync(schemaOf(shape))(u)
  }
}

const decoders = new WeakMap<object, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

/** One compiled decoder per schema (building it per document costs more than decoding). */
const decoderOf = <A, I>(schema: Schema.Schema<A, I, never>) => {
  let decoder = decoders.get(schema)
  if (decoder === undefined) {
    decoder = schemaModule().decodeUnknownEither(schema, { errors: "all" })
    decoders.set(schema, decoder)
  }
  return decoder as (u: unknown) => Either.Either<A, ParseResult.ParseError>
}

/** A decoded document and what was questionable in it (unknown keys). */
export interface Decoded<A> {
  readonly value: A
  readonly warnings: ReadonlyArray<ConfigWarning>
}

/**
 * Decodes a JSON document against a shape, collecting every issue; unknown keys are dropped and
 * returned as warnings. A `null` document decodes as an empty one, as in the original.
 *
 * A document that decodes takes one walk of its shape (ConfigShape.ts `decodeShape`). One that
 * does not is canonicalised (keys renamed, `null` dropped) and given to Schema's decoder of the
 * shape, which reports every issue.
 */
export const decodeDocument = <S extends Shape>(
  shape: S,
  value: unknown,
  file: string
): Either.Either<Decoded<TypeOf<S>>, ReadonlyArray<ConfigIssue>> => {
  const document = value === null ? {} : value
  const unknownKeys: Array<UnknownKey> = []
  const direct = decodeShape(shape, document, unknownKeys)
  if (direct !== undefined) {
    return Either.right({
      value: direct.value,
      warnings: unknownKeys.map((u) => warning(file, jsonPath(u.path), unknownKeyMessage(u.key, u.expected)))
    })
  }
  const schema = schemaOf(shape)
  const result = decoderOf(schema)(canonicalize(schema.ast, document, [], []))
  // Not expected (the walk gives up only on what Schema rejects), but Schema's word is final.
  if (Either.isRight(result)) return Either.right({ value: result.right, warnings: [] })
  // A union (e.g. a literal choice) fails once per member: fold those into one line per path.
  const byPath = new Map<string, Array<string>>()
  for (const i of parseResultModule().ArrayFormatter.formatErrorSync(result.left)) {
    const path = jsonPath(i.path)
    const list = byPath.get(path) ?? []
    list.push(describeParseIssue(i))
    byPath.set(path, list)
  }
  const issues = [...byPath].map(([path, messages]) => {
    const expectations = messages.map((m) => /^expected (.*), actual (.*)$/.exec(m))
    if (messages.length > 1 && expectations.every((x) => x !== null && x[2] === expectations[0]![2])) {
      return issue(file, path, `expected ${expectations.map((x) => x![1]).join(" | ")}, actual ${expectations[0]![2]}`)
    }
    return issue(file, path, [...new Set(messages)].join("; "))
  })
  return Either.left(issues)
}

export const dedupeIssues = (issues: ReadonlyArray<ConfigIssue>): ReadonlyArray<ConfigIssue> => {
  const seen = new Set<string>()
  return issues.filter((i) => {
    const key = i.toString()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

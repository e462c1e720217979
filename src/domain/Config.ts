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
  name: field(text, () => ""),
  storage: field(text, () => ""),
  /** Canonical rendering (`0x` + uppercase hex) once decoded; "" when absent. */
  wwn: field(text, () => ""),
  serial: field(text, () => ""),
  bootable: field(flag, () => false)
})
export type Volume = TypeOf<typeof Volume>
export const emptyVolume: Volume = { name: "", storage: "", wwn: "", serial: "", bootable: false }
export const isVolumeSet = (v: Volume): boolean => v.name !== "" || v.storage !== ""

export const Connection = struct({
  name: field(text, () => ""),
  network: field(text, () => ""),
  ip: field(text, () => ""),
  mac: field(text, () => "")
})
export type Connection = TypeOf<typeof Connection>

export const Device = struct({
  name: field(text, () => ""),
  class: field(text, () => ""),
  /** Canonical lowercase UUID once decoded; "" when absent or zero. */
  id: field(text, () => "")
})
export type Device = TypeOf<typeof Device>

export const Firmware = struct({
  code: field(Volume, () => emptyVolume),
  vars: field(Volume, () => emptyVolume)
})

export const Cpu = struct({
  processor: field(text, () => ""),
  sockets: field(count, () => 0),
  cores: field(count, () => 0),
  threads: field(count, () => 0)
})

export const Memory = struct({
  /** MiB */
  ram: field(count, () => 0)
})

export const Enlightenments = struct({ enabled: field(flag, () => false) })

export const Tpm = struct({
  enabled: field(flag, () => false),
  socket: field(struct({ path: field(text, () => "") }), () => ({ path: "" })),
  /** The swtpm state directory, through a pool of type `tpm-data`; unset = /var/lib/machina/swtpm/<machine>. */
  data: field(Volume, () => emptyVolume)
})

const strings = list(text)

export const Qmp = struct({
  enabled: field(flag, () => false),
  sockets: field(
    struct({ names: field(strings, () => []), paths: field(strings, () => []) }),
    () => ({ names: [], paths: [] })
  )
})

export const QemuAgent = struct({
  enabled: field(flag, () => false),
  port: field(port, () => 0),
  portPattern: field(text, () => "", "port-pattern")
})

export const Agent = struct({
  qemu: field(QemuAgent, () => ({ enabled: false, port: 0, portPattern: "" }))
})

export const Spice = struct({
  enabled: field(flag, () => false),
  port: field(port, () => 0),
  portPattern: field(text, () => "", "port-pattern"),
  displays: field(count, () => 0)
})

/**
 * The serial console (`machina console`): an ISA serial port (the guest's ttyS0) on a unix socket
 * in the machine's runtime directory, `<run dir>/<machine>/console.socket`. Opt-in, so machines
 * without it keep their hardware.
 */
export const SerialConsole = struct({ enabled: field(flag, () => false) })

/**
 * Pinned virtual hardware (see `qemu/HardwareRevision.ts`): the revision ("" = the default, 2024.12)
 * and the QEMU machine type (`machine-type`, "" = `q35`, the alias of the installed QEMU's newest
 * q35 type; revisions from 2026.12 require a versioned `pc-q35-X.Y`, which `machina pin-hardware`
 * records).
 */
export const Hardware = struct({
  revision: field(text, () => ""),
  machineType: field(text, () => "", "machine-type")
})

/** Direct kernel boot: kernel and initrd located through storage pools, plus a command line. */
export const Boot = struct({
  kernel: field(Volume, () => emptyVolume),
  initrd: field(Volume, () => emptyVolume),
  append: field(text, () => "")
})

export const Attributes = struct({
  firmware: field(Firmware, () => ({ code: emptyVolume, vars: emptyVolume })),
  cpu: field(Cpu, () => ({ processor: "", sockets: 0, cores: 0, threads: 0 })),
  memory: field(Memory, () => ({ ram: 0 })),
  enlightenments: field(Enlightenments, () => ({ enabled: false })),
  tpm: field(Tpm, () => ({ enabled: false, socket: { path: "" }, data: emptyVolume })),
  qmp: field(Qmp, () => ({ enabled: false, sockets: { names: [], paths: [] } })),
  agent: field(Agent, () => ({ qemu: { enabled: false, port: 0, portPattern: "" } })),
  spice: field(Spice, () => ({ enabled: false, port: 0, portPattern: "", displays: 0 })),
  hardware: field(Hardware, () => ({ revision: "", machineType: "" })),
  boot: field(Boot, () => ({ kernel: emptyVolume, initrd: emptyVolume, append: "" })),
  console: field(SerialConsole, () => ({ enabled: false }))
})
export type Attributes = TypeOf<typeof Attributes>

export const Group = struct({
  name: field(text, () => ""),
  id: field(uint32, () => 0)
})

export const Privileges = struct({
  /**
   * The host user QEMU runs as ("" = root, as before). With a user, QEMU also runs as the
   * machine's file-system group (numerically) with no capabilities, in a hardened unit.
   */
  user: field(text, () => ""),
  filesystem: field(struct({ group: field(Group, () => ({ name: "", id: 0 })) }), () => ({
    group: { name: "", id: 0 }
  }))
})
export type Privileges = TypeOf<typeof Privileges>

let noAttributes: Attributes | undefined

/**
 * The `attrs` of a definition that has none, decoded once on first use: decoding them for every
 * file cost a third of decoding a typical machine file. (Decoding still copies the default into
 * each decoded file, so no two files share it.)
 */
const defaultAttributes = (): Attributes => (noAttributes ??= decodeSyncOf(Attributes)({}))

const stringRecord = dict(text)

const definitionFields = {
  vars: field(stringRecord, () => ({})),
  privileges: field(Privileges, () => ({ user: "", filesystem: { group: { name: "", id: 0 } } })),
  attrs: field(Attributes, defaultAttributes),
  volumes: field(list(Volume), () => []),
  connections: field(list(Connection), () => []),
  devices: field(list(Device), () => [])
}

export const Definition = struct(definitionFields)
export type Definition = TypeOf<typeof Definition>

export const emptyDefinition = (): Definition => decodeSyncOf(Definition)({})

// ---------------------------------------------------------------------------------------------
// Machine file

export const MachineFile = struct({
  name: field(text, () => ""),
  description: field(text, () => ""),
  /** Canonical lowercase UUID once decoded; the zero UUID when absent. */
  id: field(text, () => ""),
  tags: field(strings, () => []),
  ...definitionFields
})
export type MachineFile = TypeOf<typeof MachineFile>

// ---------------------------------------------------------------------------------------------
// Host file

export const Processor = struct({
  brand: field(text, () => ""),
  model: field(text, () => ""),
  threads: field(count, () => 0),
  default: field(flag, () => false)
})
export type Processor = TypeOf<typeof Processor>

export const Storage = struct({
  path: field(text, () => ""),
  pattern: field(text, () => ""),
  type: field(text, () => ""),
  readonly: field(flag, () => false)
})
export type Storage = TypeOf<typeof Storage>

export const Network = struct({
  device: field(text, () => ""),
  up: field(text, () => ""),
  down: field(text, () => "")
})
export type Network = TypeOf<typeof Network>

export const MediatedDevice = struct({
  address: field(text, () => ""),
  types: field(stringRecord, () => ({}))
})
export type MediatedDevice = TypeOf<typeof MediatedDevice>

export const Accelerator = choice("kvm", "tcg")
export type Accelerator = TypeOf<typeof Accelerator>

export const HostFile = struct({
  processor: field(dict(Processor), () => ({})),
  storage: field(dict(Storage), () => ({})),
  network: field(dict(Network), () => ({})),
  mdev: field(dict(MediatedDevice), () => ({})),
  tag: field(dict(Definition), () => ({})),
  /** QEMU accelerator for this host: `kvm` (default) or `tcg` for hosts without usable KVM. */
  accelerator: field(Accelerator, () => "kvm" as const)
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

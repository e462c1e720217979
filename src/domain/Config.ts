/**
 * The configuration model: the host file (`machina.conf.json`) and the machine files
 * (`machine.conf.d/<name>.conf.json`), decoded with Schema.
 *
 * Compatibility with the original's Go decoding (config.md §7): keys match case-insensitively,
 * `null` leaves the default, absent, empty and zero values are indistinguishable, unknown keys are
 * ignored and so is anything after the first JSON value. What the original ignored silently is
 * returned as a warning (unknown keys with a did-you-mean, trailing data with its line); every
 * problem in a file is reported at once.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { type ConfigIssue, type ConfigWarning, issue, jsonPath, warning } from "./ConfigIssue.js"
import { decodeDirect } from "./DirectDecode.js"

/**
 * An optional field with its default. The fields of one plain type (text, flag, count, port) with
 * the same default share one property signature, built once (schemas are immutable): fewer schemas
 * to build when this module loads, which every command and hook does.
 */
const opt = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) => {
  const make = () => Schema.optionalWith(schema, { default: value, exact: true })
  const plain = plainTypes.get(schema)
  if (plain === undefined) return make()
  const key = `${plain}:${String(value())}`
  const shared = plainFields.get(key) as ReturnType<typeof make> | undefined
  if (shared !== undefined) return shared
  const field = make()
  plainFields.set(key, field)
  return field
}
const plainFields = new Map<string, unknown>()

const Str = Schema.String
const Bool = Schema.Boolean
const Count = Schema.Int.pipe(Schema.nonNegative())
const Port = Schema.Int.pipe(Schema.between(0, 65535))
const Uint32 = Schema.Int.pipe(Schema.between(0, 4294967295))
const Strings = Schema.Array(Str)
const plainTypes = new Map<Schema.Schema.Any, string>([[Str, "text"], [Bool, "flag"], [Count, "count"], [Port, "port"], [Uint32, "uint32"]])

// ---------------------------------------------------------------------------------------------
// Definitions (shared by tags and machines)

export const Volume = Schema.Struct({
  name: opt(Str, () => ""),
  storage: opt(Str, () => ""),
  /** Canonical rendering (`0x` + uppercase hex) once decoded; "" when absent. */
  wwn: opt(Str, () => ""),
  serial: opt(Str, () => ""),
  bootable: opt(Bool, () => false)
})
export type Volume = Schema.Schema.Type<typeof Volume>
export const emptyVolume: Volume = { name: "", storage: "", wwn: "", serial: "", bootable: false }
export const isVolumeSet = (v: Volume): boolean => v.name !== "" || v.storage !== ""

export const Connection = Schema.Struct({
  name: opt(Str, () => ""),
  network: opt(Str, () => ""),
  ip: opt(Str, () => ""),
  mac: opt(Str, () => "")
})
export type Connection = Schema.Schema.Type<typeof Connection>

export const Device = Schema.Struct({
  name: opt(Str, () => ""),
  class: opt(Str, () => ""),
  /** Canonical lowercase UUID once decoded; "" when absent or zero. */
  id: opt(Str, () => "")
})
export type Device = Schema.Schema.Type<typeof Device>

export const Firmware = Schema.Struct({
  code: opt(Volume, () => emptyVolume),
  vars: opt(Volume, () => emptyVolume)
})

export const Cpu = Schema.Struct({
  processor: opt(Str, () => ""),
  sockets: opt(Count, () => 0),
  cores: opt(Count, () => 0),
  threads: opt(Count, () => 0)
})

export const Memory = Schema.Struct({
  /** MiB */
  ram: opt(Count, () => 0)
})

export const Enlightenments = Schema.Struct({ enabled: opt(Bool, () => false) })

export const Tpm = Schema.Struct({
  enabled: opt(Bool, () => false),
  socket: opt(Schema.Struct({ path: opt(Str, () => "") }), () => ({ path: "" })),
  /** The swtpm state directory, through a pool of type `tpm-data`; unset = /var/lib/machina/swtpm/<machine>. */
  data: opt(Volume, () => emptyVolume)
})

export const Qmp = Schema.Struct({
  enabled: opt(Bool, () => false),
  sockets: opt(
    Schema.Struct({ names: opt(Strings, () => []), paths: opt(Strings, () => []) }),
    () => ({ names: [], paths: [] })
  )
})

export const QemuAgent = Schema.Struct({
  enabled: opt(Bool, () => false),
  port: opt(Port, () => 0),
  portPattern: opt(Str, () => "").pipe(Schema.fromKey("port-pattern"))
})

export const Agent = Schema.Struct({
  qemu: opt(QemuAgent, () => ({ enabled: false, port: 0, portPattern: "" }))
})

export const Spice = Schema.Struct({
  enabled: opt(Bool, () => false),
  port: opt(Port, () => 0),
  portPattern: opt(Str, () => "").pipe(Schema.fromKey("port-pattern")),
  displays: opt(Count, () => 0)
})

/**
 * The serial console (`machina console`): an ISA serial port (the guest's ttyS0) on a unix socket
 * in the machine's runtime directory, `<run dir>/<machine>/console.socket`. Opt-in, so machines
 * without it keep their hardware.
 */
export const SerialConsole = Schema.Struct({ enabled: opt(Bool, () => false) })

/**
 * Pinned virtual hardware (see `qemu/HardwareRevision.ts`): the revision ("" = the default, 2024.12)
 * and the QEMU machine type (`machine-type`, "" = `q35`, the alias of the installed QEMU's newest
 * q35 type; revisions from 2026.12 require a versioned `pc-q35-X.Y`, which `machina pin-hardware`
 * records).
 */
export const Hardware = Schema.Struct({
  revision: opt(Str, () => ""),
  machineType: opt(Str, () => "").pipe(Schema.fromKey("machine-type"))
})

/** Direct kernel boot: kernel and initrd located through storage pools, plus a command line. */
export const Boot = Schema.Struct({
  kernel: opt(Volume, () => emptyVolume),
  initrd: opt(Volume, () => emptyVolume),
  append: opt(Str, () => "")
})

export const Attributes = Schema.Struct({
  firmware: opt(Firmware, () => ({ code: emptyVolume, vars: emptyVolume })),
  cpu: opt(Cpu, () => ({ processor: "", sockets: 0, cores: 0, threads: 0 })),
  memory: opt(Memory, () => ({ ram: 0 })),
  enlightenments: opt(Enlightenments, () => ({ enabled: false })),
  tpm: opt(Tpm, () => ({ enabled: false, socket: { path: "" }, data: emptyVolume })),
  qmp: opt(Qmp, () => ({ enabled: false, sockets: { names: [], paths: [] } })),
  agent: opt(Agent, () => ({ qemu: { enabled: false, port: 0, portPattern: "" } })),
  spice: opt(Spice, () => ({ enabled: false, port: 0, portPattern: "", displays: 0 })),
  hardware: opt(Hardware, () => ({ revision: "", machineType: "" })),
  boot: opt(Boot, () => ({ kernel: emptyVolume, initrd: emptyVolume, append: "" })),
  console: opt(SerialConsole, () => ({ enabled: false }))
})
export type Attributes = Schema.Schema.Type<typeof Attributes>

export const Group = Schema.Struct({
  name: opt(Str, () => ""),
  id: opt(Uint32, () => 0)
})

export const Privileges = Schema.Struct({
  /**
   * The host user QEMU runs as ("" = root, as before). With a user, QEMU also runs as the
   * machine's file-system group (numerically) with no capabilities, in a hardened unit.
   */
  user: opt(Str, () => ""),
  filesystem: opt(Schema.Struct({ group: opt(Group, () => ({ name: "", id: 0 })) }), () => ({
    group: { name: "", id: 0 }
  }))
})
export type Privileges = Schema.Schema.Type<typeof Privileges>

let noAttributes: Attributes | undefined

/**
 * The `attrs` of a definition that has none, decoded once on first use: decoding them for every
 * file cost a third of decoding a typical machine file. (The schema still copies the default into
 * each decoded file, so no two files share it.)
 */
const defaultAttributes = (): Attributes => (noAttributes ??= decodeSyncOf(Attributes)({}))

const definitionFields = {
  vars: opt(Schema.Record({ key: Str, value: Str }), () => ({})),
  privileges: opt(Privileges, () => ({ user: "", filesystem: { group: { name: "", id: 0 } } })),
  attrs: opt(Attributes, defaultAttributes),
  volumes: opt(Schema.Array(Volume), () => []),
  connections: opt(Schema.Array(Connection), () => []),
  devices: opt(Schema.Array(Device), () => [])
}

export const Definition = Schema.Struct(definitionFields)
export type Definition = Schema.Schema.Type<typeof Definition>

export const emptyDefinition = (): Definition => decodeSyncOf(Definition)({})

// ---------------------------------------------------------------------------------------------
// Machine file

export const MachineFile = Schema.Struct({
  name: opt(Str, () => ""),
  description: opt(Str, () => ""),
  /** Canonical lowercase UUID once decoded; the zero UUID when absent. */
  id: opt(Str, () => ""),
  tags: opt(Strings, () => []),
  ...definitionFields
})
export type MachineFile = Schema.Schema.Type<typeof MachineFile>

// ---------------------------------------------------------------------------------------------
// Host file

export const Processor = Schema.Struct({
  brand: opt(Str, () => ""),
  model: opt(Str, () => ""),
  threads: opt(Count, () => 0),
  default: opt(Bool, () => false)
})
export type Processor = Schema.Schema.Type<typeof Processor>

export const Storage = Schema.Struct({
  path: opt(Str, () => ""),
  pattern: opt(Str, () => ""),
  type: opt(Str, () => ""),
  readonly: opt(Bool, () => false)
})
export type Storage = Schema.Schema.Type<typeof Storage>

export const Network = Schema.Struct({
  device: opt(Str, () => ""),
  up: opt(Str, () => ""),
  down: opt(Str, () => "")
})
export type Network = Schema.Schema.Type<typeof Network>

export const MediatedDevice = Schema.Struct({
  address: opt(Str, () => ""),
  types: opt(Schema.Record({ key: Str, value: Str }), () => ({}))
})
export type MediatedDevice = Schema.Schema.Type<typeof MediatedDevice>

export const Accelerator = Schema.Literal("kvm", "tcg")
export type Accelerator = Schema.Schema.Type<typeof Accelerator>

export const HostFile = Schema.Struct({
  processor: opt(Schema.Record({ key: Str, value: Processor }), () => ({})),
  storage: opt(Schema.Record({ key: Str, value: Storage }), () => ({})),
  network: opt(Schema.Record({ key: Str, value: Network }), () => ({})),
  mdev: opt(Schema.Record({ key: Str, value: MediatedDevice }), () => ({})),
  tag: opt(Schema.Record({ key: Str, value: Definition }), () => ({})),
  /** QEMU accelerator for this host: `kvm` (default) or `tcg` for hosts without usable KVM. */
  accelerator: opt(Accelerator, () => "kvm" as const)
})
export type HostFile = Schema.Schema.Type<typeof HostFile>

export const emptyHost = (): HostFile => decodeSyncOf(HostFile)({})

// ---------------------------------------------------------------------------------------------
// JSON decoding with Go-compatible key matching

/**
 * Walks a JSON value alongside the encoded side of a schema: renames keys that match a known
 * field case-insensitively (an exact match wins) and drops `null` members, so that `"ID"` or
 * `"ram": null` decode as the original decoded them.
 */
interface UnknownKey {
  readonly path: ReadonlyArray<PropertyKey>
  readonly key: string
  readonly expected: ReadonlyArray<string>
}

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
const canonicalize = (ast: AST.AST, value: unknown, path: Array<PropertyKey>, unknown: Array<UnknownKey>): unknown => {
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

/**
 * `Schema.decodeSync`, decoding directly (DirectDecode.ts) when it can: Schema's own decoder is
 * built only when a value needs its report.
 */
function decodeSyncOf<A, I>(schema: Schema.Schema<A, I, never>): (u: unknown) => A {
  return (u) => decodeDirect<A>(schema.ast, u)?.value ?? Schema.decodeUnknownSync(schema)(u)
}

const decoders = new WeakMap<object, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

/** One compiled decoder per schema (building it per document costs more than decoding). */
const decoderOf = <A, I>(schema: Schema.Schema<A, I, never>) => {
  let decoder = decoders.get(schema)
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownEither(schema, { errors: "all" })
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
 * Decodes a JSON document against a schema, collecting every issue; unknown keys are dropped and
 * returned as warnings. A `null` document decodes as an empty one, as in the original.
 */
export const decodeDocument = <A, I>(
  schema: Schema.Schema<A, I, never>,
  value: unknown,
  file: string
): Either.Either<Decoded<A>, ReadonlyArray<ConfigIssue>> => {
  const unknownKeys: Array<UnknownKey> = []
  const canonical = canonicalize(schema.ast, value === null ? {} : value, [], unknownKeys)
  const direct = decodeDirect<A>(schema.ast, canonical)
  const result = direct !== undefined ? Either.right(direct.value) : decoderOf(schema)(canonical)
  if (Either.isRight(result)) {
    return Either.right({
      value: result.right,
      warnings: unknownKeys.map((u) => warning(file, jsonPath(u.path), unknownKeyMessage(u.key, u.expected)))
    })
  }
  // A union (e.g. a literal choice) fails once per member: fold those into one line per path.
  const byPath = new Map<string, Array<string>>()
  for (const i of ParseResult.ArrayFormatter.formatErrorSync(result.left)) {
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

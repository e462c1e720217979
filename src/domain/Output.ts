/**
 * The `--format json` documents, one Schema per command. The JSON Schemas shipped in `schemas/`
 * are generated from these (`JSONSchema.make`, draft 2020-12) and a test fails when a checked-in
 * file differs from what these definitions give.
 *
 * Conventions, the same in every command:
 * - keys are kebab-case, as in the configuration files (`active-state`, `guest-changes`);
 * - a field that is unset is omitted: no `""`, `0`, `false`, `null`, `[]` or `{}` stands for
 *   "nothing" (counts such as `errors` and lists such as `issues` are values and always present);
 * - `name` is always the machine's name (its effective name, the one its unit is named after);
 *   other things are named by their own key (`unit`, `file`, `volume`);
 * - timestamps are ISO 8601 date-times in UTC (`2026-12-03T21:49:58Z`, with a fraction when the
 *   source has one);
 * - values the text output shows are there too, resolved (effective ports, socket paths, files).
 *
 * Documents that carry QEMU's own answers (`query`, `observe`'s event data) keep QEMU's keys.
 */
import * as Schema from "effect/Schema"
import { Definition, HostFile } from "./Config.js"

/** A non-empty string: empty values are omitted, never printed. */
const Text = Schema.String.pipe(Schema.minLength(1))
const Count = Schema.Int.pipe(Schema.nonNegative())
const Positive = Schema.Int.pipe(Schema.positive())
const Port = Schema.Int.pipe(Schema.between(1, 65535))

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

/** An ISO 8601 date-time in UTC. */
export const Timestamp = Schema.String.pipe(
  Schema.pattern(ISO_8601),
  Schema.annotations({ jsonSchema: { format: "date-time" }, description: "an ISO 8601 date-time in UTC" })
)

/** The ISO 8601 form of a time in microseconds since the epoch; `undefined` for 0 (unset). */
export const isoFromMicros = (micros: number): string | undefined => {
  if (!(micros > 0)) return undefined
  const whole = Math.floor(micros / 1e6)
  const fraction = Math.round(micros - whole * 1e6)
  return isoFromSeconds(whole, fraction)
}

/** ISO 8601 from whole seconds and microseconds (QEMU's event timestamps); `undefined` when negative. */
export const isoFromSeconds = (seconds: number, microseconds: number): string | undefined => {
  if (seconds < 0 || microseconds < 0) return undefined
  const base = new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, "")
  return microseconds > 0 ? `${base}.${String(microseconds).padStart(6, "0")}Z` : `${base}Z`
}

/** `value` without the fields that are unset (`undefined`, `""`, `0`, `false`, `null`, empty lists and objects), recursively. */
export const omitUnset = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(omitUnset)
  if (value === null || typeof value !== "object") return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const pruned = omitUnset(v)
    if (isUnset(pruned)) continue
    out[k] = pruned
  }
  return out
}

const isUnset = (v: unknown): boolean =>
  v === undefined || v === null || v === "" || v === 0 || v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)

/** The fields of `A` that may be `undefined` become optional ones, without `undefined`. */
export type Defined<A> =
  & { readonly [K in keyof A as undefined extends A[K] ? never : K]: A[K] }
  & { readonly [K in keyof A as undefined extends A[K] ? K : never]?: Exclude<A[K], undefined> }

/** `record` without its `undefined` and `""` fields (for documents built field by field). */
export const defined = <A extends Record<string, unknown>>(record: A): Defined<A> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined && v !== "")) as Defined<A>

// ---------------------------------------------------------------------------------------------
// list

export const ListEntry = Schema.Struct({
  name: Text,
  unit: Text,
  description: Schema.optional(Text),
  "load-state": Schema.optional(Text),
  "active-state": Schema.optional(Text),
  "sub-state": Schema.optional(Text),
  "main-pid": Schema.optional(Positive),
  /** When the state in force began (what the text shows as a duration). */
  since: Schema.optional(Timestamp),
  /** The machine file could not be loaded: the first line of why. */
  error: Schema.optional(Text),
  swtpm: Schema.optional(Schema.Struct({
    unit: Text,
    "active-state": Schema.optional(Text),
    "sub-state": Schema.optional(Text)
  }))
}).annotations({ identifier: "ListEntry", description: "One machine of the host and the state of its unit" })
export type ListEntry = Schema.Schema.Type<typeof ListEntry>

export const ListDocument = Schema.Array(ListEntry).annotations({
  title: "machina list --format json",
  description: "Every machine of the host, by name"
})

// ---------------------------------------------------------------------------------------------
// status

export const StatusEntry = Schema.Struct({
  name: Text,
  unit: Text,
  /** The machine's QEMU unit, or its companion swtpm unit. */
  role: Schema.Literal("qemu", "swtpm"),
  "load-state": Schema.optional(Text),
  "active-state": Schema.optional(Text),
  "sub-state": Schema.optional(Text),
  "main-pid": Schema.optional(Positive),
  result: Schema.optional(Text),
  "unit-description": Schema.optional(Text),
  since: Schema.optional(Timestamp),
  "active-enter-timestamp": Schema.optional(Timestamp),
  "active-exit-timestamp": Schema.optional(Timestamp),
  "inactive-enter-timestamp": Schema.optional(Timestamp),
  "inactive-exit-timestamp": Schema.optional(Timestamp)
}).annotations({ identifier: "StatusEntry", description: "One systemd unit of a machine" })
export type StatusEntry = Schema.Schema.Type<typeof StatusEntry>

export const StatusDocument = Schema.Array(StatusEntry).annotations({
  title: "machina status --format json",
  description: "The units of the named machines: each machine's QEMU unit, then its swtpm unit when it has one"
})

// ---------------------------------------------------------------------------------------------
// check

export const CheckIssue = Schema.Struct({
  severity: Schema.Literal("error", "warning", "info"),
  file: Schema.optional(Text),
  /** The JSON path in the file (`$.attrs.cpu.cores`). */
  path: Schema.optional(Text),
  message: Text
}).annotations({ identifier: "CheckIssue" })

export const CheckUnprivileged = Schema.Struct({
  name: Text,
  user: Text,
  group: Schema.optional(Positive),
  /** Files QEMU would not reach as that user, one line each. */
  unreachable: Schema.Array(Text)
}).annotations({ identifier: "CheckUnprivileged" })

export const CheckDocument = Schema.Struct({
  ok: Schema.Boolean,
  strict: Schema.Boolean,
  "host-file": Text,
  machines: Schema.Array(Text),
  errors: Count,
  warnings: Count,
  issues: Schema.Array(CheckIssue),
  /** Machines whose QEMU runs as an unprivileged user, and what that user cannot reach. */
  unprivileged: Schema.optional(Schema.Array(CheckUnprivileged))
}).annotations({ title: "machina check --format json", description: "Every problem of the host file and the machines checked" })
export type CheckDocument = Schema.Schema.Type<typeof CheckDocument>

// ---------------------------------------------------------------------------------------------
// plan

export const PlanEntry = Schema.Struct({
  name: Text,
  unit: Text,
  /** The unit file's path. */
  path: Text,
  status: Schema.Literal("created", "changed", "unchanged", "orphaned"),
  diff: Schema.Array(Schema.Struct({ op: Schema.Literal(" ", "-", "+"), text: Schema.String })),
  "guest-changes": Schema.Array(Schema.Struct({
    kind: Text,
    subject: Text,
    before: Schema.optional(Text),
    after: Schema.optional(Text),
    text: Text
  }))
}).annotations({ identifier: "PlanEntry" })
export type PlanEntry = Schema.Schema.Type<typeof PlanEntry>

export const PlanDocument = Schema.Struct({
  changes: Schema.Boolean,
  machines: Schema.Array(PlanEntry)
}).annotations({ title: "machina plan --format json", description: "What generate would change" })
export type PlanDocument = Schema.Schema.Type<typeof PlanDocument>

// ---------------------------------------------------------------------------------------------
// cat

/** What machina derives from a machine's configuration: the values `cat` shows resolved. */
export const CatResolved = Schema.Struct({
  "qmp-sockets": Schema.optional(Schema.Array(Text)),
  "tpm-socket": Schema.optional(Text),
  "agent-port": Schema.optional(Port),
  "agent-port-error": Schema.optional(Text),
  "spice-port": Schema.optional(Port),
  "spice-port-error": Schema.optional(Text),
  /** The image files QEMU opens, in the order of the configuration. */
  files: Schema.optional(Schema.Array(Schema.Struct({
    use: Schema.Literal("firmware-code", "firmware-vars", "kernel", "initrd", "tpm-data", "volume"),
    volume: Schema.optional(Text),
    storage: Schema.optional(Text),
    path: Schema.optional(Text),
    error: Schema.optional(Text)
  })))
}).annotations({ identifier: "CatResolved" })
export type CatResolved = Schema.Schema.Type<typeof CatResolved>

const MachineHead = Schema.Struct({
  kind: Schema.Literal("machine"),
  name: Text,
  file: Text,
  /** Only when the file's `name` key names the machine differently. */
  "file-name": Schema.optional(Text),
  description: Schema.optional(Text),
  id: Schema.optional(Text),
  tags: Schema.optional(Schema.Array(Text)),
  resolved: Schema.optional(CatResolved)
})

/** A machine: its merged definition in the shape of a machine file, plus what machina derives. */
export const CatMachine = Schema.extend(MachineHead, Schema.encodedSchema(Definition)).annotations({ identifier: "CatMachine" })

/** The host file (`cat system`), in the shape of the file. */
export const CatHost = Schema.extend(
  Schema.Struct({ kind: Schema.Literal("host"), file: Text }),
  Schema.encodedSchema(HostFile)
).annotations({ identifier: "CatHost" })

export const CatDocument = Schema.Array(Schema.Union(CatMachine, CatHost)).annotations({
  title: "machina cat --format json",
  description: "The configuration of the named machines (all when none is named) and of the host (`system`)"
})

// ---------------------------------------------------------------------------------------------
// query, observe

/** A value from QEMU, with QEMU's own keys (its QAPI schema). */
const QemuObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const QueryDocument = Schema.Record({ key: Text, value: Schema.Array(QemuObject) }).annotations({
  title: "machina query pci|cpu --format json",
  description: "Each machine's answer to query-pci (PciInfo list) or query-cpus-fast (CpuInfoFast list), keyed by machine name, QEMU's keys kept"
})

export const ObserveEvent = Schema.Struct({
  name: Text,
  event: Text,
  data: Schema.optional(QemuObject),
  timestamp: Schema.optional(Timestamp)
}).annotations({
  title: "machina observe --format json (one line per event)",
  description: "A QMP event of a machine; data as QEMU sent it"
})
export type ObserveEvent = Schema.Schema.Type<typeof ObserveEvent>

/** Every command's document by the schema file's name (`schemas/<name>.schema.json`). */
export const outputSchemas = {
  list: ListDocument,
  status: StatusDocument,
  check: CheckDocument,
  plan: PlanDocument,
  cat: CatDocument,
  query: QueryDocument,
  observe: ObserveEvent
} as const

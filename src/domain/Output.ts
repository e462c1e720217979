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
 *
 * Commands import only the types from here (`import type`): the Schemas are built when the schema
 * files are generated and tested, not when a command starts. The helpers that build documents
 * are in OutputValues.ts.
 */
import * as Schema from "effect/Schema"
import { Definition, HostFile } from "./Config.js"
import { schemaOf } from "./ConfigShape.js"

/** A non-empty string: empty values are omitted, never printed. */
const Text = Schema.String.pipe(Schema.minLength(1))
const Count = Schema.Int.pipe(Schema.nonNegative())
const Positive = Schema.Int.pipe(Schema.positive())
const Port = Schema.Int.pipe(Schema.between(1, 65535))

/** `schema` with a description for the JSON Schema file. */
const about = <S extends Schema.Schema.Any>(schema: S, description: string): S =>
  schema.annotations({ description }) as S

const MachineName = about(Text, "The machine's name (its effective name: the file's name key, else the file name)")
const UnitName = about(Text, "The systemd unit, e.g. machina-test-vm.service")

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

/** An ISO 8601 date-time in UTC. */
export const Timestamp = Schema.String.pipe(
  Schema.pattern(ISO_8601),
  Schema.annotations({ jsonSchema: { format: "date-time" }, description: "an ISO 8601 date-time in UTC" })
)

// ---------------------------------------------------------------------------------------------
// list

const LoadState = about(Text, "systemd's LoadState: loaded, not-found, bad-setting, error, masked")
const ActiveState = about(Text, "systemd's ActiveState: active, reloading, inactive, failed, activating, deactivating")
const SubState = about(Text, "systemd's SubState, e.g. running, dead, exited, auto-restart")
const MainPid = about(Positive, "The main process (QEMU, or swtpm); omitted when there is none")

export const ListEntry = Schema.Struct({
  name: MachineName,
  unit: UnitName,
  description: Schema.optional(about(Text, "The machine's description")),
  "load-state": Schema.optional(LoadState),
  "active-state": Schema.optional(ActiveState),
  "sub-state": Schema.optional(SubState),
  "main-pid": Schema.optional(MainPid),
  /** When the state in force began (what the text shows as a duration). */
  since: Schema.optional(about(Timestamp, "When the state in force began (the text shows how long ago)")),
  /** The machine file could not be loaded: the first line of why. */
  error: Schema.optional(about(Text, "Why the machine file could not be loaded (its first line)")),
  swtpm: Schema.optional(Schema.Struct({
    unit: UnitName,
    "active-state": Schema.optional(ActiveState),
    "sub-state": Schema.optional(SubState)
  }).annotations({ description: "The machine's TPM emulator unit, for machines with a TPM" }))
}).annotations({ identifier: "ListEntry", description: "One machine of the host and the state of its unit" })
export type ListEntry = Schema.Schema.Type<typeof ListEntry>

export const ListDocument = Schema.Array(ListEntry).annotations({
  title: "machina list --format json",
  description: "Every machine of the host, by name"
})

// ---------------------------------------------------------------------------------------------
// status

export const StatusEntry = Schema.Struct({
  name: MachineName,
  unit: UnitName,
  /** The machine's QEMU unit, or its companion swtpm unit. */
  role: about(Schema.Literal("qemu", "swtpm"), "The machine's QEMU unit, or its companion swtpm unit"),
  "load-state": Schema.optional(LoadState),
  "active-state": Schema.optional(ActiveState),
  "sub-state": Schema.optional(SubState),
  "main-pid": Schema.optional(MainPid),
  result: Schema.optional(about(Text, "The unit's last result: success, exit-code, signal, timeout, ...")),
  "unit-description": Schema.optional(about(Text, "The unit's Description=")),
  since: Schema.optional(about(Timestamp, "When the state in force began (the text shows it)")),
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
  severity: about(Schema.Literal("error", "warning", "info"), "error fails check; warning fails check --strict; info is a note"),
  file: Schema.optional(about(Text, "The configuration file")),
  /** The JSON path in the file (`$.attrs.cpu.cores`). */
  path: Schema.optional(about(Text, "The JSON path in the file, e.g. $.attrs.cpu.cores")),
  message: Text
}).annotations({ identifier: "CheckIssue" })

export const CheckUnprivileged = Schema.Struct({
  name: MachineName,
  user: about(Text, "The user QEMU runs as"),
  group: Schema.optional(about(Positive, "The group id QEMU runs with")),
  /** Files QEMU would not reach as that user, one line each. */
  unreachable: about(Schema.Array(Text), "Files QEMU would not reach as that user, one line each")
}).annotations({ identifier: "CheckUnprivileged" })

export const CheckDocument = Schema.Struct({
  ok: about(Schema.Boolean, "Whether check passed (its exit status is 0 exactly when ok)"),
  strict: about(Schema.Boolean, "Whether --strict made warnings fail"),
  "host-file": about(Text, "The host configuration file"),
  machines: about(Schema.Array(Text), "The machines checked"),
  errors: about(Count, "The number of errors"),
  warnings: about(Count, "The number of warnings"),
  issues: about(Schema.Array(CheckIssue), "Errors, then warnings, then notes"),
  /** Machines whose QEMU runs as an unprivileged user, and what that user cannot reach. */
  unprivileged: Schema.optional(about(Schema.Array(CheckUnprivileged), "Machines whose QEMU runs as an unprivileged user"))
}).annotations({ title: "machina check --format json", description: "Every problem of the host file and the machines checked" })
export type CheckDocument = Schema.Schema.Type<typeof CheckDocument>

// ---------------------------------------------------------------------------------------------
// plan

export const PlanEntry = Schema.Struct({
  name: MachineName,
  unit: UnitName,
  /** The unit file's path. */
  path: about(Text, "The unit file"),
  status: about(Schema.Literal("created", "changed", "unchanged", "orphaned"), "orphaned: a unit whose machine file is gone"),
  diff: about(
    Schema.Array(Schema.Struct({ op: Schema.Literal(" ", "-", "+"), text: Schema.String })),
    "The unit file's line diff: kept, removed and added lines"
  ),
  "guest-changes": about(
    Schema.Array(Schema.Struct({
      kind: about(Text, "device-added, device-removed, device-moved, device-changed, or the machine-wide setting that changed"),
      subject: about(Text, "A device (nic test-vm.0) or a machine-wide setting (SMBIOS UUID)"),
      before: Schema.optional(about(Text, "Omitted when there was none")),
      after: Schema.optional(about(Text, "Omitted when there is none")),
      text: about(Text, "The line the text output prints")
    })),
    "What the guest would see change"
  )
}).annotations({ identifier: "PlanEntry" })
export type PlanEntry = Schema.Schema.Type<typeof PlanEntry>

export const PlanDocument = Schema.Struct({
  changes: about(Schema.Boolean, "Whether generate would change anything (plan then exits 2)"),
  machines: Schema.Array(PlanEntry)
}).annotations({ title: "machina plan --format json", description: "What generate would change" })
export type PlanDocument = Schema.Schema.Type<typeof PlanDocument>

// ---------------------------------------------------------------------------------------------
// cat

/** What machina derives from a machine's configuration: the values `cat` shows resolved. */
export const CatResolved = Schema.Struct({
  "qmp-sockets": Schema.optional(about(Schema.Array(Text), "Every QMP socket, in QEMU's order")),
  "tpm-socket": Schema.optional(about(Text, "The TPM emulator's socket")),
  "console-socket": Schema.optional(about(Text, "The serial console's socket (machina console attaches to it)")),
  "agent-port": Schema.optional(about(Port, "The QEMU guest agent's effective TCP port")),
  "agent-port-error": Schema.optional(about(Text, "Why the agent's port pattern gives no port")),
  "spice-port": Schema.optional(about(Port, "The Spice display's effective TCP port")),
  "spice-port-error": Schema.optional(about(Text, "Why the Spice port pattern gives no port")),
  /** The image files QEMU opens, in the order of the configuration. */
  files: Schema.optional(Schema.Array(Schema.Struct({
    use: Schema.Literal("firmware-code", "firmware-vars", "kernel", "initrd", "tpm-data", "volume"),
    volume: Schema.optional(about(Text, "The volume's name")),
    storage: Schema.optional(about(Text, "The storage pool")),
    path: Schema.optional(about(Text, "The file QEMU opens")),
    error: Schema.optional(about(Text, "Why the file cannot be named (unknown pool, bad pattern)"))
  })).annotations({ description: "The image files QEMU opens, in the order of the configuration" }))
}).annotations({ identifier: "CatResolved" })
export type CatResolved = Schema.Schema.Type<typeof CatResolved>

const MachineHead = Schema.Struct({
  kind: Schema.Literal("machine"),
  name: MachineName,
  file: about(Text, "The machine file"),
  /** Only when the file's `name` key names the machine differently. */
  "file-name": Schema.optional(about(Text, "The name from the file name, when the name key names the machine differently")),
  description: Schema.optional(Text),
  id: Schema.optional(about(Text, "The machine's UUID")),
  tags: Schema.optional(Schema.Array(Text)),
  resolved: Schema.optional(about(CatResolved, "Values machina derives from the configuration (what the text shows resolved)"))
})

/** A machine: its merged definition in the shape of a machine file, plus what machina derives. */
export const CatMachine = Schema.extend(MachineHead, Schema.encodedSchema(schemaOf(Definition))).annotations({ identifier: "CatMachine" })

/** The host file (`cat system`), in the shape of the file. */
export const CatHost = Schema.extend(
  Schema.Struct({ kind: Schema.Literal("host"), file: about(Text, "The host configuration file") }),
  Schema.encodedSchema(schemaOf(HostFile))
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
  name: MachineName,
  event: about(Text, "The QMP event, e.g. SHUTDOWN"),
  data: Schema.optional(about(QemuObject, "The event's data as QEMU sent it (QEMU's keys)")),
  timestamp: Schema.optional(about(Timestamp, "When QEMU emitted the event (microseconds)"))
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

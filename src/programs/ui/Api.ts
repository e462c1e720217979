/**
 * What `machina ui` shows and does, on the same domain code as the CLI: the host and machines as
 * `check` sees them, a machine merged with provenance, its QEMU arguments and unit, validation and
 * preview of an edit, and saving it (never an invalid file, never over a change made meanwhile).
 * Everything here returns JSON-ready values; Server.ts maps them to HTTP.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { collisionsByMachine } from "../../domain/Collisions.js"
import { decodeHost, decodeMachine, type Host, type Machine } from "../../domain/ConfigFiles.js"
import { type ConfigIssue, issue } from "../../domain/ConfigIssue.js"
import { defaultStyle, formatLike, stringifyStyled } from "../../domain/JsonStyle.js"
import { compose, type Composed } from "../../domain/Merge.js"
import { checkName } from "../../domain/Names.js"
import { type GuestChange, guestVisibleChanges, renderDiff, unitDiff } from "../../domain/Plan.js"
import { provenance } from "../../domain/Provenance.js"
import { type QemuOption, renderArgs } from "../../domain/qemu/Options.js"
import { generate as generateQemu } from "../../domain/qemu/Pipeline.js"
import { renderMachineUnit, unitName } from "../../domain/Unit.js"
import { formatUuid, randomUuidV4 } from "../../domain/Uuid.js"
import { ConfigFiles, type ConfigFilesShape } from "../../services/ConfigFiles.js"
import type { ConfigStoreShape } from "../../services/ConfigStore.js"
import { lazy, reloadUnits, serviceOr, store, systemd } from "../Workspace.js"
import { LazyTaggedError } from "../../domain/LazyTaggedError.js"

// ---------------------------------------------------------------------------------------------
// Errors the API answers with (Server.ts picks the HTTP status from the tag)

/** The request names something that does not exist (404). */
export class UiNotFoundError extends LazyTaggedError<UiNotFoundError>()("UiNotFoundError", { what: Schema.String }) {
  override get message(): string {
    return `${this.what} not found`
  }
}

/** The request is malformed (400). */
export class UiBadRequestError extends LazyTaggedError<UiBadRequestError>()("UiBadRequestError", { reason: Schema.String }) {
  override get message(): string {
    return this.reason
  }
}

/** The edit fails validation: nothing was written (422). */
export class UiInvalidEditError extends LazyTaggedError<UiInvalidEditError>()("UiInvalidEditError", {
  problems: Schema.Array(Schema.Struct({ file: Schema.String, path: Schema.String, message: Schema.String }))
}) {
  override get message(): string {
    return this.problems.map((p) => `${p.file}: ${p.path}: ${p.message}`).join("\n")
  }
}

// ---------------------------------------------------------------------------------------------
// A snapshot of the configuration directory: texts, versions, decoded and generated

export interface Problem {
  readonly file: string
  readonly path: string
  readonly message: string
}

const problem = (i: ConfigIssue): Problem => ({ file: i.file, path: i.path, message: i.message })

export interface MachineSnapshot {
  readonly name: string
  readonly file: string
  readonly text: string
  readonly version: string | null
  readonly machine: Machine | undefined
  readonly composed: Composed | undefined
  readonly options: ReadonlyArray<QemuOption> | undefined
  readonly problems: ReadonlyArray<Problem>
}

export interface Snapshot {
  readonly location: string
  readonly hostFile: string
  readonly hostText: string
  readonly hostVersion: string | null
  readonly host: Host | undefined
  readonly hostProblems: ReadonlyArray<Problem>
  readonly machines: ReadonlyArray<MachineSnapshot>
}

const files = serviceOr(ConfigFiles, Effect.flatMap(lazy(() => import("../../layers/ConfigFilesFs.js")), (m) => m.make))

/** Decodes, merges and generates one machine file's text against `host`. */
export const evaluateMachine = (host: Host | undefined, name: string, file: string, text: string, version: string | null): MachineSnapshot => {
  const base = { name, file, text, version, machine: undefined, composed: undefined, options: undefined }
  const decoded = decodeMachine(text, file, name)
  if (Either.isLeft(decoded)) return { ...base, problems: decoded.left.issues.map(problem) }
  if (host === undefined) return { ...base, machine: decoded.right, problems: [] }
  const composed = compose(host, decoded.right)
  if (Either.isLeft(composed)) return { ...base, machine: decoded.right, problems: composed.left.issues.map(problem) }
  const options = generateQemu(host, composed.right)
  return {
    ...base,
    machine: decoded.right,
    composed: composed.right,
    options: Either.getOrUndefined(options),
    problems: Either.isLeft(options) ? options.left.issues.map(problem) : []
  }
}

/** Adds the collisions between machines to the machine whose claim repeats an earlier one. */
const withCollisions = (machines: ReadonlyArray<MachineSnapshot>): ReadonlyArray<MachineSnapshot> => {
  const found = collisionsByMachine(machines.flatMap((m) => (m.composed === undefined ? [] : [m.composed])))
  if (found.length === 0) return machines
  return machines.map((m) => {
    const mine = found.filter((c) => c.machine === m.name).map((c) => problem(c.issue))
    return mine.length === 0 ? m : { ...m, problems: [...m.problems, ...mine] }
  })
}

const readMachines = (s: ConfigStoreShape, f: ConfigFilesShape, host: Host | undefined) =>
  Effect.gen(function*() {
    const names = yield* Effect.orElseSucceed(s.listMachines, () => [] as ReadonlyArray<string>)
    return yield* Effect.forEach(names, (name) =>
      Effect.map(f.read(s.machineFile(name)), (r) => evaluateMachine(host, name, r.file, r.text, r.version)))
  })

export const snapshot = Effect.gen(function*() {
  const s = yield* store
  const f = yield* files
  const hostRead = yield* f.read(s.hostFile)
  const decoded = hostRead.version === null
    ? Either.left([problem(issue(s.hostFile, "$", "file not found"))])
    : Either.mapLeft(decodeHost(hostRead.text, s.hostFile), (e) => e.issues.map(problem))
  const host = Either.getOrUndefined(decoded)
  const machines = withCollisions(yield* readMachines(s, f, host))
  return {
    location: s.location,
    hostFile: s.hostFile,
    hostText: hostRead.text,
    hostVersion: hostRead.version,
    host,
    hostProblems: Either.isLeft(decoded) ? decoded.left : [],
    machines
  } satisfies Snapshot
})

// ---------------------------------------------------------------------------------------------
// Reading

/** Unit states by unit name, or why they are unknown; bounded so a hung bus never blocks a page. */
const unitStates = (units: ReadonlyArray<string>) =>
  Effect.flatMap(systemd, (sd) => sd.units(units)).pipe(
    Effect.scoped,
    Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => ({ message: "systemd did not answer within 3 s" }) }),
    Effect.either,
    Effect.map(Either.mapLeft((e) => e.message))
  )

const cpuCount = (c: Composed) => {
  const { sockets, cores, threads } = c.definition.attrs.cpu
  return Math.max(1, sockets) * Math.max(1, cores) * Math.max(1, threads)
}

export const overview = Effect.gen(function*() {
  const snap = yield* snapshot
  const states = yield* unitStates(snap.machines.map((m) => unitName(m.name)))
  return {
    location: snap.location,
    hostFile: snap.hostFile,
    hostProblems: snap.hostProblems,
    tags: snap.host === undefined ? [] : Object.keys(snap.host.config.tag),
    systemd: Either.isRight(states) ? null : states.left,
    machines: snap.machines.map((m, i) => {
      const state = Either.isRight(states) ? states.right[i] : undefined
      return {
        name: m.name,
        file: m.file,
        description: m.machine?.description ?? "",
        tags: m.machine?.tags ?? [],
        ramMiB: m.composed?.definition.attrs.memory.ram ?? null,
        cpus: m.composed === undefined ? null : cpuCount(m.composed),
        unit: unitName(m.name),
        state: state === undefined ? null : { load: state.loadState, active: state.activeState, sub: state.subState },
        problems: m.problems
      }
    })
  }
})

const machineOf = (snap: Snapshot, name: string) =>
  Effect.gen(function*() {
    const problemText = checkName("machine", name)
    if (problemText !== undefined) return yield* new UiBadRequestError({ reason: problemText })
    const m = snap.machines.find((x) => x.name === name)
    if (m === undefined) return yield* new UiNotFoundError({ what: `machine ${name}` })
    return m
  })

/** Everything the machine page shows. */
export const machineDetail = (name: string) =>
  Effect.gen(function*() {
    const snap = yield* snapshot
    const m = yield* machineOf(snap, name)
    const states = yield* unitStates([unitName(name)])
    const prov = snap.host !== undefined && m.machine !== undefined ? Either.getOrUndefined(provenance(snap.host, m.machine)) : undefined
    const d = m.composed?.definition
    return {
      name,
      file: m.file,
      text: m.text,
      version: m.version,
      description: m.machine?.description ?? "",
      id: m.machine?.id ?? null,
      tags: m.machine?.tags ?? [],
      hostTags: snap.host === undefined ? [] : Object.keys(snap.host.config.tag),
      problems: [...snap.hostProblems, ...m.problems],
      provenance: prov?.entries ?? [],
      identifiers: d === undefined ? null : {
        group: d.privileges.filesystem.group,
        volumes: d.volumes.map((v) => ({ name: v.name, storage: v.storage, wwn: v.wwn, serial: v.serial })),
        connections: d.connections.map((c) => ({ name: c.name, network: c.network, mac: c.mac })),
        devices: d.devices.map((x) => ({ name: x.name, class: x.class, id: x.id }))
      },
      args: m.options === undefined ? null : renderArgs(m.options),
      unitName: unitName(name),
      unit: m.options === undefined ? null : renderMachineUnit({ name, options: m.options }),
      state: Either.isRight(states) && states.right[0] !== undefined
        ? { load: states.right[0].loadState, active: states.right[0].activeState, sub: states.right[0].subState }
        : null,
      systemd: Either.isLeft(states) ? states.left : null
    }
  })

export const hostDetail = Effect.gen(function*() {
  const snap = yield* snapshot
  return { file: snap.hostFile, text: snap.hostText, version: snap.hostVersion, problems: snap.hostProblems, machines: snap.machines.map((m) => m.name) }
})

/** A fresh machine: a random UUID and the host's tags to pick from. */
export const newMachine = Effect.gen(function*() {
  const snap = yield* snapshot
  return { id: formatUuid(randomUuidV4()), hostTags: snap.host === undefined ? [] : Object.keys(snap.host.config.tag) }
})

// ---------------------------------------------------------------------------------------------
// Editing

/** An edit as the browser sends it: the raw text, or a value to write in the file's own style. */
export interface Edit {
  readonly text?: string | undefined
  readonly value?: unknown
}

export const editText = (edit: Edit, original: string): Effect.Effect<string, UiBadRequestError> =>
  typeof edit.text === "string"
    ? Effect.succeed(edit.text)
    : edit.value !== undefined && typeof edit.value === "object" && edit.value !== null && !Array.isArray(edit.value)
    ? Effect.succeed(original.trim() === "" ? stringifyStyled(edit.value, defaultStyle) : formatLike(original, edit.value))
    : Effect.fail(new UiBadRequestError({ reason: "expected {\"text\": string} or {\"value\": object}" }))

/**
 * What an edit changes in what machina generates, machine by machine (Plan.ts): the unit diff
 * (unified, 3 lines of context) and, separately, what the guest would notice.
 */
export interface Change {
  readonly name: string
  readonly unitName: string
  readonly before: string | null
  readonly after: string | null
  readonly diff: string
  readonly hardware: ReadonlyArray<GuestChange>
}

const unitOf = (m: MachineSnapshot | undefined) =>
  m?.options === undefined ? null : renderMachineUnit({ name: m.name, options: m.options })

export interface Evaluation {
  readonly file: string
  readonly text: string
  readonly problems: ReadonlyArray<Problem>
  readonly changes: ReadonlyArray<Change>
}

const changesBetween = (old: ReadonlyArray<MachineSnapshot>, now: ReadonlyArray<MachineSnapshot>): ReadonlyArray<Change> =>
  now.flatMap((a) => {
    const b = old.find((x) => x.name === a.name)
    const before = unitOf(b)
    const after = unitOf(a)
    if (before === after) return []
    return [{
      name: a.name,
      unitName: unitName(a.name),
      before,
      after,
      diff: after === null ? "" : renderDiff(unitDiff(before ?? undefined, after)),
      hardware: a.options === undefined ? [] : guestVisibleChanges(b?.options ?? [], a.options)
    }]
  })

/** Validates a machine file's new text in the context of the host and the other machines. */
export const evaluateMachineEdit = (name: string, edit: Edit, creating: boolean) =>
  Effect.gen(function*() {
    const snap = yield* snapshot
    const nameProblem = checkName("machine", name)
    if (nameProblem !== undefined) return yield* new UiBadRequestError({ reason: nameProblem })
    const s = yield* store
    const existing = snap.machines.find((m) => m.name === name)
    if (creating && existing !== undefined) return yield* new UiBadRequestError({ reason: `machine ${name} already exists (${existing.file})` })
    if (!creating && existing === undefined) return yield* new UiNotFoundError({ what: `machine ${name}` })
    const file = existing?.file ?? s.machineFile(name)
    const text = yield* editText(edit, existing?.text ?? "")
    const edited = evaluateMachine(snap.host, name, file, text, existing?.version ?? null)
    // The edited machine comes last, so a collision it causes is reported on it.
    const others = snap.machines.filter((m) => m.name !== name)
    const after = withCollisions([...others.map((m) => ({ ...m, problems: [] })), edited])
    const mine = after[after.length - 1]!
    return {
      evaluation: { file, text, problems: [...snap.hostProblems, ...mine.problems], changes: changesBetween(snap.machines, [mine]) } satisfies Evaluation,
      version: existing?.version ?? null
    }
  })

/** Validates the host file's new text: the host itself, then every machine against it. */
export const evaluateHostEdit = (edit: Edit) =>
  Effect.gen(function*() {
    const snap = yield* snapshot
    const text = yield* editText(edit, snap.hostText)
    const decoded = decodeHost(text, snap.hostFile)
    if (Either.isLeft(decoded)) {
      return { evaluation: { file: snap.hostFile, text, problems: decoded.left.issues.map(problem), changes: [] } satisfies Evaluation, version: snap.hostVersion }
    }
    const after = withCollisions(snap.machines.map((m) => evaluateMachine(decoded.right, m.name, m.file, m.text, m.version)))
    return {
      evaluation: {
        file: snap.hostFile,
        text,
        problems: after.flatMap((m) => m.problems),
        changes: changesBetween(snap.machines, after)
      } satisfies Evaluation,
      version: snap.hostVersion
    }
  })

export interface SaveRequest extends Edit {
  /** The version the editor loaded (`null` when creating a file). */
  readonly version?: string | null | undefined
  /** Write the units of the machines affected and reload systemd after saving. */
  readonly generate?: boolean | undefined
}

const unitStoreModules = lazy(() => Promise.all([import("../../services/UnitStore.js"), import("../../layers/UnitStoreFs.js")]))

/** Writes the units of the changed machines and reloads systemd, as `machina generate` does. */
const generateUnits = (changes: ReadonlyArray<Change>) =>
  Effect.gen(function*() {
    const units = changes.flatMap((c) => (c.after === null ? [] : [{ name: c.unitName, content: c.after }]))
    if (units.length === 0) return { written: [] as ReadonlyArray<string>, reloaded: false }
    const [{ UnitStore }, UnitStoreFs] = yield* unitStoreModules
    const target = yield* serviceOr(UnitStore, UnitStoreFs.make({ directory: process.env["MACHINA_UNIT_DIR"] }))
    const results = yield* target.writeAll(units)
    const written = results.map((r) => `${r.path}: ${r.status}`)
    if (results.every((r) => r.status === "unchanged")) return { written, reloaded: false }
    const reloaded = yield* Effect.orElseSucceed(Effect.scoped(Effect.flatMap(systemd, (sd) => reloadUnits(sd, "units written"))), () => false)
    return { written, reloaded }
  })

const save = (
  evaluated: { evaluation: Evaluation; version: string | null },
  request: SaveRequest
) =>
  Effect.gen(function*() {
    const { evaluation } = evaluated
    if (evaluation.problems.length > 0) return yield* new UiInvalidEditError({ problems: evaluation.problems })
    const expected = request.version === undefined ? evaluated.version : request.version
    const f = yield* files
    const version = yield* f.write(evaluation.file, evaluation.text, expected)
    const generated = request.generate === true ? Option.some(yield* generateUnits(evaluation.changes)) : Option.none()
    return { file: evaluation.file, version, changes: evaluation.changes, generated: Option.getOrNull(generated) }
  })

export const saveMachine = (name: string, request: SaveRequest, creating: boolean) =>
  Effect.flatMap(evaluateMachineEdit(name, request, creating), (e) => save(e, creating ? { ...request, version: null } : request))

export const saveHost = (request: SaveRequest) => Effect.flatMap(evaluateHostEdit(request), (e) => save(e, request))

// ---------------------------------------------------------------------------------------------
// Actions

const qmpModules = lazy(() => Promise.all([import("../../services/Qmp.js"), import("../../layers/QmpUnixSocket.js"), import("../QmpOps.js"), import("../Shutdown.js")]))

/** start, stop (systemd jobs, bounded) or shutdown (ACPI power-off over QMP, not waited for). */
export const machineAction = (name: string, action: string) =>
  Effect.gen(function*() {
    const snap = yield* snapshot
    const m = yield* machineOf(snap, name)
    if (action === "start" || action === "stop") {
      const result = yield* Effect.scoped(Effect.flatMap(systemd, (sd) => sd[action](unitName(name), { timeout: "30 seconds" })))
      return { machine: name, action, result: String(result) }
    }
    if (action === "shutdown") {
      if (m.composed === undefined) return yield* new UiInvalidEditError({ problems: m.problems })
      const [{ Qmp }, QmpUnixSocket, ops, { targetsOf }] = yield* qmpModules
      const qmp = yield* serviceOr(Qmp, QmpUnixSocket.make)
      yield* Effect.provideService(ops.shutdown(targetsOf([m.composed], false), ops.defaultShutdownOptions), Qmp, qmp)
      return { machine: name, action, result: "ACPI power-off sent" }
    }
    return yield* new UiNotFoundError({ what: `action ${action}` })
  })

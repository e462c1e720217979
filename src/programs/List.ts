/**
 * `machina list`: every machine of the host with its unit's load state, active state and how long
 * it has been in that state (cli.md §3.4), and the machine's description or load error.
 */
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { formatGoDuration, roundDuration } from "../domain/Duration.js"
import type { UnitStatus } from "../services/Systemd.js"
import { unitName as unitNameOf } from "../domain/Unit.js"
import type { ListEntry } from "../domain/Output.js"
import { defined, isoFromMicros } from "../domain/OutputValues.js"
import { format } from "./Root.js"
import { noMachinesIn, store, swtpmUnitsOf, systemd } from "./Workspace.js"

/** How long ago the state in force began, chosen by the active state (µs timestamps, 0 = unset). */
export const sinceMicros = (u: UnitStatus): number => {
  switch (u.activeState) {
    case "active":
    case "reloading":
      return u.activeEnterTimestamp
    case "inactive":
    case "failed":
      return u.inactiveEnterTimestamp
    case "activating":
      return u.inactiveExitTimestamp
    default:
      return u.activeExitTimestamp
  }
}

export const stateText = (u: UnitStatus | undefined): string => {
  if (u === undefined) return ""
  const { activeState: a, subState: s } = u
  return a !== "" && s !== "" && a !== s ? `${a}/${s}` : a !== "" ? a : s
}

const colour = (enabled: boolean, code: number, text: string) => (enabled && text !== "" ? `\x1b[${code}m${text}\x1b[0m` : text)

export interface ListRow {
  readonly name: string
  readonly unit: string
  readonly status: UnitStatus | undefined
  readonly description: string
  readonly error: string | undefined
  /** The machine's swtpm unit and its state, for machines with a TPM. */
  readonly swtpm?: { readonly unit: string; readonly status: UnitStatus | undefined } | undefined
}

/** Renders the table exactly as cli.md §3.4 describes (columns sized on plain text). */
export const renderList = (rows: ReadonlyArray<ListRow>, nowMicros: number, colours: boolean): string => {
  const elapsed = (r: ListRow) => {
    const since = r.status === undefined ? 0 : sinceMicros(r.status)
    return since > 0 ? Duration.micros(BigInt(Math.max(0, Math.round(nowMicros - since)))) : Duration.zero
  }
  const width = (f: (r: ListRow) => string) => Math.max(0, ...rows.map((r) => f(r).length))
  const wName = width((r) => r.name)
  const wLoad = width((r) => r.status?.loadState ?? "")
  const wState = width((r) => stateText(r.status))
  const wDur = width((r) => {
    const d = roundDuration(elapsed(r), Duration.millis(100))
    return Duration.toMillis(d) > 0 ? formatGoDuration(d) : ""
  })
  return rows.map((r) => {
    let line = r.name.padEnd(wName)
    if (wLoad > 0) {
      const load = r.status?.loadState ?? ""
      const bad = ["error", "not-found", "bad-setting"].includes(load)
      line += "  " + colour(colours && bad, 31, load) + " ".repeat(wLoad - load.length)
    }
    if (wState > 0) {
      const state = stateText(r.status)
      const a = r.status?.activeState ?? ""
      const code = a === "active" || a === "reloading" ? 32 : a === "failed" ? 31 : 0
      line += "  " + colour(colours && code > 0, code, state) + " ".repeat(wState - state.length)
    }
    if (wDur > 0) {
      const d = roundDuration(elapsed(r), Duration.seconds(1))
      line += "  " + (Duration.toMillis(d) > 0 ? formatGoDuration(d) : "").padStart(wDur)
    }
    if (r.swtpm !== undefined) line += `  [swtpm ${stateText(r.swtpm.status) || "unknown"}]`
    if (r.error !== undefined) line += `: ${r.error}`
    else if (r.description !== "") line += `  (${r.description})`
    return line
  }).join("\n")
}

/** One row of `list --format json` (Output.ts `ListEntry`): unset fields omitted, `since` in ISO 8601. */
export const listEntry = (r: ListRow): ListEntry =>
  defined({
    name: r.name,
    unit: r.unit,
    description: r.description,
    "load-state": r.status?.loadState,
    "active-state": r.status?.activeState,
    "sub-state": r.status?.subState,
    "main-pid": r.status !== undefined && r.status.mainPid > 0 ? r.status.mainPid : undefined,
    since: r.status === undefined ? undefined : isoFromMicros(sinceMicros(r.status)),
    error: r.error,
    swtpm: r.swtpm === undefined
      ? undefined
      : defined({ unit: r.swtpm.unit, "active-state": r.swtpm.status?.activeState, "sub-state": r.swtpm.status?.subState })
  })

/** Where machine files go, said from the path of a placeholder machine's file. */
export const useColours = (): boolean =>
  process.stdout.isTTY === true && process.env["TERM"] !== "dumb" && process.env["NO_COLOR"] === undefined

export const handler = ({ format }: { format: "text" | "json" }) =>
  Effect.gen(function*() {
    const s = yield* store
    const files = yield* s.listMachines
    const loaded = yield* Effect.forEach(files, (n) => Effect.either(s.loadMachine(n)), { concurrency: "unbounded" })
    // A machine is listed, and its unit named, by its effective name (its JSON `name`, if any).
    const names = files.map((file, i) => {
      const m = loaded[i]!
      return Either.isRight(m) ? m.right.name : file
    })
    const units = names.map(unitNameOf)
    const swtpm = yield* swtpmUnitsOf(names)
    const swtpmUnits = swtpm.filter((u): u is string => u !== undefined)
    const sd = yield* systemd
    const statuses = yield* Effect.either(sd.units([...units, ...swtpmUnits]))
    if (Either.isLeft(statuses)) yield* Console.error(`machina: warning: unit states unknown: ${statuses.left.message}`)
    const rows: Array<ListRow> = names.map((name, i) => {
      const m = loaded[i]!
      return {
        name,
        unit: units[i]!,
        status: Either.isRight(statuses) ? statuses.right[i] : undefined,
        description: Either.isRight(m) ? m.right.description : "",
        error: Either.isLeft(m) ? m.left.message.split("\n")[0] : undefined,
        swtpm: swtpm[i] === undefined
          ? undefined
          : { unit: swtpm[i]!, status: Either.isRight(statuses) ? statuses.right[units.length + swtpmUnits.indexOf(swtpm[i]!)] : undefined }
      }
    })
    if (format === "json") return yield* Console.log(JSON.stringify(rows.map(listEntry), null, 2))
    if (rows.length > 0) yield* Console.log(renderList(rows, Date.now() * 1000, useColours()))
    else yield* Console.log(`No machines: ${noMachinesIn(s.machineFile("NAME"))}`)
  }).pipe(Effect.scoped)

export const command = Command.make("list", { format }, handler).pipe(
  Command.withDescription("Lists all of the virtual machines present.")
)

/**
 * `machina check [--strict] [machines...]`: loads and validates the host file and the named
 * machines (all machines when none are named), reports every problem at once, and reports
 * identifiers, ports and writable files that collide between machines of the host.
 *
 * Problems have a severity: errors (what QEMU or the host would refuse, collisions) make the
 * exit status 1; warnings (what the original ignored silently: unknown keys, trailing data, a
 * machine without id) are listed apart and leave it 0, unless `--strict`. Notes (a machine
 * named by its JSON `name` rather than its file) never fail.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { collisions } from "../domain/Collisions.js"
import { type Host, type HostSection, salvageHost } from "../domain/ConfigFiles.js"
import { type ConfigIssue, type ConfigWarning, issue, warning } from "../domain/ConfigIssue.js"
import { compose, type Composed } from "../domain/Merge.js"
import type { CheckDocument } from "../domain/Output.js"
import { defined } from "../domain/OutputValues.js"
import { storagePatternIssues } from "../domain/PatternUse.js"
import type { ConfigError } from "../services/ConfigStore.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { AlreadyReported } from "./Failures.js"
import { machineUser, unreachableFiles } from "./Privileges.js"
import { format } from "./Root.js"
import { quietStore } from "./Workspace.js"
import { machineWarnings } from "../domain/MachineWarnings.js"
import { validateGenerated } from "./Validate.js"
import { referencesOf, unusedTagWarnings } from "../domain/TagUse.js"

const machines = Args.text({ name: "machines" }).pipe(
  Args.withDescription("Machines to check, by file name or name (default: every machine of the host)."),
  Args.repeated
)

const strict = Options.boolean("strict").pipe(
  Options.withDescription("Count warnings as errors: exit status 1 when there is any.")
)

const issuesOf = (e: ConfigError): ReadonlyArray<ConfigIssue> =>
  e._tag === "ConfigInvalidError"
    ? e.issues
    : e._tag === "ConfigReadError"
    ? [issue(e.file, "$", e.reason)]
    : [issue("(command line)", "$", e.message)]

export type Severity = "error" | "warning" | "info"

/** What `check` found, before it is printed. */
export interface CheckReport {
  readonly names: ReadonlyArray<string>
  readonly errors: ReadonlyArray<ConfigIssue>
  readonly warnings: ReadonlyArray<ConfigWarning>
  readonly notes: ReadonlyArray<ConfigWarning>
  /** One line per unprivileged machine: who QEMU runs as, and whether its files are reachable. */
  readonly reports: ReadonlyArray<string>
  /** The same, as data: the machine, its user and group, the files it cannot reach. */
  readonly unprivileged: ReadonlyArray<{ readonly name: string; readonly user: string; readonly group: number; readonly unreachable: ReadonlyArray<string> }>
}

const dedupe = <A extends { toString(): string }>(items: ReadonlyArray<A>): ReadonlyArray<A> => {
  const seen = new Set<string>()
  return items.filter((i) => {
    const key = i.toString()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** Loads, merges, generates and cross-checks; every problem sorted by severity. */
export const checkHost = (machines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const s = yield* quietStore
    const errors: Array<ConfigIssue> = []
    const warnings: Array<ConfigWarning> = []
    const notes: Array<ConfigWarning> = []
    const hostResult = yield* Effect.either(s.loadHost)
    let host: Host | undefined = Either.getOrUndefined(hostResult)
    // Entries of an invalid host file left out so the machines can be checked against the rest.
    let dropped: ReadonlyArray<{ readonly section: HostSection; readonly name: string }> = []
    if (Either.isLeft(hostResult)) {
      errors.push(...issuesOf(hostResult.left))
      if (hostResult.left._tag === "ConfigInvalidError" && s.readHostText !== undefined) {
        const text = yield* Effect.either(s.readHostText)
        const salvaged = Either.isRight(text) ? salvageHost(text.right, s.hostFile, hostResult.left.issues) : undefined
        if (salvaged !== undefined) {
          host = salvaged.host
          dropped = salvaged.dropped
        }
      }
    }
    if (host !== undefined) {
      warnings.push(...host.warnings)
      // Malformed storage patterns, used or not (found again for each machine using them: deduplicated).
      errors.push(...storagePatternIssues(host))
    }
    const invalidEntry = (section: HostSection, name: string) => dropped.some((d) => d.section === section && d.name === name)
    const onItsOwn = (file: string, why: string) => notes.push(warning(file, "$", why))
    yield* Effect.forEach(machines, validateMachineName, { discard: true })
    const names = machines.length > 0 ? machines : yield* s.listMachines
    const composed: Array<Composed> = []
    // A machine named twice (by its file name and by its JSON name) is checked once.
    const seen = new Set<string>()
    for (const name of names) {
      const loaded = yield* Effect.either(s.loadMachine(name))
      if (Either.isLeft(loaded)) {
        errors.push(...issuesOf(loaded.left))
        continue
      }
      const machine = loaded.right
      if (seen.has(machine.file)) continue
      seen.add(machine.file)
      warnings.push(...machine.warnings)
      if (machine.name !== machine.fileName) {
        notes.push(warning(machine.file, "$.name", `machine ${machine.name} is named by its "name" key, not by its file name ${machine.fileName}; its unit is machina-${machine.name}.service and either name selects it`))
      }
      if (host === undefined) {
        onItsOwn(machine.file, `not merged with its tags or checked against the host: the host file ${s.hostFile} cannot be used (see its errors)`)
        continue
      }
      const badTag = machine.tags.find((t) => invalidEntry("tag", t))
      if (badTag !== undefined) {
        onItsOwn(machine.file, `not merged with its tags or checked against the host: it uses tag ${JSON.stringify(badTag)}, which is invalid in ${s.hostFile} (see its errors)`)
        continue
      }
      const merged = compose(host, machine)
      if (Either.isLeft(merged)) {
        errors.push(...merged.left.issues)
        continue
      }
      const uses = referencesOf(merged.right.definition)
      const badRef = uses.find((r) => invalidEntry(r.kind, r.name)) ??
        // Devices may use any mdev entry; a machine without a processor uses the host's default.
        (dropped.some((d) => d.section === "mdev") ? uses.find((r) => r.kind === "mdev") : undefined)
      const defaultCpu = merged.right.definition.attrs.cpu.processor === "" && dropped.some((d) => d.section === "processor")
      if (badRef !== undefined || defaultCpu) {
        const what = badRef === undefined ? "the host's default processor may be the invalid one" : `it uses ${badRef.kind === "mdev" ? "device class" : badRef.kind === "storage" ? "storage pool" : badRef.kind} ${JSON.stringify(badRef.name)}, which is invalid in ${s.hostFile}`
        onItsOwn(machine.file, `not checked against the host: ${what} (see its errors)`)
        continue
      }
      errors.push(...validateGenerated(host, merged.right))
      warnings.push(...machineWarnings(host, merged.right))
      composed.push(merged.right)
    }
    errors.push(...collisions(composed, host))
    // Tags no machine of the host uses: what they name must exist too (else only a warning).
    if (host !== undefined) {
      const used = new Set<string>()
      for (const name of yield* Effect.orElseSucceed(s.listMachines, () => [] as ReadonlyArray<string>)) {
        const m = yield* Effect.either(s.loadMachine(name))
        if (Either.isRight(m)) m.right.tags.forEach((t) => used.add(t))
      }
      warnings.push(...unusedTagWarnings(host, used))
    }
    // Unprivileged machines: the host must know the user, and the files must be reachable.
    const reports: Array<string> = []
    const unprivileged: Array<CheckReport["unprivileged"][number]> = []
    if (host !== undefined) {
      for (const c of composed) {
        const user = c.definition.privileges.user
        if (user === "") continue
        const found = yield* Effect.either(machineUser(c))
        if (Either.isLeft(found)) warnings.push(warning(c.machine.file, "$.privileges.user", found.left.message))
        const unreachable = yield* unreachableFiles(host, c, Either.getOrUndefined(found))
        for (const line of unreachable) warnings.push(warning(c.machine.file, "$.privileges", line))
        const gid = c.definition.privileges.filesystem.group.id
        unprivileged.push({ name: c.machine.name, user, group: gid, unreachable })
        reports.push(`${c.machine.name}: QEMU runs as user ${user} and group ${gid}: ${unreachable.length === 0 ? "every file is reachable" : `${unreachable.length} file(s) not reachable`}`)
      }
    }
    return { names, errors: dedupe(errors), warnings: dedupe(warnings), notes: dedupe(notes), reports, unprivileged } satisfies CheckReport
  })

/** A warning as `check` lists it: `<file>: <path>: warning: <message>`. */
const warningLine = (w: ConfigWarning): string => w.file === "" ? w.toString() : `${w.file}: ${w.path}: warning: ${w.message}`
const noteLine = (w: ConfigWarning): string => `${w.file}: ${w.path}: note: ${w.message}`

export const handler = ({ format, machines, strict }: { format: "text" | "json"; machines: ReadonlyArray<string>; strict: boolean }) =>
  Effect.gen(function*() {
    const s = yield* quietStore
    const report = yield* checkHost(machines)
    const { errors, names, notes, reports, unprivileged, warnings } = report
    const failed = errors.length > 0 || (strict && warnings.length > 0)
    const summary = `${errors.length} error(s), ${warnings.length} warning(s)${strict && warnings.length > 0 ? " (--strict: warnings fail)" : ""}`
    if (format === "json") {
      const entry = (severity: Severity) => (p: ConfigIssue | ConfigWarning) =>
        defined({ severity, file: p.file, path: p.path, message: p.message })
      const doc: CheckDocument = defined({
        ok: !failed,
        strict,
        "host-file": s.hostFile,
        machines: names,
        errors: errors.length,
        warnings: warnings.length,
        issues: [...errors.map(entry("error")), ...warnings.map(entry("warning")), ...notes.map(entry("info"))],
        unprivileged: unprivileged.length === 0
          ? undefined
          : unprivileged.map((u) => defined({ ...u, group: u.group > 0 ? u.group : undefined }))
      })
      yield* Console.log(JSON.stringify(doc, null, 2))
    } else {
      yield* Effect.forEach(notes, (n) => Console.log(noteLine(n)), { discard: true })
      yield* Effect.forEach(errors, (e) => Console.error(e.toString()), { discard: true })
      yield* Effect.forEach(warnings, (w) => Console.error(warningLine(w)), { discard: true })
      yield* Effect.forEach(reports, (r) => Console.log(r), { discard: true })
      if (!failed) {
        yield* Console.log(
          `ok: ${s.hostFile} and ${names.length} machine(s) checked, ` +
            (warnings.length === 0 ? "no problems found" : `no errors, ${warnings.length} warning(s)`)
        )
      } else if (errors.length === 0) {
        yield* Console.error(`machina: check: ${summary}`)
      }
    }
    if (failed) return yield* new AlreadyReported({ exitCode: 1, summary })
  })

export const command = Command.make("check", { format, strict, machines }, handler).pipe(
  Command.withDescription(
    "Validates the host configuration and machines, reporting every problem and collisions between machines; " +
      "exits 1 on errors (and on warnings with --strict)."
  )
)

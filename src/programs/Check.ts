/**
 * `machina check [machines...]`: loads and validates the host file and the named machines (all
 * machines when none are named), reports every problem at once, and reports identifiers and
 * ports that collide between machines of the host.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { collisions } from "../domain/Collisions.js"
import type { Host } from "../domain/ConfigFiles.js"
import { type ConfigIssue, invalid, issue } from "../domain/ConfigIssue.js"
import { compose, type Composed } from "../domain/Merge.js"
import type { ConfigError } from "../services/ConfigStore.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { AlreadyReported } from "./Failures.js"
import { machineUser, unreachableFiles } from "./Privileges.js"
import { format } from "./Root.js"
import { store } from "./Workspace.js"
import { validateGenerated } from "./Validate.js"

const machines = Args.text({ name: "machines" }).pipe(
  Args.withDescription("Machines to check (default: every machine of the host)."),
  Args.repeated
)

const issuesOf = (e: ConfigError): ReadonlyArray<ConfigIssue> =>
  e._tag === "ConfigInvalidError"
    ? e.issues
    : e._tag === "ConfigReadError"
    ? [issue(e.file, "$", e.reason)]
    : [issue("(command line)", "$", e.message)]

export const handler = ({ format, machines }: { format: "text" | "json"; machines: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const s = yield* store
    const problems: Array<ConfigIssue> = []
    const hostResult = yield* Effect.either(s.loadHost)
    const host: Host | undefined = Either.getOrUndefined(hostResult)
    if (Either.isLeft(hostResult)) problems.push(...issuesOf(hostResult.left))
    yield* Effect.forEach(machines, validateMachineName, { discard: true })
    const names = machines.length > 0 ? machines : yield* s.listMachines
    const composed: Array<Composed> = []
    for (const name of names) {
      const loaded = yield* Effect.either(s.loadMachine(name))
      if (Either.isLeft(loaded)) {
        problems.push(...issuesOf(loaded.left))
        continue
      }
      if (host === undefined) continue
      const merged = compose(host, loaded.right)
      if (Either.isLeft(merged)) {
        problems.push(...merged.left.issues)
        continue
      }
      problems.push(...validateGenerated(host, merged.right))
      composed.push(merged.right)
    }
    problems.push(...collisions(composed))
    // Unprivileged machines: the host must know the user, and the files must be reachable.
    const warnings: Array<string> = []
    const reports: Array<string> = []
    if (host !== undefined) {
      for (const c of composed) {
        const user = c.definition.privileges.user
        if (user === "") continue
        const found = yield* Effect.either(machineUser(c))
        if (Either.isLeft(found)) warnings.push(`${c.machine.name}: ${found.left.message}`)
        const unreachable = yield* unreachableFiles(host, c, Either.getOrUndefined(found))
        for (const line of unreachable) warnings.push(`${c.machine.name}: ${line}`)
        const gid = c.definition.privileges.filesystem.group.id
        reports.push(`${c.machine.name}: QEMU runs as user ${user} and group ${gid}: ${unreachable.length === 0 ? "every file is reachable" : `${unreachable.length} file(s) not reachable`}`)
      }
    }
    for (const w of warnings) yield* Console.error(`machina: warning: ${w}`)
    const ok = problems.length === 0
    if (format === "json") {
      yield* Console.log(JSON.stringify({
        ok,
        host: s.hostFile,
        machines: names,
        ...(warnings.length > 0 ? { warnings } : {}),
        issues: problems.map((p) => ({ file: p.file, path: p.path, message: p.message }))
      }, null, 2))
      if (!ok) return yield* new AlreadyReported({ exitCode: 1, summary: `${problems.length} problem(s) found` })
      return
    }
    if (!ok) return yield* invalid(problems)
    for (const r of reports) yield* Console.log(r)
    yield* Console.log(`ok: ${s.hostFile} and ${names.length} machine(s) checked, no problems found`)
  })

export const command = Command.make("check", { format, machines }, handler).pipe(
  Command.withDescription("Validates the host configuration and machines, reporting every problem and collisions between machines.")
)

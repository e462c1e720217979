/**
 * `remove <machines...>` (dissolution): the machine's systemd units go away, nothing else.
 *
 * For every machine, in order: refuse when it runs (unless `--stop`, which stops it first); disable
 * its units; delete `machina-<name>.service` and the companion `machina-swtpm-<name>.service` from
 * the unit directory; then reload systemd once; then remove its runtime directory
 * (`/run/machina/<name>`). The machine file is deleted only with `--purge-config`; volumes and disk
 * images are never touched. Running it again finds nothing to do and succeeds (idempotent). A
 * machine whose file is already gone can be removed too: its units are what is left of it.
 *
 * Every machine is checked before anything is changed: one running machine without `--stop`
 * refuses the whole command.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { lstat, rm } from "node:fs/promises"
import { posixJoin } from "../domain/GoText.js"
import { UNIT_PREFIX, UNIT_SUFFIX, unitName } from "../domain/Unit.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { AlreadyReported } from "./Failures.js"
import { runningUnits, unitDir, unitStore } from "./Generate.js"
import { durationValue } from "./Root.js"
import { during, reloadUnits, runDir, store, systemd } from "./Workspace.js"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

/** The unit files that belong to a machine: its QEMU unit and its companions. */
export const machineUnits = (name: string): ReadonlyArray<string> => [unitName(name), `${UNIT_PREFIX}swtpm-${name}${UNIT_SUFFIX}`]

/** Running machines named without `--stop`. */
export class MachineRunningError extends LazyTaggedError<MachineRunningError>()("MachineRunningError", {
  machines: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `not removing anything: machine(s) ${this.machines.join(", ")} are running; stop them first or pass --stop`
  }
}

const machines = Args.text({ name: "machines" }).pipe(Args.atLeast(1))
const stop = Options.boolean("stop").pipe(Options.withDescription("Stop running machines first (otherwise a running machine is refused)."))
const purgeConfig = Options.boolean("purge-config").pipe(
  Options.withDescription("Also delete the machine file from machine.conf.d (volumes and disk images are never touched).")
)
const timeout = Options.text("timeout").pipe(
  Options.withDescription("How long to wait for each stop job, e.g. 2m or 90s."),
  Options.withDefault("2m"),
  Options.mapEffect(durationValue)
)

/** Removes a machine's runtime directory; true when there was one. */
const removeRuntimeDirectory = (dir: string) =>
  Effect.tryPromise({
    try: async () => {
      const existed = await lstat(dir).then(() => true, () => false)
      if (existed) await rm(dir, { recursive: true, force: true })
      return existed
    },
    catch: (e) => new Error(`cannot remove ${dir}: ${e instanceof Error ? e.message : String(e)}`)
  })

export const command = Command.make("remove", { stop, purgeConfig, timeout, unitDir, machines }, ({ machines, purgeConfig, stop, timeout, unitDir }) =>
  Effect.gen(function*() {
    yield* Effect.forEach(machines, validateMachineName, { discard: true })
    const names = [...new Set(machines)]
    const target = yield* unitStore(unitDir)
    const s = yield* store
    const sd = yield* systemd
    const running = yield* runningUnits(Effect.succeed(sd), names.flatMap(machineUnits))
    // When systemd cannot be asked (warned above), units are only deleted: nothing runs without it.
    if (running !== undefined) {
      const busy = names.filter((n) => machineUnits(n).some((u) => running.has(u)))
      if (busy.length > 0 && !stop) return yield* new MachineRunningError({ machines: busy })
    }
    let failures = 0
    let unitsRemoved = false
    let anything = false
    for (const name of names) {
      const own = machineUnits(name)
      if (running !== undefined) {
        if (stop) {
          for (const u of own.filter((u) => running.has(u))) {
            // On a terminal: what is waited for and how long is left (see services/Progress.ts).
            const r = yield* during({ what: `removing ${name}: waiting for ${u} to stop`, timeout }, Effect.either(sd.stop(u, { timeout })))
            if (Either.isRight(r) && r.right === "done") yield* Console.log(`${name}: stopped ${u}`)
            else {
              failures++
              yield* Console.error(`${name}: failed to stop ${u}: ${Either.isLeft(r) ? r.left.message : `job ${r.right}`}`)
            }
          }
        }
        // Units whose files exist; disabling one that is not there is not an error (idempotence).
        const present: Array<string> = []
        for (const u of own) if ((yield* target.read(u))._tag === "Some") present.push(u)
        if (present.length > 0) {
          const disabled = yield* Effect.either(sd.disable(present))
          if (Either.isRight(disabled)) {
            for (const c of disabled.right) yield* Console.log(`${name}: ${c.type === "unlink" ? "removed" : c.type} ${c.file}`)
          } else if (disabled.left._tag !== "SystemdUnitNotFoundError") {
            yield* Console.error(`${name}: warning: could not disable ${present.join(", ")}: ${disabled.left.message}`)
          }
        }
      }
      for (const u of own) {
        if (yield* target.remove(u)) {
          unitsRemoved = true
          yield* Console.log(`${name}: deleted ${posixJoin(target.directory, u)}`)
        }
      }
      const runtime = posixJoin(runDir(), name)
      const cleaned = yield* Effect.either(removeRuntimeDirectory(runtime))
      if (Either.isLeft(cleaned)) {
        failures++
        yield* Console.error(`${name}: ${cleaned.left.message}`)
      } else if (cleaned.right) {
        anything = true
        yield* Console.log(`${name}: removed runtime directory ${runtime}`)
      }
      if (purgeConfig && (yield* s.removeMachine(name))) {
        anything = true
        yield* Console.log(`${name}: deleted ${s.machineFile(name)}`)
      }
    }
    if (unitsRemoved && (yield* reloadUnits(sd, "units deleted"))) yield* Console.log("systemd: units reloaded")
    if (!unitsRemoved && !anything) yield* Console.log("nothing left to remove")
    if (failures > 0) return yield* new AlreadyReported({ exitCode: 1, summary: `${failures} step(s) failed` })
  }).pipe(Effect.scoped)).pipe(
  Command.withDescription("Removes the systemd units of virtual machines (stops them with --stop); keeps machine files (unless --purge-config) and never touches volumes.")
)

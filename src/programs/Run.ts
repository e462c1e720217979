/**
 * `machina run <machine>`: what the unit does, in the foreground — prepare (runtime directory,
 * mediated devices), QEMU with the generated arguments (an argument array, never a shell), then
 * teardown, which runs whatever happened to QEMU. Ctrl-C stops QEMU (SIGTERM, SIGKILL after 10 s).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { QEMU_EXECUTABLE, toArgv } from "../domain/qemu/Options.js"
import { AlreadyReported } from "./Failures.js"
import { buildAll } from "./QemuArgs.js"
import { prepareMachine, teardownMachine } from "./Prepare.js"
import { ensureFree } from "./Occupancy.js"
import { processes, runDir, withHostLock } from "./Workspace.js"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

export class QemuExitError extends LazyTaggedError<QemuExitError>()("QemuExitError", {
  code: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String)
}) {
  override get message(): string {
    return this.code !== null ? `${QEMU_EXECUTABLE} exited with status ${this.code}` : `${QEMU_EXECUTABLE} was killed by ${this.signal}`
  }
}

const machine = Args.text({ name: "machine" })

export const run = Command.make("run", { machine }, ({ machine }) =>
  Effect.gen(function*() {
    const { built: [b], host } = yield* buildAll([machine], { runDir: runDir() })
    const composed = b!.composed
    const name = composed.machine.name
    // Refuses (changing nothing) while the unit, another machina or a QEMU has the machine; then
    // holds the machine's lock from prepare to teardown, so nothing else prepares, tears down
    // or runs it meanwhile.
    yield* ensureFree("run", name, { qmp: composed.definition.attrs.qmp.enabled })
    const p = yield* processes
    yield* withHostLock(name, Effect.gen(function*() {
      yield* prepareMachine(host, composed, { runtimeDir: true })
      const teardown = teardownMachine(composed)
      const outcome = yield* Effect.either(p.runForeground(QEMU_EXECUTABLE, toArgv(b!.options))).pipe(
        Effect.onInterrupt(() => Effect.ignore(teardown))
      )
      const failures = yield* teardown
      if (Either.isLeft(outcome)) return yield* outcome.left
      if (outcome.right.code !== 0) return yield* new QemuExitError(outcome.right)
      if (failures.length > 0) return yield* new AlreadyReported({ exitCode: 1, summary: `${failures.length} device(s) could not be removed` })
    }))
  })).pipe(Command.withDescription("Run a virtual machine directly via QEMU."))

/**
 * `machina edit MACHINE`: opens `$VISUAL`/`$EDITOR` on a copy of the machine file and saves it
 * only when it validates (the checks of `machina check`); on a terminal an invalid copy re-opens
 * with the problems shown, elsewhere it is refused and the file is left as it was.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { decodeMachine } from "../domain/ConfigFiles.js"
import { type ConfigIssue, invalid, issue } from "../domain/ConfigIssue.js"
import { compose } from "../domain/Merge.js"
import { AlreadyReported } from "./Failures.js"
import { confirm } from "./Targets.js"
import { validateGenerated } from "./Validate.js"
import { lazy, store } from "./Workspace.js"

const session = lazy(() => import("./EditSession.js"))

const machine = Args.text({ name: "machine" }).pipe(Args.withDescription("The machine to edit."))

export const command = Command.make("edit", { machine }, (o) =>
  Effect.gen(function*() {
    const s = yield* store
    const original = yield* s.loadMachine(o.machine)
    const host = yield* s.loadHost
    const file = original.file
    const edit = yield* session
    const argv = edit.editorArgv(process.env)
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true
    yield* Effect.acquireUseRelease(
      Effect.promise(() => edit.open(file)),
      (copy) =>
        Effect.gen(function*() {
          const before = yield* Effect.promise(() => copy.read())
          for (let round = 1; round <= edit.MAX_ROUNDS; round++) {
            const status = yield* Effect.tryPromise({
              try: () => edit.runEditor(argv, copy.copy),
              catch: (e) => invalid([issue(file, "$", `cannot run the editor ${argv[0]} (set VISUAL or EDITOR): ${(e as Error).message}`)])
            })
            if (status !== 0) {
              yield* Console.error(`machina: the editor exited with status ${status}; ${file} left unchanged`)
              return yield* new AlreadyReported({ exitCode: 1, summary: "editor failed" })
            }
            const text = yield* Effect.promise(() => copy.read())
            if (text === before) return yield* Console.log(`${file}: unchanged`)
            const problems: Array<ConfigIssue> = []
            const decoded = decodeMachine(text, file, o.machine)
            if (Either.isLeft(decoded)) problems.push(...decoded.left.issues)
            else {
              const composed = compose(host, decoded.right)
              if (Either.isLeft(composed)) problems.push(...composed.left.issues)
              else problems.push(...validateGenerated(host, composed.right))
            }
            if (problems.length === 0) {
              yield* Effect.promise(() => copy.save(text))
              return yield* Console.log(`${file}: saved`)
            }
            for (const p of problems) yield* Console.error(p.toString())
            if (!interactive || !(yield* confirm("The machine does not validate. Edit again?"))) {
              yield* Console.error(`machina: ${file} left unchanged`)
              return yield* new AlreadyReported({ exitCode: 1, summary: "invalid" })
            }
          }
          yield* Console.error(`machina: ${file} left unchanged after ${edit.MAX_ROUNDS} attempts`)
          return yield* new AlreadyReported({ exitCode: 1, summary: "invalid" })
        }),
      (copy) => Effect.promise(() => copy.close())
    )
  })).pipe(Command.withDescription("Edits a machine file with $EDITOR, saving it only when it validates."))

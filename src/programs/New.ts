/**
 * `machina new NAME [--tag T]... [--var K=V]... [--description TEXT]`: writes
 * machine.conf.d/NAME.conf.json with a fresh UUID, after checking that the machine builds with the
 * host's tags (the same checks as `check`); never overwrites an existing file.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { access, mkdir, writeFile } from "node:fs/promises"
import { decodeMachine } from "../domain/ConfigFiles.js"
import { type ConfigIssue, invalid, issue } from "../domain/ConfigIssue.js"
import { compose } from "../domain/Merge.js"
import { formatUuid, randomUuidV4 } from "../domain/Uuid.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { UsageError } from "./Failures.js"
import { store } from "./Workspace.js"
import { validateGenerated } from "./Validate.js"

/** The JSON text of a new machine file (tabs, like the seed's files). */
export const machineText = (o: {
  readonly id: string
  readonly description: string
  readonly tags: ReadonlyArray<string>
  readonly vars: Readonly<Record<string, string>>
}): string =>
  JSON.stringify(
    {
      id: o.id,
      ...(o.description === "" ? {} : { description: o.description }),
      ...(o.tags.length === 0 ? {} : { tags: o.tags }),
      ...(Object.keys(o.vars).length === 0 ? {} : { vars: o.vars })
    },
    null,
    "\t"
  ) + "\n"

/** Parses `K=V` pairs; a pair without `=` or with an empty key is a usage error. */
export const parseVars = (pairs: ReadonlyArray<string>): Either.Either<Record<string, string>, string> => {
  const vars: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf("=")
    if (eq <= 0) return Either.left(`--var ${JSON.stringify(pair)}: expected KEY=VALUE`)
    vars[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return Either.right(vars)
}

const name = Args.text({ name: "name" }).pipe(Args.withDescription("The new machine's name."))
const tag = Options.text("tag").pipe(Options.withDescription("A tag of the host file to apply (repeatable)."), Options.repeated)
const variable = Options.text("var").pipe(Options.withDescription("A variable KEY=VALUE (repeatable)."), Options.repeated)
const description = Options.text("description").pipe(Options.withDescription("A description of the machine."), Options.optional)

export const command = Command.make("new", { tag, variable, description, name }, (o) =>
  Effect.gen(function*() {
    yield* validateMachineName(o.name)
    const vars = parseVars(o.variable)
    if (Either.isLeft(vars)) return yield* new UsageError({ message: vars.left })
    const s = yield* store
    const file = s.machineFile(o.name)
    const text = machineText({
      id: formatUuid(randomUuidV4()),
      description: Option.getOrElse(o.description, () => ""),
      tags: o.tag,
      vars: vars.right
    })
    const exists = (e: unknown) =>
      invalid([issue(file, "$", (e as NodeJS.ErrnoException).code === "EEXIST"
        ? `machine ${o.name} already exists (edit it with: machina edit ${o.name})`
        : `cannot write: ${(e as Error).message}`)])
    if (yield* Effect.promise(() => access(file).then(() => true, () => false))) {
      return yield* exists(Object.assign(new Error("exists"), { code: "EEXIST" }))
    }
    const host = yield* s.loadHost
    const problems: Array<ConfigIssue> = []
    const machine = decodeMachine(text, file, o.name)
    if (Either.isLeft(machine)) problems.push(...machine.left.issues)
    else {
      const composed = compose(host, machine.right)
      if (Either.isLeft(composed)) problems.push(...composed.left.issues)
      else problems.push(...validateGenerated(host, composed.right))
    }
    if (problems.length > 0) return yield* invalid(problems)
    const dir = file.replace(/\/[^/]*$/, "")
    yield* Effect.tryPromise({
      try: async () => {
        await mkdir(dir, { recursive: true })
        // "wx": never replace a machine that exists, even one created since we looked.
        await writeFile(file, text, { flag: "wx", mode: 0o644 })
      },
      catch: exists
    })
    yield* Console.log(`${file}: created`)
  })).pipe(Command.withDescription("Creates a machine file with a fresh UUID, checked against the host's tags."))

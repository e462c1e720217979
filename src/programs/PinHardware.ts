/**
 * `pin-hardware [--revision R] [--machine-type T] <machines...>`: records a hardware revision (default
 * the newest, 2026.12) and, for revisions that pin it, the QEMU machine type in each machine file
 * (`attrs.hardware.revision`, `attrs.hardware.machine-type`).
 *
 * The machine type comes from `--machine-type`, else the one the machine already has (from its file
 * or a tag: a pinned type never moves by itself), else the newest `pc-q35-X.Y` of the installed QEMU.
 * Every machine is edited in memory and generated first; a file is only written when the result is
 * valid, atomically, keeping the file's indentation and key order. Nothing reaches the units until
 * `generate` (review with `plan` first).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { decodeMachine } from "../domain/ConfigFiles.js"
import { type ConfigIssue, invalid, issue } from "../domain/ConfigIssue.js"
import { compose } from "../domain/Merge.js"
import { LATEST_REVISION, resolveRevision } from "../domain/qemu/HardwareRevision.js"
import { generate as generateQemu } from "../domain/qemu/Pipeline.js"
import { validateMachineName } from "../layers/ConfigStoreFs.js"
import { qemuInfo, store } from "./Workspace.js"

const machines = Args.text({ name: "machines" }).pipe(Args.atLeast(1))
const revision = Options.text("revision").pipe(
  Options.withDescription(`The hardware revision to pin (default ${LATEST_REVISION}).`),
  Options.withDefault(LATEST_REVISION)
)
const machineType = Options.text("machine-type").pipe(
  Options.withDescription("The QEMU machine type to pin, e.g. pc-q35-7.2 (default: the machine's, else the installed QEMU's newest)."),
  Options.optional
)

/** The indentation a JSON text uses (tab, or the first indented line's spaces); two spaces if none. */
export const indentationOf = (text: string): string => {
  const m = /\n([ \t]+)\S/.exec(text)
  return m === null ? "  " : m[1]!.startsWith("\t") ? "\t" : m[1]!
}

type Json = { [key: string]: unknown }

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)

/** The machine file text with `attrs.hardware` entries set (other keys and their order kept). */
export const pinnedText = (text: string, settings: { readonly revision: string; readonly machineType?: string | undefined }): string => {
  const doc = JSON.parse(text) as unknown
  if (!isObject(doc)) return text
  const attrs = isObject(doc["attrs"]) ? doc["attrs"] : (doc["attrs"] = {} as Json)
  const hardware = isObject(attrs["hardware"]) ? attrs["hardware"] : (attrs["hardware"] = {} as Json)
  hardware["revision"] = settings.revision
  if (settings.machineType !== undefined) hardware["machine-type"] = settings.machineType
  return JSON.stringify(doc, null, indentationOf(text)) + "\n"
}

export const command = Command.make("pin-hardware", { revision, machineType, machines }, ({ machineType, machines, revision }) =>
  Effect.gen(function*() {
    yield* Effect.forEach(machines, validateMachineName, { discard: true })
    const target = resolveRevision(revision)
    if (Either.isLeft(target)) return yield* Effect.fail(target.left)
    const s = yield* store
    const host = yield* s.loadHost
    const problems: Array<ConfigIssue> = []
    const edits: Array<{ name: string; text: string; changed: boolean; type: string }> = []
    let newest: string | undefined
    for (const name of machines) {
      const file = s.machineFile(name)
      const machine = yield* s.loadMachine(name)
      const composed = compose(host, machine)
      if (Either.isLeft(composed)) {
        problems.push(...composed.left.issues)
        continue
      }
      const current = composed.right.definition.attrs.hardware.machineType
      let type: string | undefined = Option.getOrUndefined(machineType)
      if (type === undefined && target.right.pinsMachineType && current === "") {
        newest ??= yield* Effect.flatMap(qemuInfo, (q) => q.newestQ35MachineType)
        type = newest
      }
      const original = yield* s.readMachineText(name)
      const text = pinnedText(original, { revision: target.right.name, machineType: type })
      const decoded = decodeMachine(text, file, name)
      if (Either.isLeft(decoded)) {
        problems.push(...decoded.left.issues)
        continue
      }
      const recomposed = compose(host, decoded.right)
      if (Either.isLeft(recomposed)) {
        problems.push(...recomposed.left.issues)
        continue
      }
      const generated = generateQemu(host, recomposed.right)
      if (Either.isLeft(generated)) {
        problems.push(...generated.left.issues)
        continue
      }
      edits.push({ name, text, changed: text !== original, type: type ?? current })
    }
    if (problems.length > 0) return yield* invalid(problems)
    if (edits.length === 0) return yield* invalid([issue(s.location, "$", "no machine to pin")])
    for (const e of edits) {
      const what = `hardware revision ${target.right.name}` + (e.type !== "" ? `, machine type ${e.type}` : "")
      if (!e.changed) {
        yield* Console.log(`${e.name}: already pinned to ${what}`)
        continue
      }
      yield* s.writeMachineText(e.name, e.text)
      yield* Console.log(`${e.name}: pinned ${what} in ${s.machineFile(e.name)}`)
    }
    if (edits.some((e) => e.changed)) yield* Console.log("review with `machina plan`, then apply with `machina generate --yes` while stopped or before a restart")
  })).pipe(
  Command.withDescription(`Pins a hardware revision (default ${LATEST_REVISION}) and the QEMU machine type in machine files; units change only at the next generate.`)
)

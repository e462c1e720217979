/**
 * In-process generation of many machines with the pure domain functions, the way `generate`
 * runs them: decode the host file once, then for each machine decode its file, merge it with
 * its tags (`compose`), generate the QEMU options and render the systemd unit.
 *
 * Machines are variations of the seed example (examples/seed): each has its own name, id,
 * employee id (so its SPICE and agent ports differ) and one to three extra data volumes. The file
 * texts are made before the clock starts; everything from decoding to the rendered unit is timed.
 *
 * Figures: `generate_machines`, `generate_first_pass_ms` (the first pass over all machines, code
 * not yet optimised: what one `machina generate` run of that size pays), `generate_best_pass_ms`
 * (best of the following passes) and `generate_per_machine_us` (first pass / machines).
 *
 * Standalone: `node --import tsx bench/generate.ts` (env `BENCH_GENERATE_MACHINES`, default 1000;
 * `BENCH_GENERATE_PASSES`, default 3).
 */
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { decodeHost, decodeMachine, HOST_FILE, MACHINE_DIR, MACHINE_SUFFIX } from "../src/domain/ConfigFiles.js"
import { compose } from "../src/domain/Merge.js"
import { generate } from "../src/domain/qemu/Pipeline.js"
import { renderMachineUnit } from "../src/domain/Unit.js"

export interface GenerateFigures {
  readonly generate_machines: number
  readonly generate_first_pass_ms: number
  readonly generate_best_pass_ms: number
  readonly generate_per_machine_us: number
  readonly generate_unit_bytes: number
}

const SEED = join(fileURLToPath(new URL(".", import.meta.url)), "../examples/seed")

interface MachineText {
  readonly name: string
  readonly file: string
  readonly text: string
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")

/** A deterministic, valid, distinct version-4 UUID for machine `i`. */
const uuidOf = (i: number) => `${hex(i, 8)}-${hex((i * 7919) & 0xffff, 4)}-4${hex(i & 0xfff, 3)}-8${hex((i * 31) & 0xfff, 3)}-${hex(i * 104729, 12)}`

/** Machine `i`: the seed machine's tags with its own name, id, employee id and extra volumes. */
export const machineText = (i: number): MachineText => {
  const name = `vm-${String(i).padStart(4, "0")}`
  const volumes = Array.from({ length: 1 + (i % 3) }, (_, v) => ({ name: `data-${v}`, storage: "guest-data" }))
  const doc = {
    id: uuidOf(i),
    description: `Benchmark machine ${i}`,
    tags: ["vdi-employee", "vdi-cad", "windows", "windows-10-media", "firmware-202302"],
    vars: { "employee-id": String(i % 10_000).padStart(4, "0") },
    volumes
  }
  return { name, file: join("/etc/machina", MACHINE_DIR, name + MACHINE_SUFFIX), text: JSON.stringify(doc, null, "\t") }
}

const orThrow = <A, E extends { readonly message: string }>(e: Either.Either<A, E>, what: string): A => {
  if (Either.isLeft(e)) throw new Error(`${what}: ${e.left.message}`)
  return e.right
}

/** One pass: host file decoded once, then every machine to its rendered unit. Returns the bytes rendered. */
const pass = (hostText: string, machines: ReadonlyArray<MachineText>): number => {
  const host = orThrow(decodeHost(hostText, join("/etc/machina", HOST_FILE)), "host")
  let bytes = 0
  for (const m of machines) {
    const machine = orThrow(decodeMachine(m.text, m.file, m.name), m.name)
    const composed = orThrow(compose(host, machine), m.name)
    const options = orThrow(generate(host, composed), m.name)
    bytes += renderMachineUnit({ name: machine.name, options }).length
  }
  return bytes
}

export const benchGenerate = (options: { readonly machines?: number; readonly passes?: number } = {}): GenerateFigures => {
  const count = options.machines ?? 1000
  const passes = Math.max(1, options.passes ?? 3)
  const hostText = readFileSync(join(SEED, HOST_FILE), "utf8")
  const machines = Array.from({ length: count }, (_, i) => machineText(i))
  const times: Array<number> = []
  let bytes = 0
  for (let p = 0; p < passes; p++) {
    const t0 = performance.now()
    bytes = pass(hostText, machines)
    times.push(performance.now() - t0)
  }
  const first = times[0]!
  const round = (x: number) => Math.round(x * 10) / 10
  return {
    generate_machines: count,
    generate_first_pass_ms: round(first),
    generate_best_pass_ms: round(Math.min(...times.slice(1), first)),
    generate_per_machine_us: Math.round((first / count) * 1000),
    generate_unit_bytes: bytes
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const envInt = (name: string, fallback: number) => {
    const n = Number(process.env[name])
    return Number.isInteger(n) && n > 0 ? n : fallback
  }
  const figures = benchGenerate({ machines: envInt("BENCH_GENERATE_MACHINES", 1000), passes: envInt("BENCH_GENERATE_PASSES", 3) })
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(36)} ${v}`)
}

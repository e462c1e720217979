/**
 * `generate --preview` of many seed-like machines (bench/generate.ts `machineText`, default
 * 1,000) by machina as `machina install` puts it on a host (installed from the built bundle into
 * the temp directory), as an admin runs it: one process, every machine named on the command line,
 * all units printed. Wall time, CPU time and peak RSS come from GNU time
 * (`/usr/bin/time`; without it only the wall time is given).
 *
 * With `MACHINA_ORIGINAL=/path/to/machina` (the original Go program) the same command runs the
 * original in the same configuration, interleaved with ours, and the figure is the ratio of the
 * medians; otherwise the comparison is skipped and says so. The original reads its configuration
 * from the current directory when /etc/machina is not a directory (config.md §1), so it runs
 * with the temp configuration directory as its working directory (and refuses to compare when
 * /etc/machina exists, as the original would read that instead).
 *
 * Standalone: `node --import tsx bench/scale.ts` (env `BENCH_SCALE_MACHINES`, default 1000;
 * `BENCH_SCALE_RUNS`, default 3).
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, copyFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { machineText } from "./generate.js"
import { median } from "./startup.js"

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..")
const TIME = "/usr/bin/time"

interface Sample {
  readonly wall: number
  readonly cpu?: number
  readonly rssKb?: number
  readonly bytes: number
  readonly output: Buffer
}

const runOnce = (argv: ReadonlyArray<string>, cwd: string): Sample => {
  const withTime = existsSync(TIME)
  const command = withTime ? TIME : argv[0]!
  const args = withTime ? ["-f", "\n%e %U %S %M", ...argv] : argv.slice(1)
  const t0 = performance.now()
  const r = spawnSync(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30 })
  const wall = performance.now() - t0
  if (r.error !== undefined) throw r.error
  const stderr = r.stderr.toString("utf8")
  if (r.status !== 0) throw new Error(`${argv.join(" ").slice(0, 200)} exited with ${r.status ?? r.signal}:\n${stderr.slice(0, 2000)}`)
  if (!withTime) return { wall, bytes: r.stdout.length, output: r.stdout }
  const [, user, system, rss] = stderr.trim().split("\n").pop()!.split(" ").map(Number)
  return { wall, cpu: (user! + system!) * 1000, rssKb: rss!, bytes: r.stdout.length, output: r.stdout }
}

export interface ScaleFigures {
  readonly machines: number
  readonly runs: number
  readonly wall_ms: number
  readonly cpu_ms?: number
  readonly peak_rss_mb?: number
  readonly output_bytes: number
  readonly original_wall_ms?: number
  readonly original_peak_rss_mb?: number
  /** median(ours) / median(original), when MACHINA_ORIGINAL is set. */
  readonly ratio?: number
  /** Whether the original printed the same bytes (a drop-in's units for the same configuration). */
  readonly same_output?: boolean
  readonly skipped?: string
}

export const benchScale = (options: { readonly machines?: number; readonly runs?: number; readonly bundle?: string; readonly original?: string } = {}): ScaleFigures => {
  const count = options.machines ?? 1000
  const runs = Math.max(1, options.runs ?? 3)
  const bundle = resolve(ROOT, options.bundle ?? "dist/machina.cjs")
  const original = options.original
  const dir = mkdtempSync(join(tmpdir(), "machina-bench-scale-"))
  try {
    mkdirSync(join(dir, "machine.conf.d"))
    copyFileSync(join(ROOT, "examples/seed/machina.conf.json"), join(dir, "machina.conf.json"))
    const names: Array<string> = []
    for (let i = 0; i < count; i++) {
      const m = machineText(i)
      writeFileSync(join(dir, "machine.conf.d", `${m.name}.conf.json`), m.text)
      names.push(m.name)
    }
    const root = join(dir, "root")
    const { NODE_OPTIONS: _, ...env } = process.env
    const installed = spawnSync(process.execPath, [bundle, "install", "--root", root], { env, encoding: "utf8" })
    if (installed.status !== 0) throw new Error(`machina install --root failed:\n${installed.stderr}`)
    const ours = [join(root, "usr/bin/machina"), "--config-dir", dir, "generate", "--preview", ...names]
    let skipped: string | undefined
    if (original === undefined || original === "") skipped = "MACHINA_ORIGINAL not set"
    else if (existsSync("/etc/machina") && statSync("/etc/machina").isDirectory()) skipped = "/etc/machina exists (the original would read it)"
    const theirs = skipped === undefined ? [resolve(original!), "generate", "--preview", ...names] : undefined
    // Warm-up runs (page cache). The outputs compared are the built file's: the installed form
    // names its own path in the units (`<root>/usr/bin/machina prepare ...`), as it is not in /usr/bin.
    runOnce(ours, dir)
    const ourOutput = runOnce([process.execPath, bundle, "--config-dir", dir, "generate", "--preview", ...names], dir).output
    const theirOutput = theirs === undefined ? undefined : runOnce(theirs, dir).output
    const our: Array<Sample> = []
    const their: Array<Sample> = []
    for (let i = 0; i < runs; i++) {
      our.push(runOnce(ours, dir))
      if (theirs !== undefined) their.push(runOnce(theirs, dir))
    }
    const mb = (kb: number) => Math.round(kb / 102.4) / 10
    const rss = our[0]!.rssKb === undefined ? undefined : Math.max(...our.map((s) => s.rssKb!))
    const ourWall = median(our.map((s) => s.wall))
    return {
      machines: count,
      runs,
      wall_ms: Math.round(ourWall),
      ...(our[0]!.cpu === undefined ? {} : { cpu_ms: Math.round(median(our.map((s) => s.cpu!))) }),
      ...(rss === undefined ? {} : { peak_rss_mb: mb(rss) }),
      output_bytes: our[0]!.bytes,
      ...(theirs === undefined ? { skipped: skipped! } : {
        original_wall_ms: Math.round(median(their.map((s) => s.wall))),
        ...(their[0]!.rssKb === undefined ? {} : { original_peak_rss_mb: mb(Math.max(...their.map((s) => s.rssKb!))) }),
        ratio: Math.round((ourWall / median(their.map((s) => s.wall))) * 100) / 100,
        same_output: theirOutput !== undefined && ourOutput.equals(theirOutput)
      })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const envInt = (name: string, fallback: number) => {
    const n = Number(process.env[name])
    return Number.isInteger(n) && n > 0 ? n : fallback
  }
  console.log(benchScale({ machines: envInt("BENCH_SCALE_MACHINES", 1000), runs: envInt("BENCH_SCALE_RUNS", 3), ...(process.env["MACHINA_ORIGINAL"] === undefined ? {} : { original: process.env["MACHINA_ORIGINAL"] }) }))
}

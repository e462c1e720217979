/**
 * Cold start of the bundle against bare Node, in the same run:
 * `node -e 0` and `node dist/machina.cjs --config-dir examples/seed args test-vm`
 * are spawned alternately (bare, ours, bare, ours, ...), the first pair is a warm-up
 * (page cache, CPU frequency) and is discarded. Each sample is the wall time of one
 * `spawnSync`, so the fork/exec overhead is in both figures alike.
 *
 * The machine may be busy with other work: medians are the figures that count, minimums
 * show what an idle machine gives.
 *
 * When dist/bench-floor.cjs exists (`npm run bench` builds it from bench/floor.ts), it joins the
 * rotation: the smallest @effect/cli program on the same loader, i.e. what Node, Effect,
 * @effect/cli and the loader cost before any machina code runs.
 *
 * Standalone: `node --import tsx bench/startup.ts` (env `BENCH_STARTUP_RUNS`, default 15;
 * `BENCH_STARTUP_BUNDLE` picks another bundle than dist/machina.cjs).
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"

export interface StartupFigures {
  readonly startup_bare_median_ms: number
  readonly startup_bare_min_ms: number
  readonly startup_machina_median_ms: number
  readonly startup_machina_min_ms: number
  /** median(ours) / median(bare). */
  readonly startup_ratio_median: number
  /** min(ours) / min(bare). */
  readonly startup_ratio_min: number
  readonly startup_runs: number
  /** The reference program's median and min (ms), when dist/bench-floor.cjs exists. */
  readonly startup_floor_median_ms?: number
  readonly startup_floor_min_ms?: number
  /** median(reference) / median(bare). */
  readonly startup_floor_ratio_median?: number
}

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const round = (x: number) => Math.round(x * 10) / 10

const timeOnce = (args: ReadonlyArray<string>): number => {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
  const elapsed = performance.now() - t0
  if (r.error !== undefined) throw r.error
  if (r.status !== 0) {
    throw new Error(`node ${args.join(" ")} exited with ${r.status ?? r.signal}:\n${r.stderr}`)
  }
  return elapsed
}

export const FLOOR_BUNDLE = "dist/bench-floor.cjs"

export const benchStartup = (options: { readonly runs?: number; readonly bundle?: string; readonly floor?: string } = {}): StartupFigures => {
  const runs = options.runs ?? 15
  const bundle = options.bundle ?? "dist/machina.cjs"
  const floorBundle = options.floor ?? FLOOR_BUNDLE
  const bare = ["-e", "0"]
  const ours = [bundle, "--config-dir", "examples/seed", "args", "test-vm"]
  const floor = existsSync(floorBundle) ? [floorBundle, "args", "test-vm"] : undefined
  // Warm-up round, discarded.
  timeOnce(bare)
  timeOnce(ours)
  if (floor !== undefined) timeOnce(floor)
  const bareTimes: Array<number> = []
  const ourTimes: Array<number> = []
  const floorTimes: Array<number> = []
  for (let i = 0; i < runs; i++) {
    bareTimes.push(timeOnce(bare))
    ourTimes.push(timeOnce(ours))
    if (floor !== undefined) floorTimes.push(timeOnce(floor))
  }
  const bareMedian = median(bareTimes)
  const ourMedian = median(ourTimes)
  const bareMin = Math.min(...bareTimes)
  const ourMin = Math.min(...ourTimes)
  return {
    startup_bare_median_ms: round(bareMedian),
    startup_bare_min_ms: round(bareMin),
    startup_machina_median_ms: round(ourMedian),
    startup_machina_min_ms: round(ourMin),
    startup_ratio_median: Math.round((ourMedian / bareMedian) * 100) / 100,
    startup_ratio_min: Math.round((ourMin / bareMin) * 100) / 100,
    startup_runs: runs,
    ...(floor === undefined ? {} : {
      startup_floor_median_ms: round(median(floorTimes)),
      startup_floor_min_ms: round(Math.min(...floorTimes)),
      startup_floor_ratio_median: Math.round((median(floorTimes) / bareMedian) * 100) / 100
    })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.env["BENCH_STARTUP_RUNS"])
  const bundle = process.env["BENCH_STARTUP_BUNDLE"]
  const figures = benchStartup({
    runs: Number.isInteger(n) && n > 0 ? n : 15,
    ...(bundle !== undefined && bundle !== "" ? { bundle } : {})
  })
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(36)} ${v}`)
}

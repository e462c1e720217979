/**
 * `npm run bench` (after `npm run build`): the figures the issue asks for, with their targets.
 *
 * - start-up: `node dist/machina.cjs --config-dir examples/seed args test-vm` against bare
 *   `node -e 0` in the same run (bench/startup.ts); target: median at most 2x bare Node;
 * - generation: 1,000 machines loaded, merged, turned into QEMU options and rendered as units,
 *   in process (bench/generate.ts); target: under 1 s for the first pass;
 * - QMP against real QEMU (bench/qmp.ts): `query-status` round trip, and QEMU's exit to
 *   `shutdown --wait` returning; target: under 100 ms.
 * - hooks (bench/hooks.ts), on an offline simulated host, machina installed there by
 *   `machina install` as on a host: start-up of `machina-ifup TAP` and `shutdown --system` of a
 *   stopped machine against bare Node, target 1.4x; `args` and `cat` in the same rotation, target
 *   1.9x; ifup and args run as the built file itself beside them;
 * - links (bench/hooks.ts): machina-ifup and machina-ifdown on a real bridge and tap in a
 *   network namespace (root only), through `ip netns exec` as bare Node is; no target;
 * - storm (bench/hooks.ts): the hooks of N machines (default 50, two taps each) at once,
 *   wall and CPU time beside the same storm of `node -e 0` processes;
 * - scale (bench/scale.ts): `generate --preview` of 1,000 seed-like machines by the bundle, wall
 *   and CPU time and peak RSS; against the original Go program when `MACHINA_ORIGINAL` names it
 *   (target 1.5x), else the comparison is skipped and the table says so.
 * - security (bench/security.ts): `systemd-analyze security --offline=true` exposure of an
 *   unprivileged machine's unit (target: at most 2.5) and of a default one.
 *
 * The machine may be busy with other work: the start-up figures are medians of interleaved runs,
 * with minimums beside them. `BENCH_ONLY=startup,hooks,links,storm,scale,generate,qmp,security` picks
 * benches; the modules' own variables (`BENCH_STARTUP_RUNS`, `BENCH_HOOK_RUNS`,
 * `BENCH_STORM_MACHINES`, `BENCH_SCALE_MACHINES`, `BENCH_GENERATE_MACHINES`, `BENCH_QMP_CALLS`, ...) apply.
 * Exits non-zero only when a bench could not run.
 */
import { benchGenerate } from "./generate.js"
import { benchHookStartup, benchRealLinks, benchStorm } from "./hooks.js"
import { benchScale } from "./scale.js"
import { benchQmp } from "./qmp.js"
import { benchSecurity } from "./security.js"
import { benchStartup } from "./startup.js"

interface Row {
  readonly figure: string
  readonly value: string
  readonly target: string
  readonly result: "PASS" | "MISS" | ""
}

const envInt = (name: string, fallback: number) => {
  const n = Number(process.env[name])
  return Number.isInteger(n) && n > 0 ? n : fallback
}

const only = new Set((process.env["BENCH_ONLY"] ?? "startup,hooks,links,storm,scale,generate,qmp,security").split(",").map((s) => s.trim()))
const rows: Array<Row> = []
const failures: Array<string> = []

const check = (ok: boolean): Row["result"] => (ok ? "PASS" : "MISS")
const info = (figure: string, value: string | number): Row => ({ figure, value: String(value), target: "", result: "" })

const section = async (name: string, run: () => Promise<void> | void) => {
  if (!only.has(name)) return
  process.stderr.write(`bench: ${name}...\n`)
  try {
    await run()
  } catch (e) {
    failures.push(name)
    rows.push({ figure: `${name}: could not run`, value: e instanceof Error ? e.message.split("\n")[0]! : String(e), target: "", result: "MISS" })
  }
}

await section("startup", () => {
  const s = benchStartup({ runs: envInt("BENCH_STARTUP_RUNS", 15) })
  rows.push(
    { figure: "start-up: machina / bare node (median)", value: `${s.startup_ratio_median}x`, target: "<= 2x", result: check(s.startup_ratio_median <= 2) },
    info("start-up: machina / bare node (min)", `${s.startup_ratio_min}x`),
    info("start-up: machina median / min (ms)", `${s.startup_machina_median_ms} / ${s.startup_machina_min_ms}`),
    info("start-up: bare node median / min (ms)", `${s.startup_bare_median_ms} / ${s.startup_bare_min_ms}`),
    info("start-up: runs of each (after 1 warm-up)", s.startup_runs)
  )
  if (s.startup_floor_median_ms !== undefined) {
    rows.push(
      info("start-up: minimal @effect/cli program / bare node (median)", `${s.startup_floor_ratio_median}x`),
      info("start-up: minimal @effect/cli program median / min (ms)", `${s.startup_floor_median_ms} / ${s.startup_floor_min_ms}`)
    )
  }
})

await section("hooks", () => {
  const h = benchHookStartup({ runs: envInt("BENCH_HOOK_RUNS", 15) })
  const target = (label: string, figure: string, limit: number): Row => ({
    figure: `${figure} / bare node (median)`,
    value: `${h.ratios[label]}x`,
    target: `<= ${limit}x`,
    result: check(h.ratios[label]! <= limit)
  })
  rows.push(
    target("machina-ifup TAP", "hook: machina-ifup TAP", 1.4),
    target("shutdown --system (stopped)", "hook: shutdown --system, stopped machine", 1.4),
    info("hook: prepare (one mdev) / bare node (median)", `${h.ratios["prepare"]}x`),
    target("args", "interactive: args", 1.9),
    target("cat", "interactive: cat", 1.9),
    info("medians (ms): bare/ifup/shutdown/prepare/args/cat", [
      "bare node", "machina-ifup TAP", "shutdown --system (stopped)", "prepare", "args", "cat"
    ].map((k) => h.medians[k]).join(" / ")),
    info("CPU medians (ms): bare/ifup/shutdown/prepare/args/cat", [
      "bare node", "machina-ifup TAP", "shutdown --system (stopped)", "prepare", "args", "cat"
    ].map((k) => h.cpuMedians[k]).join(" / ")),
    info("CPU ratios to bare node: ifup/shutdown/prepare/args/cat", [
      "machina-ifup TAP", "shutdown --system (stopped)", "prepare", "args", "cat"
    ].map((k) => `${h.cpuRatios[k]}x`).join(" / ")),
    info("as the built file itself (dist/machina.cjs, not installed): ifup / args", ["machina-ifup TAP (built file)", "args (built file)"].map((k) => `${h.ratios[k]}x`).join(" / ")),
    info("hooks: runs of each (after 1 warm-up)", h.runs)
  )
})

await section("links", () => {
  const l = benchRealLinks({ runs: envInt("BENCH_HOOK_RUNS", 15) })
  if (l === undefined) {
    rows.push(info("hooks on real links (network namespace)", "skipped: needs root and ip netns"))
    return
  }
  rows.push(
    info("real links: machina-ifup TAP / machina-ifdown TAP / bare node (median, ip netns exec)", ["machina-ifup TAP", "machina-ifdown TAP"].map((k) => `${l.ratios[k]}x`).join(" / ")),
    info("real links: medians (ms): bare/ifup/ifdown", ["bare node", "machina-ifup TAP", "machina-ifdown TAP"].map((k) => l.medians[k]).join(" / "))
  )
})

await section("storm", async () => {
  const s = await benchStorm({ machines: envInt("BENCH_STORM_MACHINES", 50) })
  rows.push(
    info(`boot storm: ${s.machines} machines, ${s.processes} hooks at once: wall (ms)`, `${s.wall_ms} (node -e 0: ${s.bare_wall_ms})`),
    info("boot storm: CPU time of all processes (ms)", `${s.cpu_ms} (node -e 0: ${s.bare_cpu_ms})`),
    info("boot storm: wall / node -e 0 storm", `${s.wall_ratio}x`),
    info("boot storm: CPU / node -e 0 storm", `${s.cpu_ratio}x`)
  )
})

await section("scale", () => {
  const original = process.env["MACHINA_ORIGINAL"]
  const g = benchScale({
    machines: envInt("BENCH_SCALE_MACHINES", 1000),
    runs: envInt("BENCH_SCALE_RUNS", 3),
    ...(original === undefined ? {} : { original })
  })
  const name = `generate --preview ${g.machines} machines`
  rows.push(
    info(`${name}: wall median (ms)`, g.wall_ms),
    info(`${name}: CPU median (ms)`, g.cpu_ms ?? "n/a (no /usr/bin/time)"),
    info(`${name}: peak RSS (MB)`, g.peak_rss_mb ?? "n/a (no /usr/bin/time)"),
    g.ratio === undefined
      ? { figure: `${name}: / original Go program`, value: "skipped", target: "<= 1.5x", result: "" }
      : { figure: `${name}: / original Go program`, value: `${g.ratio}x`, target: "<= 1.5x", result: check(g.ratio <= 1.5) },
    g.ratio === undefined
      ? info(`${name}: comparison`, `skipped: ${g.skipped}`)
      : info(`${name}: original wall (ms) / peak RSS (MB)`, `${g.original_wall_ms} / ${g.original_peak_rss_mb ?? "n/a"}`),
    ...(g.same_output === undefined ? [] : [info(`${name}: same bytes as the original`, g.same_output ? "yes" : "no")])
  )
})

await section("generate", () => {
  const g = benchGenerate({ machines: envInt("BENCH_GENERATE_MACHINES", 1000), passes: envInt("BENCH_GENERATE_PASSES", 3) })
  rows.push(
    { figure: `generate ${g.generate_machines} machines: first pass (ms)`, value: String(g.generate_first_pass_ms), target: "< 1000", result: check(g.generate_first_pass_ms < 1000) },
    info(`generate ${g.generate_machines} machines: best later pass (ms)`, g.generate_best_pass_ms),
    info("generate: per machine, first pass (us)", g.generate_per_machine_us)
  )
})

await section("qmp", async () => {
  const q = await benchQmp()
  rows.push(
    info("QMP query-status round trip median / p95 (ms)", `${q["qmp_roundtrip_median_ms"]} / ${q["qmp_roundtrip_p95_ms"]}`),
    info("QMP connect + negotiate median (ms)", q["qmp_connect_median_ms"] ?? ""),
    {
      figure: "QMP QEMU exit -> shutdown returns, median (ms)",
      value: String(q["qmp_shutdown_after_exit_median_ms"]),
      target: "< 100",
      result: check((q["qmp_shutdown_after_exit_median_ms"] ?? Infinity) < 100)
    },
    info("QMP SHUTDOWN event -> shutdown returns, median (ms)", q["qmp_shutdown_after_event_median_ms"] ?? ""),
    info("QMP whole shutdown --wait, median (ms)", q["qmp_shutdown_total_median_ms"] ?? "")
  )
})

await section("security", () => {
  const s = benchSecurity()
  rows.push(
    { figure: "systemd-analyze security: unprivileged unit", value: String(s.unprivileged), target: "<= 2.5", result: check(s.unprivileged <= 2.5) },
    info("systemd-analyze security: default (root) unit", s.root)
  )
})

const header: Row = { figure: "figure", value: "value", target: "target", result: "" }
const width = (f: (r: Row) => string) => Math.max(...[header, ...rows].map((r) => f(r).length))
const wf = width((r) => r.figure)
const wv = width((r) => r.value)
const wt = width((r) => r.target)
const line = (r: Row) => `${r.figure.padEnd(wf)}  ${r.value.padStart(wv)}  ${r.target.padEnd(wt)}  ${r.result}`.trimEnd()
console.log(line(header))
console.log("-".repeat(wf + wv + wt + 10))
for (const r of rows) console.log(line(r))
if (failures.length > 0) process.exitCode = 1

/**
 * What systemd and QEMU pay for every machine start and stop: the hook commands (prepare,
 * machina-ifup per tap, shutdown --system, machina-ifdown per tap, teardown) against an offline
 * simulated host (bench/host.ts: in-memory links, a sysfs tree and a run directory in a temp dir,
 * no QEMU; the machines are stopped), run as `machina install` puts machina on a host.
 *
 * - start-up: one hook at a time, interleaved with bare `node -e 0`, `args` and `cat` (the
 *   interactive commands) in the same rotation; medians, as ratios to bare Node;
 * - boot storm: N machines (default 50, two taps each) go through their seven hooks at once,
 *   each machine's in order (prepare, ifup x2, shutdown --system, ifdown x2, teardown); wall time
 *   and the CPU time of all the processes, beside the same storm of `node -e 0` processes;
 * - real links: ifup and ifdown on a real bridge and tap in a network namespace (root only).
 *
 * Standalone: `node --import tsx bench/hooks.ts` (env `BENCH_HOOK_RUNS`, default 15;
 * `BENCH_STORM_MACHINES`, default 50).
 */
import { spawn, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import { makeHost, type SimulatedHost } from "./host.js"
import { median } from "./startup.js"

const round = (x: number) => Math.round(x * 10) / 10
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100

interface Hook {
  readonly label: string
  readonly argv: ReadonlyArray<string>
  /** Exit statuses that count as the hook working (shutdown of a stopped machine may report it). */
  readonly ok: ReadonlyArray<number>
}

const check = (hook: Hook, status: number | null, stderr: string) => {
  if (status === null || !hook.ok.includes(status) || stderr.includes("internal error")) {
    throw new Error(`${hook.label} exited with ${status}:\n${stderr}`)
  }
}

const hooksOf = (host: SimulatedHost, machine: string): ReadonlyArray<Hook> => {
  const [tap0, tap1] = host.taps(machine) as [string, string]
  const machina = join(host.bin, "machina")
  return [
    { label: `prepare ${machine}`, argv: [machina, "prepare", machine], ok: [0] },
    { label: `machina-ifup ${tap0}`, argv: [join(host.bin, "machina-ifup"), tap0], ok: [0] },
    { label: `machina-ifup ${tap1}`, argv: [join(host.bin, "machina-ifup"), tap1], ok: [0] },
    { label: `shutdown --system ${machine}`, argv: [machina, "shutdown", "--system", "--timeout", "1m25s", machine], ok: [0, 1] },
    { label: `machina-ifdown ${tap0}`, argv: [join(host.bin, "machina-ifdown"), tap0], ok: [0] },
    { label: `machina-ifdown ${tap1}`, argv: [join(host.bin, "machina-ifdown"), tap1], ok: [0] },
    { label: `teardown ${machine}`, argv: [machina, "teardown", machine], ok: [0] }
  ]
}

export interface HookStartupFigures {
  readonly runs: number
  /** label -> median ms, and ratio of medians to bare node. */
  readonly medians: Record<string, number>
  readonly ratios: Record<string, number>
  /** label -> median CPU ms (user + system, in 10 ms clock ticks), and ratio to bare node's. */
  readonly cpuMedians: Record<string, number>
  readonly cpuRatios: Record<string, number>
}

export const benchHookStartup = (options: { readonly runs?: number; readonly bundle?: string } = {}): HookStartupFigures => {
  const runs = options.runs ?? 15
  const host = makeHost(50, options.bundle)
  try {
    const machine = host.machines[0]!
    const [prepare, ifup, , shutdown] = hooksOf(host, machine)
    const machina = join(host.bin, "machina")
    const rotation: ReadonlyArray<Hook> = [
      { label: "bare node", argv: ["-e", "0"], ok: [0] },
      { label: "machina-ifup TAP", argv: ifup!.argv, ok: [0] },
      { label: "shutdown --system (stopped)", argv: shutdown!.argv, ok: shutdown!.ok },
      { label: "prepare", argv: prepare!.argv, ok: [0] },
      { label: "args", argv: [machina, "args", machine], ok: [0] },
      { label: "cat", argv: [machina, "cat", machine], ok: [0] },
      // The same, run as the built file itself (dist/machina.cjs), not as installed.
      { label: "machina-ifup TAP (built file)", argv: [join(host.fileBin, "machina-ifup"), ...ifup!.argv.slice(1)], ok: [0] },
      { label: "args (built file)", argv: [join(host.fileBin, "machina"), "args", machine], ok: [0] }
    ]
    const times = rotation.map(() => [] as Array<number>)
    const cpu = rotation.map(() => [] as Array<number>)
    for (let i = 0; i <= runs; i++) {
      rotation.forEach((hook, j) => {
        const c0 = childrenCpuMs()
        const t0 = performance.now()
        const r = spawnSync(process.execPath, hook.argv, { env: host.env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
        const elapsed = performance.now() - t0
        const used = childrenCpuMs() - c0
        if (r.error !== undefined) throw r.error
        check(hook, r.status, r.stderr)
        if (i > 0) { // the first round is a warm-up
          times[j]!.push(elapsed)
          cpu[j]!.push(used)
        }
      })
    }
    const medians: Record<string, number> = {}
    const ratios: Record<string, number> = {}
    const cpuMedians: Record<string, number> = {}
    const cpuRatios: Record<string, number> = {}
    const bare = median(times[0]!)
    const bareCpu = median(cpu[0]!)
    rotation.forEach((hook, j) => {
      medians[hook.label] = round(median(times[j]!))
      ratios[hook.label] = ratio(median(times[j]!), bare)
      cpuMedians[hook.label] = round(median(cpu[j]!))
      cpuRatios[hook.label] = bareCpu > 0 ? ratio(median(cpu[j]!), bareCpu) : 0
    })
    return { runs, medians, ratios, cpuMedians, cpuRatios }
  } finally {
    host.dispose()
  }
}

/** CPU time (ms) of this process's waited-for children, from /proc/self/stat (cutime + cstime). */
const childrenCpuMs = (): number => {
  const stat = readFileSync("/proc/self/stat", "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // Fields 16 and 17 of stat(5), counted from 1; `fields` starts at field 3.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100
}

const runAsync = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  new Promise<{ status: number | null; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, argv, { env, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d })
    child.on("error", fail)
    child.on("close", (status) => done({ status, stderr }))
  })

export interface StormFigures {
  readonly machines: number
  readonly processes: number
  readonly wall_ms: number
  readonly cpu_ms: number
  readonly bare_wall_ms: number
  readonly bare_cpu_ms: number
  readonly wall_ratio: number
  readonly cpu_ratio: number
}

/** Every machine's hooks in order, all machines at once; `bare` replaces each hook by `node -e 0`. */
const storm = async (host: SimulatedHost, bare: boolean) => {
  const cpu0 = childrenCpuMs()
  const t0 = performance.now()
  let processes = 0
  await Promise.all(host.machines.map(async (machine) => {
    for (const hook of hooksOf(host, machine)) {
      processes++
      const r = await runAsync(bare ? ["-e", "0"] : hook.argv, host.env)
      if (!bare) check(hook, r.status, r.stderr)
      else if (r.status !== 0) throw new Error(`node -e 0 exited with ${r.status}`)
    }
  }))
  return { wall: performance.now() - t0, cpu: childrenCpuMs() - cpu0, processes }
}

export const benchStorm = async (options: { readonly machines?: number; readonly bundle?: string } = {}): Promise<StormFigures> => {
  const host = makeHost(options.machines ?? 50, options.bundle)
  try {
    const bare = await storm(host, true)
    const ours = await storm(host, false)
    return {
      machines: host.machines.length,
      processes: ours.processes,
      wall_ms: Math.round(ours.wall),
      cpu_ms: Math.round(ours.cpu),
      bare_wall_ms: Math.round(bare.wall),
      bare_cpu_ms: Math.round(bare.cpu),
      wall_ratio: ratio(ours.wall, bare.wall),
      cpu_ratio: ratio(ours.cpu, bare.cpu)
    }
  } finally {
    host.dispose()
  }
}

export interface RealLinkFigures {
  readonly runs: number
  /** label -> median ms, and ratio of medians to bare node run the same way. */
  readonly medians: Record<string, number>
  readonly ratios: Record<string, number>
}

/**
 * `machina-ifup` and `machina-ifdown` on real links: a bridge and a tap in a network namespace of
 * their own, with iproute2 doing the work as on a host (the offline figures above simulate the
 * links, so they leave out the `ip` processes). Every command, bare `node -e 0` too, runs through
 * `ip netns exec`; ifup and ifdown alternate, so each finds the tap as QEMU would. Undefined when
 * this is not root or `ip netns` does not work here.
 */
export const benchRealLinks = (options: { readonly runs?: number; readonly bundle?: string } = {}): RealLinkFigures | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const netns = `machina-bench-${process.pid}`
  const ip = (...args: ReadonlyArray<string>) => spawnSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" })
  if (ip("netns", "add", netns).status !== 0) return undefined
  const host = makeHost(1, options.bundle)
  try {
    const machine = host.machines[0]!
    const [tap] = host.taps(machine) as [string]
    for (const args of [["link", "add", "kvmbr0", "type", "bridge"], ["link", "set", "kvmbr0", "up"], ["tuntap", "add", "dev", tap, "mode", "tap"]]) {
      const r = ip("-n", netns, ...args)
      if (r.status !== 0) throw new Error(`ip -n ${netns} ${args.join(" ")}: ${r.stderr}`)
    }
    const { MACHINA_SIMULATE_LINKS: _, ...env } = host.env
    const rotation: ReadonlyArray<Hook> = [
      { label: "bare node", argv: ["-e", "0"], ok: [0] },
      { label: "machina-ifup TAP", argv: [join(host.bin, "machina-ifup"), tap], ok: [0] },
      { label: "machina-ifdown TAP", argv: [join(host.bin, "machina-ifdown"), tap], ok: [0] }
    ]
    const runs = options.runs ?? 15
    const times = rotation.map(() => [] as Array<number>)
    for (let i = 0; i <= runs; i++) {
      rotation.forEach((hook, j) => {
        const t0 = performance.now()
        const r = spawnSync("ip", ["netns", "exec", netns, process.execPath, ...hook.argv], { env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
        const elapsed = performance.now() - t0
        if (r.error !== undefined) throw r.error
        check(hook, r.status, r.stderr)
        if (i > 0) times[j]!.push(elapsed)
      })
    }
    const bare = median(times[0]!)
    const medians: Record<string, number> = {}
    const ratios: Record<string, number> = {}
    rotation.forEach((hook, j) => {
      medians[hook.label] = round(median(times[j]!))
      ratios[hook.label] = ratio(median(times[j]!), bare)
    })
    return { runs, medians, ratios }
  } finally {
    ip("netns", "del", netns)
    host.dispose()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const envInt = (name: string, fallback: number) => {
    const n = Number(process.env[name])
    return Number.isInteger(n) && n > 0 ? n : fallback
  }
  const s = benchHookStartup({ runs: envInt("BENCH_HOOK_RUNS", 15) })
  for (const k of Object.keys(s.medians)) console.log(`${k.padEnd(32)} ${String(s.medians[k]).padStart(8)} ms  ${s.ratios[k]}x`)
  console.log(await benchStorm({ machines: envInt("BENCH_STORM_MACHINES", 50) }))
  console.log(benchRealLinks({ runs: envInt("BENCH_HOOK_RUNS", 15) }) ?? "real links: skipped (needs root and ip netns)")
}

/**
 * `Processes` simulated in memory, for offline host simulation and CLI tests: a process table
 * (PID and arguments), the control group machina pretends to run in, and foreground runs that
 * record their command line and end with a configured exit (default: status 0).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { type Exit, Processes, type ProcessesShape } from "../services/Processes.js"

export interface SimulatedProcess {
  readonly pid: number
  readonly argv: ReadonlyArray<string>
}

export interface Options {
  readonly processes?: ReadonlyArray<SimulatedProcess>
  /** This process's cgroup; default `/user.slice/user-0.slice/session-1.scope` (a login shell). */
  readonly cgroup?: string
  /** How every foreground run ends. Default `{ code: 0, signal: null }`. */
  readonly exit?: Exit
}

export interface ProcessesMemoryControlShape {
  readonly add: (process: SimulatedProcess) => Effect.Effect<void>
  readonly remove: (pid: number) => Effect.Effect<void>
  readonly setCgroup: (cgroup: string | undefined) => Effect.Effect<void>
  /** Every foreground run so far: command, then arguments. */
  readonly runs: Effect.Effect<ReadonlyArray<ReadonlyArray<string>>>
}

export class ProcessesMemoryControl extends Context.Tag("machina/ProcessesMemoryControl")<
  ProcessesMemoryControl,
  ProcessesMemoryControlShape
>() {}

export const make = (options: Options = {}) =>
  Effect.sync(() => {
    const table = new Map<number, SimulatedProcess>((options.processes ?? []).map((p) => [p.pid, p]))
    let cgroup: string | undefined = options.cgroup ?? "/user.slice/user-0.slice/session-1.scope"
    const runs: Array<ReadonlyArray<string>> = []
    const service: ProcessesShape = {
      runForeground: (command, args) =>
        Effect.sync(() => {
          runs.push([command, ...args])
          return options.exit ?? { code: 0, signal: null }
        }),
      withArgument: (fragment) =>
        Effect.sync(() =>
          [...table.values()].filter((p) => p.argv.some((a) => a.includes(fragment))).map((p) => p.pid).sort((a, b) => a - b)
        ),
      ownCgroup: Effect.sync(() => Option.fromNullable(cgroup))
    }
    const control: ProcessesMemoryControlShape = {
      add: (p) => Effect.sync(() => void table.set(p.pid, p)),
      remove: (pid) => Effect.sync(() => void table.delete(pid)),
      setCgroup: (c) => Effect.sync(() => void (cgroup = c)),
      runs: Effect.sync(() => [...runs])
    }
    return { service, control }
  })

export const layer = (options: Options = {}): Layer.Layer<Processes | ProcessesMemoryControl> =>
  Layer.effectContext(
    Effect.map(make(options), ({ control, service }) =>
      Context.make(Processes, service).pipe(Context.add(ProcessesMemoryControl, control)))
  )

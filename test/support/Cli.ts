/**
 * Runs the machina CLI in-process with captured output, optionally over a simulated host
 * (any layers: ConfigStoreMemory, SystemdMemory, ...). Output is what a terminal would show:
 * each Console.log/error call is one line.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { main } from "../../src/programs/Cli.js"

export interface CliResult {
  readonly stdout: string
  readonly stderr: string
  readonly exitCode: number
}

const render = (args: ReadonlyArray<unknown>) => args.map((a) => (typeof a === "string" ? a : String(a))).join(" ")

export const capturingConsole = (out: Array<string>, err: Array<string>, suffix = "\n"): Console.Console => {
  const sink = (target: Array<string>) => (...args: ReadonlyArray<unknown>) => {
    target.push(render(args) + suffix)
  }
  const unsafe = {
    assert: () => {},
    clear: () => {},
    count: () => {},
    countReset: () => {},
    debug: sink(err),
    dir: sink(out),
    dirxml: sink(out),
    error: sink(err),
    group: () => {},
    groupCollapsed: () => {},
    groupEnd: () => {},
    info: sink(out),
    log: sink(out),
    table: sink(out),
    time: () => {},
    timeEnd: () => {},
    timeLog: () => {},
    trace: sink(err),
    warn: sink(err)
  }
  const lift = (f: (...args: Array<any>) => void) => (...args: Array<any>) => Effect.sync(() => f(...args))
  return {
    [Console.TypeId]: Console.TypeId,
    assert: lift(unsafe.assert),
    clear: Effect.void,
    count: lift(unsafe.count),
    countReset: lift(unsafe.countReset),
    debug: lift(unsafe.debug),
    dir: lift(unsafe.dir),
    dirxml: lift(unsafe.dirxml),
    error: lift(unsafe.error),
    group: () => Effect.void,
    groupEnd: Effect.void,
    info: lift(unsafe.info),
    log: lift(unsafe.log),
    table: lift(unsafe.table),
    time: () => Effect.void,
    timeEnd: () => Effect.void,
    timeLog: () => Effect.void,
    trace: lift(unsafe.trace),
    warn: lift(unsafe.warn),
    unsafe: unsafe as unknown as Console.UnsafeConsole
  }
}

/** A console whose log/error calls are collected, one entry per call (no newline). */
export const captureConsole = (): { readonly out: Array<string>; readonly err: Array<string>; readonly console: Console.Console } => {
  const out: Array<string> = []
  const err: Array<string> = []
  return { out, err, console: capturingConsole(out, err, "") }
}

/** Runs `machina <args...>` in-process. */
export const runCli = <E, R>(
  args: ReadonlyArray<string>,
  layer: Layer.Layer<R, E, never> = Layer.empty as unknown as Layer.Layer<R, E, never>
): Effect.Effect<CliResult, E> =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const exitCode = yield* main(["node", "machina", ...args]).pipe(
      Effect.withConsole(capturingConsole(out, err)),
      Effect.provide(Layer.merge(NodeContext.layer, layer))
    ) as Effect.Effect<number, E>
    return { stdout: out.join(""), stderr: err.join(""), exitCode }
  })

/**
 * Effect's `Console` written straight to file descriptors 1 and 2 (`fs.writeSync`), for machina's
 * entry points (src/bin.ts, src/hook.ts). A command prints a few lines; Node's `process.stdout`
 * and `process.stderr` cost more than that to create: the stream modules (about 2.5 ms here), and
 * `net` as well when the descriptor is a pipe or a socket, as systemd's journal is (about 4.5 ms).
 *
 * The bytes are those `console` writes, without colours. Once Node's stream for a descriptor
 * exists (something read `process.stdout`, as `list` does to choose colours, or a command writes
 * to it directly), output goes through it, so nothing overtakes what it has queued. A write the
 * descriptor cannot take now (EAGAIN: someone made it non-blocking and it is full) creates that
 * stream, which queues it. Other write errors are ignored, as `console` ignores them (a reader
 * that went away must not fail the command).
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { writeSync } from "node:fs"
import { format } from "node:util"

/** Node's stdio streams created since `watchStdio` ran; undefined when it did not run. */
let created: Map<1 | 2, NodeJS.WriteStream> | undefined

/**
 * From now on, notes which of `process.stdout` and `process.stderr` get created (reading either
 * property creates its stream). Node's getters are kept; they are only wrapped.
 */
export const watchStdio = (): void => {
  const streams = (created ??= new Map())
  for (const [fd, name] of [[1, "stdout"], [2, "stderr"]] as const) {
    const property = Object.getOwnPropertyDescriptor(process, name)
    const get = property?.get
    if (get === undefined || property?.configurable !== true) {
      // Not Node's lazy getter (someone replaced it): the stream is there already.
      streams.set(fd, process[name])
      continue
    }
    Object.defineProperty(process, name, {
      ...property,
      get(this: NodeJS.Process) {
        const stream = get.call(this) as NodeJS.WriteStream
        streams.set(fd, stream)
        return stream
      }
    })
  }
}

/** Node's stream for `fd`, made if need be. */
const nodeStream = (fd: 1 | 2): NodeJS.WriteStream => (fd === 1 ? process.stdout : process.stderr)

/** Node's stream for `fd` if it exists (always, when `watchStdio` did not run: it cannot tell). */
const streamOf = (fd: 1 | 2): NodeJS.WriteStream | undefined => (created === undefined ? nodeStream(fd) : created.get(fd))

/** Whether output is still queued in a stdio stream (a pipe whose reader has not taken it yet). */
export const pendingOutput = (): boolean => [streamOf(1), streamOf(2)].some((stream) => stream !== undefined && stream.writableLength > 0)

/** A writable for Node's `Console`: synchronous writes to `fd` while Node has no stream for it. */
const descriptor = (fd: 1 | 2) => ({
  write(chunk: string | Uint8Array): boolean {
    const stream = streamOf(fd)
    if (stream !== undefined) return stream.write(chunk)
    let rest = typeof chunk === "string" ? Buffer.from(chunk) : chunk
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(fd, rest))
      } catch (e) {
        if ((e as { code?: unknown }).code !== "EAGAIN") return true
        return nodeStream(fd).write(rest)
      }
    }
    return true
  }
})

/**
 * The console Effect's loggers write with (`unsafe`). Lines of `log`, `info` and `debug` (stdout)
 * and `error` and `warn` (stderr) are formatted as Node's `Console` formats them without colours
 * (`util.format`) and written directly; the other methods, and every method once one of them ran
 * (a `group` indents what follows), go through a Node `Console` on the same writers, made then
 * (making one costs about 0.4 ms, more than a hook's own lines).
 */
export const makeUnsafe = (): Console.UnsafeConsole => {
  const out = descriptor(1)
  const err = descriptor(2)
  let full: Console.UnsafeConsole | undefined
  const node = () =>
    (full ??= new globalThis.console.Console({
      stdout: out as NodeJS.WritableStream,
      stderr: err as NodeJS.WritableStream,
      // Write errors are handled by the writers; Node's handling of them needs an event emitter.
      ignoreErrors: false,
      colorMode: false
    }))
  const line = (writer: typeof out, method: "log" | "error") => (...args: ReadonlyArray<unknown>) => {
    if (full === undefined) writer.write(format(...args) + "\n")
    else full[method](...args)
  }
  return {
    assert: (condition, ...args) => node().assert(condition, ...args),
    clear: () => node().clear(),
    count: (label) => node().count(label),
    countReset: (label) => node().countReset(label),
    debug: line(out, "log"),
    dir: (item, options) => node().dir(item, options),
    dirxml: (...args) => node().dirxml(...args),
    error: line(err, "error"),
    group: (...args) => node().group(...args),
    groupCollapsed: (...args) => node().groupCollapsed(...args),
    groupEnd: () => node().groupEnd(),
    info: line(out, "log"),
    log: line(out, "log"),
    table: (data, properties) => node().table(data, properties),
    time: (label) => node().time(label),
    timeEnd: (label) => node().timeEnd(label),
    timeLog: (label, ...args) => node().timeLog(label, ...args),
    trace: (...args) => node().trace(...args),
    warn: line(err, "error")
  }
}

/** Effect's `Console` on descriptors 1 and 2 (see above). */
export const make = (): Console.Console => {
  const unsafe = makeUnsafe()
  const sync = (f: () => void) => Effect.sync(f)
  return {
    [Console.TypeId]: Console.TypeId,
    assert: (condition, ...args) => sync(() => unsafe.assert(condition, ...args)),
    clear: sync(() => unsafe.clear()),
    count: (label) => sync(() => unsafe.count(label)),
    countReset: (label) => sync(() => unsafe.countReset(label)),
    debug: (...args) => sync(() => unsafe.debug(...args)),
    dir: (item, options) => sync(() => unsafe.dir(item, options)),
    dirxml: (...args) => sync(() => unsafe.dirxml(...args)),
    error: (...args) => sync(() => unsafe.error(...args)),
    group: (options) => sync(() => (options?.collapsed === true ? unsafe.groupCollapsed(options.label) : unsafe.group(options?.label))),
    groupEnd: sync(() => unsafe.groupEnd()),
    info: (...args) => sync(() => unsafe.info(...args)),
    log: (...args) => sync(() => unsafe.log(...args)),
    table: (data, properties) => sync(() => unsafe.table(data, properties)),
    time: (label) => sync(() => unsafe.time(label)),
    timeEnd: (label) => sync(() => unsafe.timeEnd(label)),
    timeLog: (label, ...args) => sync(() => unsafe.timeLog(label, ...args)),
    trace: (...args) => sync(() => unsafe.trace(...args)),
    warn: (...args) => sync(() => unsafe.warn(...args)),
    unsafe
  }
}

/** Processes via node:child_process and /proc. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { readdirSync, readFileSync } from "node:fs"
import { nodeChildProcess } from "../domain/NodeBuiltins.js"
import { type Exit, Processes, type ProcessesShape, ProcessSpawnError } from "../services/Processes.js"

const readOr = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** Scans /proc: a process that vanishes meanwhile is skipped. */
const withArgument = (fragment: string): ReadonlyArray<number> => {
  const found: Array<number> = []
  let entries: Array<string>
  try {
    entries = readdirSync("/proc")
  } catch {
    return found
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    const cmdline = readOr(`/proc/${entry}/cmdline`)
    if (cmdline === undefined || cmdline === "") continue
    if (cmdline.split("\0").some((arg) => arg.includes(fragment))) found.push(pid)
  }
  return found.sort((a, b) => a - b)
}

/** The `0::<path>` line of /proc/self/cgroup (cgroup v2; a hybrid host lists it too). */
const ownCgroup = (): Option.Option<string> => {
  const text = readOr("/proc/self/cgroup")
  const line = text?.split("\n").find((l) => l.startsWith("0::"))
  return line === undefined ? Option.none() : Option.some(line.slice(3))
}

export const make: ProcessesShape = {
  runForeground: (command, args, options) =>
    Effect.async<Exit, ProcessSpawnError>((resume) => {
      const child = nodeChildProcess().spawn(command, [...args], { stdio: ["ignore", "inherit", "inherit"] })
      let done = false
      child.once("error", (e) => {
        if (done) return
        done = true
        resume(Effect.fail(new ProcessSpawnError({ command, reason: e.message })))
      })
      child.once("exit", (code, signal) => {
        if (done) return
        done = true
        resume(Effect.succeed({ code, signal }))
      })
      return Effect.async<void>((interrupted) => {
        if (done || child.exitCode !== null || child.signalCode !== null) return interrupted(Effect.void)
        const killAfter = Duration.toMillis(Duration.decode(options?.killAfter ?? "10 seconds"))
        const timer = setTimeout(() => child.kill("SIGKILL"), killAfter)
        child.once("exit", () => {
          clearTimeout(timer)
          interrupted(Effect.void)
        })
        child.kill("SIGTERM")
      })
    }),
  withArgument: (fragment) => Effect.sync(() => withArgument(fragment)),
  ownCgroup: Effect.sync(ownCgroup)
}

export const layer: Layer.Layer<Processes> = Layer.succeed(Processes, make)

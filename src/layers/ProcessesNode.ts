/** Processes via node:child_process. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { type Exit, Processes, type ProcessesShape, ProcessSpawnError } from "../services/Processes.js"

export const make: ProcessesShape = {
  runForeground: (command, args, options) =>
    Effect.async<Exit, ProcessSpawnError>((resume) => {
      const child = spawn(command, [...args], { stdio: ["ignore", "inherit", "inherit"] })
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
    })
}

export const layer: Layer.Layer<Processes> = Layer.succeed(Processes, make)

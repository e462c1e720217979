/** QemuInfo from the installed QEMU binary (argument array, no shell; bounded by a timeout). */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFile } from "node:child_process"
import { newestQ35 } from "../domain/qemu/HardwareRevision.js"
import { QEMU_EXECUTABLE } from "../domain/qemu/Options.js"
import { QemuInfo, type QemuInfoShape, QemuMachineTypeError } from "../services/QemuInfo.js"

export interface Options {
  /** The QEMU binary; default `qemu-system-x86_64` through PATH. */
  readonly executable?: string | undefined
  /** How long QEMU may take to answer, in ms. Default 30 s. */
  readonly timeoutMs?: number | undefined
}

export const make = (options: Options = {}): QemuInfoShape => {
  const executable = options.executable ?? QEMU_EXECUTABLE
  const command = `${executable} -machine help`
  return {
    newestQ35MachineType: Effect.async<string, QemuMachineTypeError>((resume) => {
      const child = execFile(executable, ["-machine", "help"], { timeout: options.timeoutMs ?? 30_000, encoding: "utf8" }, (error, stdout) => {
        if (error !== null) {
          return resume(Effect.fail(new QemuMachineTypeError({ command, reason: error.message.split("\n")[0] ?? String(error) })))
        }
        const found = newestQ35(stdout)
        resume(found === undefined ? Effect.fail(new QemuMachineTypeError({ command, reason: "it lists no pc-q35-X.Y machine type" })) : Effect.succeed(found))
      })
      return Effect.sync(() => {
        child.kill("SIGKILL")
      })
    })
  }
}

export const layer = (options: Options = {}): Layer.Layer<QemuInfo> => Layer.succeed(QemuInfo, make(options))

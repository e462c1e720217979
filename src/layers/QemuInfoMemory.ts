/** QemuInfo with a fixed answer: for offline host simulation and tests. */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { QemuInfo, type QemuInfoShape, QemuMachineTypeError } from "../services/QemuInfo.js"

export interface Options {
  /** The newest versioned q35 type the simulated QEMU offers; undefined = it offers none. */
  readonly newestQ35?: string | undefined
}

export const make = (options: Options): QemuInfoShape => ({
  newestQ35MachineType: options.newestQ35 === undefined
    ? Effect.fail(new QemuMachineTypeError({ command: "simulated QEMU", reason: "it lists no pc-q35-X.Y machine type" }))
    : Effect.succeed(options.newestQ35)
})

export const layer = (options: Options): Layer.Layer<QemuInfo> => Layer.succeed(QemuInfo, make(options))

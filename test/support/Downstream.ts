/** What runs after a machine is composed; exercised by the fuzz test so no stage can crash. */
import * as Either from "effect/Either"
import { claims } from "../../src/domain/Collisions.js"
import type { Host } from "../../src/domain/ConfigFiles.js"
import { machineWarnings } from "../../src/domain/MachineWarnings.js"
import type { Composed } from "../../src/domain/Merge.js"
import { duplicateWritableFiles } from "../../src/domain/VolumeFiles.js"
import { renderArgs } from "../../src/domain/qemu/Options.js"
import { generate } from "../../src/domain/qemu/Pipeline.js"
import { renderMachineUnit } from "../../src/domain/Unit.js"

export const downstream = (host: Host, composed: Composed): void => {
  claims(composed, host)
  duplicateWritableFiles(host, composed)
  machineWarnings(host, composed)
  const options = generate(host, composed)
  if (Either.isRight(options)) {
    renderArgs(options.right)
    renderMachineUnit({ name: composed.machine.name, options: options.right })
  } else if (options.left._tag !== "ConfigInvalidError") {
    throw new Error(`generate failed with ${String(options.left)}`)
  }
}

/**
 * What is questionable about one composed machine but does not stop it: warnings `generate`
 * prints on stderr and `check` lists apart from errors (failing only with `--strict`). Add new
 * machine-level warnings to `machineWarnings`.
 */
import type { Host } from "./ConfigFiles.js"
import { type ConfigWarning, warning } from "./ConfigIssue.js"
import type { Composed } from "./Merge.js"
import {
  portPatternBuiltinMessage,
  portPatternBuiltins,
  unknownStorageVariableMessage,
  unknownStorageVariables
} from "./PatternUse.js"
import { isZeroUuid } from "./Uuid.js"

/** A machine without `id` (config.md §2): QEMU gets no `-uuid`. */
export const missingIdWarning = (c: Composed): ConfigWarning =>
  warning(
    c.machine.file,
    "$.id",
    `machine ${c.machine.name} has no id: QEMU gets no -uuid and guests see no stable system UUID; set "id" to the output of: machina gen-id`
  )

/** Every warning about one composed machine, in a stable order. */
export const machineWarnings = (host: Host, c: Composed): ReadonlyArray<ConfigWarning> => [
  ...(isZeroUuid(c.machine.idBytes) ? [missingIdWarning(c)] : []),
  // Plain references to unknown variables in storage patterns expand to "" (issue 9): kept, but said.
  ...unknownStorageVariables(host, c).map((u) => warning(u.file, u.path, unknownStorageVariableMessage(u))),
  // Storage built-ins in port patterns expand to "" there (config.md §5.3): kept, but said.
  ...portPatternBuiltins(c).map((b) => warning(b.file, b.path, portPatternBuiltinMessage(b)))
]

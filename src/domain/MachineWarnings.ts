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
import { jsonPath } from "./ConfigIssue.js"
import { clampDisplays, MAX_DISPLAYS } from "./qemu/Display.js"

/** A machine without `id` (config.md §2): QEMU gets no `-uuid`. */
export const missingIdWarning = (c: Composed): ConfigWarning =>
  warning(
    c.machine.file,
    "$.id",
    `machine ${c.machine.name} has no id: QEMU gets no -uuid and guests see no stable system UUID; set "id" to the output of: machina gen-id`
  )

/** `spice.displays` above what QEMU's QXL gives a guest: clamped (the original did so silently). */
export const clampedDisplaysWarnings = (c: Composed): ReadonlyArray<ConfigWarning> => {
  const { displays, enabled } = c.definition.attrs.spice
  if (!enabled || clampDisplays(displays) === displays || displays === 0) return []
  const origin = c.origins.attrs["spice.displays"] ?? { file: c.machine.file, path: jsonPath(["attrs", "spice", "displays"]) }
  return [warning(origin.file, origin.path, `spice.displays is ${displays}, but a guest gets at most ${MAX_DISPLAYS} QXL heads: clamped to ${MAX_DISPLAYS}`)]
}

/** Every warning about one composed machine, in a stable order. */
export const machineWarnings = (host: Host, c: Composed): ReadonlyArray<ConfigWarning> => [
  ...(isZeroUuid(c.machine.idBytes) ? [missingIdWarning(c)] : []),
  ...clampedDisplaysWarnings(c),
  // Plain references to unknown variables in storage patterns expand to "" (issue 9): kept, but said.
  ...unknownStorageVariables(host, c).map((u) => warning(u.file, u.path, unknownStorageVariableMessage(u))),
  // Storage built-ins in port patterns expand to "" there (config.md §5.3): kept, but said.
  ...portPatternBuiltins(c).map((b) => warning(b.file, b.path, portPatternBuiltinMessage(b)))
]

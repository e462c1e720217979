/** Validation that needs the QEMU generator: every problem generation would hit. */
import * as Either from "effect/Either"
import type { Host } from "../domain/ConfigFiles.js"
import { type ConfigIssue, type ConfigWarning, warning } from "../domain/ConfigIssue.js"
import type { Composed } from "../domain/Merge.js"
import { generate } from "../domain/qemu/Pipeline.js"
import { isZeroUuid } from "../domain/Uuid.js"
import { duplicateWritableFiles } from "../domain/VolumeFiles.js"

/**
 * The generator's problems for one composed machine (empty when it generates cleanly), and
 * writable images it would open twice.
 */
export const validateGenerated = (host: Host, composed: Composed): ReadonlyArray<ConfigIssue> => [
  ...Either.match(generate(host, composed), { onLeft: (e) => e.issues, onRight: () => [] }),
  ...duplicateWritableFiles(host, composed)
]

/** The warning for a machine without `id` (config.md §2: QEMU then gets no `-uuid`). */
export const missingIdWarning = (c: Composed): ConfigWarning =>
  warning(
    c.machine.file,
    "$.id",
    `machine ${c.machine.name} has no id: QEMU gets no -uuid and guests see no stable system UUID; set "id" to the output of: machina gen-id`
  )

/**
 * What is questionable about one composed machine but does not stop it (warnings): `generate`
 * prints them, `check` lists them. Add new machine-level warnings here.
 */
export const warningsOf = (_host: Host, c: Composed): ReadonlyArray<ConfigWarning> =>
  isZeroUuid(c.machine.idBytes) ? [missingIdWarning(c)] : []

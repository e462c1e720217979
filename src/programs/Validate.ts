/** Validation that needs the QEMU generator: every problem generation would hit. */
import * as Either from "effect/Either"
import type { Host } from "../domain/ConfigFiles.js"
import type { ConfigIssue } from "../domain/ConfigIssue.js"
import type { Composed } from "../domain/Merge.js"
import { generate } from "../domain/qemu/Pipeline.js"
import { duplicateWritableFiles } from "../domain/VolumeFiles.js"

/**
 * The generator's problems for one composed machine (empty when it generates cleanly), and
 * writable images it would open twice.
 */
export const validateGenerated = (host: Host, composed: Composed): ReadonlyArray<ConfigIssue> => [
  ...Either.match(generate(host, composed), { onLeft: (e) => e.issues, onRight: () => [] }),
  ...duplicateWritableFiles(host, composed)
]


/** Validation that needs the QEMU generator: every problem generation would hit. */
import type { Host } from "../domain/ConfigFiles.js"
import type { ConfigIssue } from "../domain/ConfigIssue.js"
import type { Composed } from "../domain/Merge.js"

// Filled in once the QEMU generator lands: returns the generator's issues for one machine.
export const validateGenerated = (_host: Host, _composed: Composed): ReadonlyArray<ConfigIssue> => []

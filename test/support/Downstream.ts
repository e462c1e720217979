/** What runs after a machine is composed; exercised by the fuzz test so no stage can crash. */
import type { Host } from "../../src/domain/ConfigFiles.js"
import type { Composed } from "../../src/domain/Merge.js"
import { claims } from "../../src/domain/Collisions.js"

export const downstream = (_host: Host, composed: Composed): void => {
  claims(composed)
}

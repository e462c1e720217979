/**
 * The two functions `swtpmUnitsOf` (Workspace.ts) needs, in a module of its own so that it can be
 * loaded on first use (a dynamic import keeps every export of the module it names: importing the
 * unit model itself would keep all of it in the hook bundle).
 */
export { tpmStateOf } from "../domain/TpmState.js"
export { swtpmUnitName } from "../domain/Unit.js"

/**
 * The one part of the QEMU translation pipeline Privileges.ts needs, in a module of its own so
 * that it can be loaded on first use (a dynamic import keeps every export of the module it names:
 * importing the pipeline itself would keep all of it, and what it uses, in the hook bundle).
 */
export { machineFiles } from "../domain/qemu/Pipeline.js"

/**
 * Node modules that cost more to load than a hook's whole work, loaded on first use
 * (`process.getBuiltinModule`, Node 20.16: a static import would load the module with the bundle,
 * and `node:module`'s createRequire costs as much again):
 * - `node:crypto` (5 to 9 ms here): a hook needs it only to name a temporary file or a lock, if at
 *   all; a process's first identifier hashes are computed in Keccak.ts instead (see Identity.ts);
 * - `node:net` and `node:child_process` (with the stream modules, about 4 ms): `shutdown --system`
 *   of a machine whose QEMU is gone finds no QMP socket to connect to (layers/QmpUnixSocket.ts)
 *   and no process serving it, in /proc (layers/ProcessesNode.ts, which starts processes too).
 */
const load = <M>(id: "node:crypto" | "node:net" | "node:child_process"): M => {
  if (typeof process.getBuiltinModule !== "function") throw new Error(`machina needs Node.js 20.16 or later (this is ${process.version})`)
  return process.getBuiltinModule(id) as M
}

let crypto: typeof import("node:crypto") | undefined
let net: typeof import("node:net") | undefined
let childProcess: typeof import("node:child_process") | undefined

export const nodeCrypto = (): typeof import("node:crypto") => (crypto ??= load<typeof import("node:crypto")>("node:crypto"))

export const nodeNet = (): typeof import("node:net") => (net ??= load<typeof import("node:net")>("node:net"))

export const nodeChildProcess = (): typeof import("node:child_process") =>
  (childProcess ??= load<typeof import("node:child_process")>("node:child_process"))

/** `crypto.randomBytes(size)` (synchronous). */
export const randomBytes = (size: number): Buffer => nodeCrypto().randomBytes(size)

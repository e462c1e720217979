/**
 * `node:crypto`, loaded on first use. Loading it costs 5 to 9 ms here, more than the whole work of
 * a hook, which needs it only to name a temporary file or a lock, if at all; a process's first
 * identifier hashes are computed in Keccak.ts instead (see Identity.ts). (`process.getBuiltinModule`, Node 20.16: a static import would load
 * the module with the bundle, and `node:module`'s createRequire costs as much again.)
 */
let loaded: typeof import("node:crypto") | undefined

export const nodeCrypto = (): typeof import("node:crypto") => {
  if (loaded === undefined) {
    if (typeof process.getBuiltinModule !== "function") throw new Error(`machina needs Node.js 20.16 or later (this is ${process.version})`)
    loaded = process.getBuiltinModule("node:crypto")
  }
  return loaded
}

/** `crypto.randomBytes(size)` (synchronous). */
export const randomBytes = (size: number): Buffer => nodeCrypto().randomBytes(size)

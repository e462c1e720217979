/**
 * The built CLI bundle (`npm run build` → dist/machina.cjs), found from this file rather than the
 * working directory, and copied into sandboxes: a checkout under /tmp is invisible inside a
 * sandbox (it mounts its own /tmp), so tests never hand it a path into the checkout.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Sandbox } from "./Sandbox.js"

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
export const BUNDLE = path.join(REPO, "dist", "machina.cjs")

/** Where `copyBundleInto` puts the bundle inside a sandbox (outside /tmp and /run, in the overlay). */
export const SANDBOX_BUNDLE = "/opt/machina-test/machina.cjs"

/** The bundle's bytes; fails with the fix when it was not built. */
export const bundleBytes = (): Buffer => {
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`)
  return fs.readFileSync(BUNDLE)
}

/** Copies the bundle into the sandbox (mode 0755) and returns its path there. */
export const copyBundleInto = async (sandbox: Sandbox): Promise<string> => {
  await sandbox.writeFile(SANDBOX_BUNDLE, bundleBytes(), 0o755)
  return SANDBOX_BUNDLE
}

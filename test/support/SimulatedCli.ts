/**
 * A `machina` executable over a simulated host (configuration and systemd in memory), for tests
 * that need a real process: on a pseudo-terminal (confirmation questions, progress lines) or with
 * pipes. Built with esbuild into a temporary directory by `buildSimulatedCli`; the host is read
 * from the JSON file named by `MACHINA_SIM_HOST` (`{ host, machines, units }`), and the systemd
 * journal (what was done) is written to `MACHINA_SIM_JOURNAL` at exit.
 */
import { build } from "esbuild"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { REPO } from "./Bundle.js"

/** Bundles the entry below into a temporary directory and returns the file to run with node. */
export const buildSimulatedCli = async (): Promise<string> => {
  const outfile = join(mkdtempSync(join(tmpdir(), "machina-simcli-")), "machina-sim.cjs")
  await build({
    absWorkingDir: REPO,
    entryPoints: ["test/support/simulated-cli-main.ts"],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    outfile,
    logLevel: "warning",
    external: ["x11", "usocket", "abstract-socket"]
  })
  return outfile
}

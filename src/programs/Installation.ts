/**
 * Where machina is installed, as generated units must name it: `install --prefix P` puts
 * `machina`, `machina-ifup` and `machina-ifdown` in `P/bin`. The running machina tells: when it
 * runs as `P/bin/machina` (or one of its links) and the two links sit beside it, units call
 * `P/bin/machina-ifup`/`-ifdown` for taps and `P/bin/machina` for their hooks. `MACHINA_BIN_DIR`
 * overrides the guess (packaging). For `/usr/bin` (the default prefix), or a machina run from
 * elsewhere (`node dist/machina.cjs`), nothing changes: units call `/usr/bin/machina-ifup` and the
 * bare `machina`, byte for byte as before.
 */
import { existsSync, realpathSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { BIN_DIR } from "../domain/Paths.js"

const PROGRAMS = ["machina", "machina-ifup", "machina-ifdown"]

const real = (path: string): string => {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/** The bin directory units must name, or undefined for the default `/usr/bin`. */
export const installedBinDir = (
  argv1: string | undefined = process.argv[1],
  env: Readonly<Record<string, string | undefined>> = process.env
): string | undefined => {
  const override = env["MACHINA_BIN_DIR"] ?? ""
  const dir = override !== ""
    ? resolve(override)
    : argv1 === undefined || !PROGRAMS.includes(basename(argv1))
    ? undefined
    : dirname(resolve(argv1))
  if (dir === undefined || real(dir) === real(BIN_DIR)) return undefined
  if (override === "" && !PROGRAMS.every((p) => existsSync(join(dir, p)))) return undefined
  return dir
}

/** The machina a unit's hooks run: an absolute path outside /usr/bin, else undefined (bare `machina`). */
export const hookExecutable = (binDir: string | undefined): string | undefined =>
  binDir === undefined ? undefined : join(binDir, "machina")

/**
 * `machina install`: puts the running machina at `<prefix>/bin/machina`, the `machina-ifup` and
 * `machina-ifdown` links QEMU calls for taps, completion for bash, zsh and fish (Completion.ts;
 * function-based, so it also works after `sudo`), and the `/etc/machina` skeleton. Idempotent:
 * unchanged things are left alone, and files are replaced by rename, never truncated in place (the
 * running binary stays intact).
 *
 * The built file (dist/machina.cjs) holds every bundle, and Node reads all of a file it runs before
 * any of it runs. So, when the running machina offers them (`globalThis.__machinaInstallable`, set
 * by the loaders of scripts/build.mjs), install writes a small loader as `<prefix>/bin/machina` and
 * the bundles with their code caches in `<prefix>/lib/machina/<id>/`: the hooks systemd and QEMU
 * run then read only their own bundle. The directory of a new build is complete before the loader
 * that names it replaces the old one; the directory of the loader it replaces is kept (a hook that
 * started just before may still read it), older ones are removed.
 * `--root DIR` installs into a staging tree (packaging, tests).
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { randomBytes } from "../domain/NodeBuiltins.js"
import { constants } from "node:fs"
import { chmod, lstat, mkdir, readdir, readFile, readlink, realpath, rename, rm, stat, symlink, writeFile } from "node:fs/promises"
import { basename, dirname, join, resolve } from "node:path"
import { BASH_COMPLETION_DIR, BIN_DIR, CONF_DIR, FISH_COMPLETION_DIR, ZSH_COMPLETION_DIR } from "../domain/Paths.js"
import { MACHINE_DIR } from "../domain/ConfigFiles.js"
import { script, type Shell } from "./Completion.js"
import { LazyTaggedError } from "../domain/LazyTaggedError.js"

export class InstallError extends LazyTaggedError<InstallError>()("InstallError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `install: ${this.path}: ${this.reason}`
  }
}

const fail = (path: string) => (e: unknown) =>
  new InstallError({ path, reason: e instanceof Error ? e.message : String(e) })

const attempt = <A>(path: string, f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: fail(path) })

const exists = (path: string) => Effect.promise(() => lstat(path).then(() => true, () => false))

const tempBeside = (path: string) => join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`)

type Outcome = "created" | "updated" | "unchanged" | "removed"

/** Writes `content` at `path` via a temporary file and rename; unchanged content is left alone. */
export const replaceFile = (path: string, content: Uint8Array | string, mode: number) =>
  Effect.gen(function*() {
    const bytes = typeof content === "string" ? Buffer.from(content) : Buffer.from(content)
    const current = yield* Effect.promise(() => readFile(path).then((b) => b as Buffer | undefined, () => undefined))
    if (current !== undefined && current.equals(bytes)) {
      const st = yield* attempt(path, () => stat(path))
      if ((st.mode & 0o7777) !== mode) yield* attempt(path, () => chmod(path, mode))
      return "unchanged" as Outcome
    }
    const temp = tempBeside(path)
    yield* attempt(path, async () => {
      try {
        await writeFile(temp, bytes, { mode, flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY })
        await chmod(temp, mode)
        await rename(temp, path)
      } catch (e) {
        await rm(temp, { force: true })
        throw e
      }
    })
    return (current === undefined ? "created" : "updated") as Outcome
  })

/** Makes `path` a symlink to `target`, replacing a wrong one atomically. */
export const ensureSymlink = (path: string, target: string) =>
  Effect.gen(function*() {
    const current = yield* Effect.promise(() => readlink(path).then((t) => t as string | undefined, () => undefined))
    if (current === target) return "unchanged" as Outcome
    const present = yield* exists(path)
    if (present && current === undefined) {
      const st = yield* attempt(path, () => lstat(path))
      if (st.isDirectory()) return yield* new InstallError({ path, reason: "exists and is a directory" })
    }
    const temp = tempBeside(path)
    yield* attempt(path, async () => {
      await symlink(target, temp)
      await rename(temp, path)
    })
    return (present ? "updated" : "created") as Outcome
  })

const ensureDirectory = (path: string) =>
  Effect.gen(function*() {
    const st = yield* Effect.promise(() => stat(path).then((s) => s as import("node:fs").Stats | undefined, () => undefined))
    if (st !== undefined) {
      if (!st.isDirectory()) return yield* new InstallError({ path, reason: "exists but is not a directory" })
      return "unchanged" as Outcome
    }
    yield* attempt(path, () => mkdir(path, { recursive: true, mode: 0o755 }))
    return "created" as Outcome
  })

/** The file this process runs from (the bundle), resolved through symlinks. */
const runningBundle = Effect.gen(function*() {
  const candidate = (typeof require === "undefined" ? undefined : require.main?.filename) ?? process.argv[1] ?? ""
  if (candidate === "" || !candidate.endsWith(".cjs") && basename(candidate) !== "machina") {
    return yield* new InstallError({ path: candidate, reason: "install runs from the built bundle (dist/machina.cjs or an installed machina)" })
  }
  return yield* attempt(candidate, () => realpath(candidate))
})

/** What the loaders of scripts/build.mjs offer to install: the installed loader and its bundle files. */
interface Installable {
  readonly id: string
  readonly loader: () => Uint8Array
  readonly files: () => ReadonlyArray<readonly [string, Uint8Array]>
}

const ID = /^[0-9a-f]{16}$/
const FILE = /^[a-z-]+\.(js|cache)$/

const installableOf = (value: unknown): Installable | undefined => {
  const v = value as Partial<Installable> | undefined
  return typeof v === "object" && v !== null && typeof v.id === "string" && ID.test(v.id) && typeof v.loader === "function" && typeof v.files === "function"
    ? (v as Installable)
    : undefined
}

/** The build directory a loader names (`const id = "…"`), if it is an installed loader. */
const loaderId = (text: string | undefined): string | undefined => text?.match(/^ {2}const id = "([0-9a-f]{16})"$/m)?.[1]

/**
 * Writes the bundle files into `dir` (`<lib>/<id>`): a missing directory is filled under a
 * temporary name and renamed into place, so a loader never sees it half-written; an existing one
 * has each file checked and, if it differs, replaced.
 */
const installBundles = (dir: string, files: ReadonlyArray<readonly [string, Uint8Array]>) =>
  Effect.gen(function*() {
    for (const [name] of files) {
      if (!FILE.test(name)) return yield* new InstallError({ path: join(dir, name), reason: "not a bundle file name" })
    }
    if (yield* exists(dir)) {
      let changed = false
      for (const [name, bytes] of files) changed = (yield* replaceFile(join(dir, name), bytes, 0o644)) !== "unchanged" || changed
      return (changed ? "updated" : "unchanged") as Outcome
    }
    const temp = tempBeside(dir)
    yield* attempt(dir, async () => {
      try {
        await mkdir(temp, { mode: 0o755 })
        await chmod(temp, 0o755)
        for (const [name, bytes] of files) await writeFile(join(temp, name), bytes, { mode: 0o644 })
        await rename(temp, dir)
      } catch (e) {
        await rm(temp, { recursive: true, force: true })
        throw e
      }
    })
    return "created" as Outcome
  })

const root = Options.text("root").pipe(Options.withDescription("Install into this staging root instead of /."), Options.withDefault("/"))
const prefix = Options.text("prefix").pipe(Options.withDescription("Installation prefix (binary in <prefix>/bin)."), Options.withDefault("/usr"))

/** Where each shell's completion goes (Debian's directories, searched by the shells as shipped). */
export const COMPLETIONS: ReadonlyArray<{ readonly shell: Shell; readonly dir: string; readonly file: string }> = [
  { shell: "bash", dir: BASH_COMPLETION_DIR, file: "machina" },
  { shell: "zsh", dir: ZSH_COMPLETION_DIR, file: "_machina" },
  { shell: "fish", dir: FISH_COMPLETION_DIR, file: "machina.fish" }
]

export const handler = ({ prefix, root }: { prefix: string; root: string }) =>
  Effect.gen(function*() {
    const under = (p: string) => join(root, p)
    const report = (what: string, path: string, outcome: Outcome) => Console.log(`${what.padEnd(10)} ${path}: ${outcome}`)
    const bin = under(join(prefix, "bin"))
    yield* ensureDirectory(bin)
    const dest = join(bin, "machina")
    const installable = installableOf((globalThis as { __machinaInstallable?: unknown }).__machinaInstallable)
    if (installable === undefined) {
      // A plain bundle (scripts/build.mjs --plain): the file itself.
      const source = yield* runningBundle
      const sameFile = yield* Effect.promise(() => realpath(dest).then((r) => r === source, () => false))
      const program = sameFile ? ("unchanged" as Outcome) : yield* replaceFile(dest, yield* attempt(source, () => readFile(source)), 0o755)
      yield* report("binary", dest, program)
    } else {
      const lib = under(join(prefix, "lib", "machina"))
      yield* ensureDirectory(lib)
      const bundles = join(lib, installable.id)
      yield* report("bundles", bundles, yield* installBundles(bundles, installable.files()))
      const previous = loaderId(yield* Effect.promise(() => readFile(dest, "latin1").then((t) => t as string | undefined, () => undefined)))
      yield* report("binary", dest, yield* replaceFile(dest, installable.loader(), 0o755))
      // Older builds' directories: none of this loader's, nor of the one it replaced.
      const entries = yield* attempt(lib, () => readdir(lib))
      for (const entry of entries.filter((e) => ID.test(e) && e !== installable.id && e !== previous).sort()) {
        yield* attempt(join(lib, entry), () => rm(join(lib, entry), { recursive: true, force: true }))
        yield* report("bundles", join(lib, entry), "removed")
      }
    }
    for (const link of ["machina-ifup", "machina-ifdown"]) {
      yield* report("link", join(bin, link), yield* ensureSymlink(join(bin, link), "machina"))
    }
    // A staging root is a tree for a package: every shell's directory is created there. On the
    // host, a shell whose share directory is absent is not installed: its completion is skipped.
    const staging = resolve(root) !== "/"
    for (const { dir, file, shell } of COMPLETIONS) {
      const completionDir = under(dir)
      if (staging || (yield* exists(dirname(completionDir)))) {
        yield* ensureDirectory(completionDir)
        const text = script(shell, join(prefix, "bin", "machina"))
        yield* report("completion", join(completionDir, file), yield* replaceFile(join(completionDir, file), text, 0o644))
      } else {
        yield* Console.log(`completion ${join(completionDir, file)}: skipped (${dirname(completionDir)} does not exist: ${shell === "bash" ? "bash-completion" : shell} is not installed)`)
      }
    }
    for (const dir of [under(CONF_DIR), under(join(CONF_DIR, MACHINE_DIR))]) {
      yield* report("directory", dir, yield* ensureDirectory(dir))
    }
    const installedBin = join(prefix, "bin")
    if (installedBin !== BIN_DIR) {
      // Units name the machina that generated them (programs/Installation.ts).
      yield* Console.log(
        `note: units generated by ${join(installedBin, "machina")} run it and ${join(installedBin, "machina-ifup")}/-ifdown by these paths; ` +
          `regenerate units written by another machina: ${join(installedBin, "machina")} generate <machines>`
      )
    }
  })

export const command = Command.make("install", { prefix, root }, handler).pipe(
  Command.withDescription("Installs the machina command in the system path.")
)

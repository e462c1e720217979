/**
 * The editing session of `machina edit` (loaded only by that command: it needs child_process):
 * `$VISUAL`/`$EDITOR` on a copy of the machine file; the copy replaces the file (atomically) only
 * when it validates; otherwise the problems are shown and, on a terminal, the editor re-opens on
 * the copy (at most MAX_ROUNDS times).
 */
import { spawn } from "node:child_process"
import { copyFile, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"

export const MAX_ROUNDS = 10

/** The editor's argv: `$VISUAL`, else `$EDITOR`, else `vi`, split on blanks (never a shell). */
export const editorArgv = (env: NodeJS.ProcessEnv): ReadonlyArray<string> => {
  const words = (env["VISUAL"] ?? env["EDITOR"] ?? "").trim().split(/\s+/).filter((w) => w !== "")
  return words.length > 0 ? words : ["vi"]
}

export const runEditor = (argv: ReadonlyArray<string>, file: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, [...argv.slice(1), file], { stdio: "inherit" })
    child.once("error", reject)
    child.once("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)))
  })

export interface Session {
  readonly copy: string
  readonly read: () => Promise<string>
  /** Replaces `file` with the copy's text, atomically, keeping the file's mode. */
  readonly save: (text: string) => Promise<void>
  readonly close: () => Promise<void>
}

export const open = async (file: string): Promise<Session> => {
  const dir = await mkdtemp(join(tmpdir(), "machina-edit-"))
  const copy = join(dir, basename(file))
  await copyFile(file, copy)
  return {
    copy,
    read: () => readFile(copy, "utf8"),
    save: async (text) => {
      const mode = (await stat(file)).mode & 0o7777
      const temporary = `${file}.machina-edit.tmp`
      await writeFile(temporary, text, { mode, flag: "w" })
      await rename(temporary, file)
    },
    close: () => rm(dir, { recursive: true, force: true })
  }
}

/** `HostUsers` through `getent passwd <name>` (an argument array, no shell; bounded). */
import { execFile } from "node:child_process"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { HostGroupError, HostUserLookupError, HostUserNotFoundError, HostUsers, type HostUsersShape } from "../services/HostUsers.js"
import { traced } from "./Traced.js"

interface Output {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command (argument array, bounded); a non-zero exit is an Output, not a failure. */
const run = (command: string, args: ReadonlyArray<string>) =>
  Effect.async<Output, Error>((resume, signal) => {
    execFile(command, [...args], { signal, timeout: 10_000, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error === null) return resume(Effect.succeed({ code: 0, stdout, stderr }))
      const code = (error as { code?: unknown }).code
      resume(typeof code === "number" ? Effect.succeed({ code, stdout, stderr }) : Effect.fail(error))
    })
  })

/** getent exits 2 when the key is not found. */
const NOT_FOUND_EXIT = 2

export const make = (options: { readonly getent?: string; readonly groupadd?: string } = {}): Effect.Effect<HostUsersShape> =>
  Effect.sync(() => ({
    ensureGroup: traced("HostUsers.ensureGroup")(function*(name: string, gid: number) {
      const fail = (reason: string) => new HostGroupError({ group: name, gid, reason })
      if (name === "" || name.startsWith("-") || /[\s:/]/.test(name)) return yield* fail("invalid group name")
      const getent = options.getent ?? "getent"
      const byId = yield* Effect.mapError(run(getent, ["group", "--", String(gid)]), (e) => fail(e.message))
      if (byId.code === 0) return "present" as const
      const byName = yield* Effect.mapError(run(getent, ["group", "--", name]), (e) => fail(e.message))
      if (byName.code === 0) return yield* fail(`a group of that name exists with id ${byName.stdout.split(":")[2]}`)
      const added = yield* Effect.mapError(run(options.groupadd ?? "groupadd", ["--system", "--gid", String(gid), "--", name]), (e) => fail(e.message))
      if (added.code !== 0) return yield* fail(`groupadd exited ${added.code}: ${added.stderr.trim()}`)
      return "created" as const
    }),
    lookup: traced("HostUsers.lookup")(function*(name: string) {
      // A leading "-" would be an option; getent would also accept a numeric uid: refuse both.
      if (name === "" || name.startsWith("-") || /^\d+$/.test(name) || /[\s:/]/.test(name)) {
        return yield* new HostUserNotFoundError({ user: name })
      }
      const line = yield* Effect.async<string, HostUserNotFoundError | HostUserLookupError>((resume, signal) => {
        execFile(options.getent ?? "getent", ["passwd", "--", name], { signal, timeout: 10_000, encoding: "utf8" }, (error, stdout) => {
          if (error === null) return resume(Effect.succeed(stdout))
          const code = (error as { code?: unknown }).code
          resume(
            code === NOT_FOUND_EXIT
              ? Effect.fail(new HostUserNotFoundError({ user: name }))
              : Effect.fail(new HostUserLookupError({ user: name, reason: error.message }))
          )
        })
      })
      const fields = line.trim().split("\n")[0]!.split(":")
      const uid = Number(fields[2])
      const gid = Number(fields[3])
      if (fields[0] !== name || !Number.isInteger(uid) || !Number.isInteger(gid)) {
        return yield* new HostUserLookupError({ user: name, reason: `unexpected getent output ${JSON.stringify(line.trim())}` })
      }
      return { name, uid, gid }
    })
  }))

export const layer = (options: { readonly getent?: string } = {}): Layer.Layer<HostUsers> => Layer.effect(HostUsers, make(options))

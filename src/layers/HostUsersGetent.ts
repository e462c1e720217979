/** `HostUsers` through `getent passwd <name>` (an argument array, no shell; bounded). */
import { execFile } from "node:child_process"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { HostUserLookupError, HostUserNotFoundError, HostUsers, type HostUsersShape } from "../services/HostUsers.js"

/** getent exits 2 when the key is not found. */
const NOT_FOUND_EXIT = 2

export const make = (options: { readonly getent?: string } = {}): Effect.Effect<HostUsersShape> =>
  Effect.sync(() => ({
    lookup: Effect.fn("HostUsers.lookup")(function*(name: string) {
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

/** `HostUsers` from a fixed table (offline simulation, tests). */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type HostUser, HostGroupError, HostUserNotFoundError, HostUsers, type HostUsersShape } from "../services/HostUsers.js"

/** `groups` (name → id) is the simulated group database; ensureGroup adds to it. */
export const make = (users: ReadonlyArray<HostUser>, groups: Map<string, number> = new Map()): HostUsersShape => ({
  ensureGroup: (name, gid) =>
    Effect.suspend(() => {
      if ([...groups.values()].includes(gid)) return Effect.succeed("present" as const)
      const other = groups.get(name)
      if (other !== undefined) return Effect.fail(new HostGroupError({ group: name, gid, reason: `a group of that name exists with id ${other}` }))
      groups.set(name, gid)
      return Effect.succeed("created" as const)
    }),
  lookup: (name) => {
    const user = users.find((u) => u.name === name)
    return user === undefined ? Effect.fail(new HostUserNotFoundError({ user: name })) : Effect.succeed(user)
  }
})

export const layer = (users: ReadonlyArray<HostUser>, groups?: Map<string, number>): Layer.Layer<HostUsers> =>
  Layer.succeed(HostUsers, make(users, groups))

/** `HostUsers` from a fixed table (offline simulation, tests). */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type HostUser, HostUserNotFoundError, HostUsers, type HostUsersShape } from "../services/HostUsers.js"

export const make = (users: ReadonlyArray<HostUser>): HostUsersShape => ({
  lookup: (name) => {
    const user = users.find((u) => u.name === name)
    return user === undefined ? Effect.fail(new HostUserNotFoundError({ user: name })) : Effect.succeed(user)
  }
})

export const layer = (users: ReadonlyArray<HostUser>): Layer.Layer<HostUsers> => Layer.succeed(HostUsers, make(users))

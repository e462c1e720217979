/** HostUsersGetent against this host's real user database (read only). */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HostUsersGetent from "../../src/layers/HostUsersGetent.js"

describe("HostUsersGetent", () => {
  it.effect("looks up users by name through getent", () =>
    Effect.gen(function*() {
      const users = yield* HostUsersGetent.make()
      expect(yield* users.lookup("root")).toEqual({ name: "root", uid: 0, gid: 0 })
      const missing = yield* Effect.flip(users.lookup("machina-no-such-user"))
      expect(missing._tag).toBe("HostUserNotFoundError")
      expect(missing.message).toContain(`user "machina-no-such-user" does not exist on this host`)
      // Numeric ids and option-like names are not user names.
      expect((yield* Effect.flip(users.lookup("0")))._tag).toBe("HostUserNotFoundError")
      expect((yield* Effect.flip(users.lookup("--help")))._tag).toBe("HostUserNotFoundError")
    }))

  it.effect("finds an existing group id without adding anything", () =>
    Effect.gen(function*() {
      const users = yield* HostUsersGetent.make({ groupadd: "/bin/false" })
      expect(yield* users.ensureGroup("machina-unused-name", 0)).toBe("present")
      // groupadd would be needed (and fails here): reported, not thrown.
      const failed = yield* Effect.flip(users.ensureGroup("machina-unused-name", 4_000_000_001))
      expect(failed.message).toContain("groupadd exited 1")
    }))
})

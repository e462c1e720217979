import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as ProcessesNode from "../../src/layers/ProcessesNode.js"

describe("ProcessesNode", () => {
  it.live("runs a command in the foreground and returns its exit status", () =>
    Effect.gen(function*() {
      const exit = yield* ProcessesNode.make.runForeground("/bin/sh", ["-c", "exit 3"])
      expect(exit).toEqual({ code: 3, signal: null })
    }))

  it.live("fails with ProcessSpawnError naming a command that cannot start", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(ProcessesNode.make.runForeground("/nonexistent/machina-test-command", []))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("ProcessSpawnError")
        expect(result.left.message).toContain("/nonexistent/machina-test-command")
      }
    }))

  it.live("stops the command when interrupted, and finds it by argument while it runs", () =>
    Effect.gen(function*() {
      const marker = `machina-processes-test-${process.pid}-${Date.now()}`
      const fiber = yield* Effect.fork(ProcessesNode.make.runForeground("/bin/sh", ["-c", `sleep 30 & child=$!; trap "kill $child; exit 143" TERM; wait; : ${marker}`]))
      let pids: ReadonlyArray<number> = []
      for (let i = 0; i < 100 && pids.length === 0; i++) {
        yield* Effect.sleep(20)
        pids = yield* ProcessesNode.make.withArgument(marker)
      }
      expect(pids.length).toBe(1)
      yield* Fiber.interrupt(fiber).pipe(Effect.timeout("5 seconds"))
      expect(yield* ProcessesNode.make.withArgument(marker)).toEqual([])
    }), 15_000)
})

import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { KNOWN_REVISIONS, LATEST_REVISION, resolveRevision } from "../../../src/domain/qemu/HardwareRevision.js"

describe("hardware revisions", () => {
  it("known revisions, oldest first; the latest is the default", () => {
    assert.deepStrictEqual(KNOWN_REVISIONS.map((r) => r.name), ["2023.04", "2024.12"])
    assert.strictEqual(LATEST_REVISION, "2024.12")
    assert.strictEqual(Either.getOrThrow(resolveRevision("")).name, "2024.12")
    assert.strictEqual(Either.getOrThrow(resolveRevision("2023.04")).name, "2023.04")
  })

  it("an unknown revision lists the known ones", () => {
    const r = resolveRevision("2022.01")
    assert.isTrue(Either.isLeft(r))
    if (Either.isLeft(r)) {
      assert.strictEqual(r.left.message, `hardware revision "2022.01" is not known (known revisions: 2023.04, 2024.12)`)
    }
  })

  it("2023.04: no pvpanic, four underscore flags whatever the brand", () => {
    const r = Either.getOrThrow(resolveRevision("2023.04"))
    assert.isFalse(r.pvpanic)
    for (const brand of ["AMD", "Intel", "other"] as const) {
      assert.deepStrictEqual(r.hypervFlags(brand), ["hv_relaxed", "hv_spinlocks=0x1fff", "hv_vapic", "hv_time"])
    }
  })

  it("2024.12: pvpanic, 17 flags plus hv-avic=on (AMD) or hv-evmcs (Intel)", () => {
    const r = Either.getOrThrow(resolveRevision("2024.12"))
    assert.isTrue(r.pvpanic)
    assert.strictEqual(r.hypervFlags("other").length, 17)
    assert.strictEqual(r.hypervFlags("AMD").at(-1), "hv-avic=on")
    assert.strictEqual(r.hypervFlags("Intel").at(-1), "hv-evmcs")
    assert.strictEqual(r.hypervFlags("other").at(-1), "hv-tlbflush-direct")
  })
})

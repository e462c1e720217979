import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { DEFAULT_REVISION, KNOWN_REVISIONS, LATEST_REVISION, newestQ35, resolveRevision } from "../../../src/domain/qemu/HardwareRevision.js"

describe("hardware revisions", () => {
  it("known revisions, oldest first; 2024.12 stays the default, 2026.12 is opt-in", () => {
    assert.deepStrictEqual(KNOWN_REVISIONS.map((r) => r.name), ["2023.04", "2024.12", "2026.12"])
    assert.strictEqual(DEFAULT_REVISION, "2024.12")
    assert.strictEqual(LATEST_REVISION, "2026.12")
    assert.strictEqual(Either.getOrThrow(resolveRevision("")).name, "2024.12")
    assert.strictEqual(Either.getOrThrow(resolveRevision("2023.04")).name, "2023.04")
  })

  it("an unknown revision lists the known ones", () => {
    const r = resolveRevision("2022.01")
    assert.isTrue(Either.isLeft(r))
    if (Either.isLeft(r)) {
      assert.strictEqual(r.left.message, `hardware revision "2022.01" is not known (known revisions: 2023.04, 2024.12, 2026.12)`)
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

  it("2026.12: 2024.12's devices and flags, the stable layout and a pinned machine type", () => {
    const r = Either.getOrThrow(resolveRevision("2026.12"))
    const old = Either.getOrThrow(resolveRevision("2024.12"))
    assert.isTrue(r.pvpanic)
    for (const brand of ["AMD", "Intel", "other"] as const) assert.deepStrictEqual(r.hypervFlags(brand), old.hypervFlags(brand))
    assert.strictEqual(r.layout, "stable")
    assert.isTrue(r.pinsMachineType)
    assert.strictEqual(old.layout, "sequential")
    assert.isFalse(old.pinsMachineType)
  })

  it("newestQ35 picks the highest versioned q35 type from -machine help", () => {
    const help = [
      "Supported machines are:",
      "q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)",
      "pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)",
      "pc-q35-10.0          Standard PC (Q35 + ICH9, 2009)",
      "pc-q35-9.2           Standard PC (Q35 + ICH9, 2009)",
      "pc-i440fx-10.1       Standard PC (i440FX + PIIX, 1996)"
    ].join("\n")
    assert.strictEqual(newestQ35(help), "pc-q35-10.0")
    assert.isUndefined(newestQ35("pc-i440fx-7.2  x\n"))
  })
})

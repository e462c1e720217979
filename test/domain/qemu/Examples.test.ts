/**
 * The worked examples of qemu.md, byte for byte: §8.2 (the seed at the current revision),
 * §10.1, §10.2 (with the TPM backend fixed to `emulator`) and the seed page's unit through the
 * pinned revision 2023.04.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  EXAMPLE_10_2_HOST,
  EXAMPLE_10_2_MACHINE,
  EXPECTED_10_1,
  EXPECTED_10_2,
  MINIMAL_HOST,
  MINIMAL_MACHINE
} from "../../support/QemuExamples.js"
import { argsOf, execStartArgs, FIXTURES, generateFromText, readFixture } from "../../support/QemuFixtures.js"

describe("qemu.md worked examples", () => {
  it("§8.2: the seed at the current revision equals fixtures/seed-example/expected/args.txt", () => {
    const folder = path.join(FIXTURES, "seed-example")
    const c = readFixture(folder, "test-vm")
    const expected = fs.readFileSync(path.join(folder, "expected/args.txt"), "utf8")
    assert.strictEqual(argsOf(generateFromText(c.hostJson, c.machineJson, c.name)), expected)
  })

  it("the seed's args are the ExecStart options of its generate --preview unit", () => {
    const folder = path.join(FIXTURES, "seed-example")
    const c = readFixture(folder, "test-vm")
    const unit = fs.readFileSync(path.join(folder, "expected/generate-preview.unit"), "utf8")
    assert.strictEqual(argsOf(generateFromText(c.hostJson, c.machineJson, c.name)), execStartArgs(unit))
  })

  it("revision 2023.04 reproduces the seed page's unit (ExecStart options byte for byte)", () => {
    const folder = path.join(FIXTURES, "seed-page-2023.04")
    const c = readFixture(folder, "test-vm")
    const unit = fs.readFileSync(path.join(folder, "expected/generate-preview.unit"), "utf8")
    assert.strictEqual(argsOf(generateFromText(c.hostJson, c.machineJson, c.name)), execStartArgs(unit))
  })

  it("§10.1: minimal machine", () => {
    assert.strictEqual(argsOf(generateFromText(MINIMAL_HOST, MINIMAL_MACHINE, "alpha")), EXPECTED_10_1)
  })

  it("§10.2: processor, TPM, custom QMP socket, two displays, raw-block, iso-usb, 9th slot (tpmdev emulator)", () => {
    assert.strictEqual(argsOf(generateFromText(EXAMPLE_10_2_HOST, EXAMPLE_10_2_MACHINE, "alpha")), EXPECTED_10_2)
  })
})

import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { leafDevice, MAX_ADDRESSED_ENTRIES, renderAddress, rootBusPlacement, slotOf, Topology, walkDevices } from "../../../src/domain/qemu/Topology.js"
import { renderParameters } from "../../../src/domain/qemu/Options.js"

describe("PCIe topology (qemu.md §7.1)", () => {
  it("index i sits at slot floor(i/8)+1, function i%8", () => {
    assert.deepStrictEqual(slotOf(0), { index: 0, slot: 1, fn: 0 })
    assert.deepStrictEqual(slotOf(7), { index: 7, slot: 1, fn: 7 })
    assert.deepStrictEqual(slotOf(8), { index: 8, slot: 2, fn: 0 })
    assert.deepStrictEqual(slotOf(79), { index: 79, slot: 10, fn: 7 })
  })

  it("addr renders the slot in hex, as QEMU parses it (§11.7 fixed; identical for slots 1-9)", () => {
    assert.strictEqual(renderAddress(slotOf(8 * 8 + 3)), "9.3")
    assert.strictEqual(renderAddress(slotOf(9 * 8)), "a.0")
    assert.strictEqual(renderAddress(slotOf(29 * 8 + 7)), "1e.7")
  })

  it("function 0 announces multifunction", () => {
    assert.strictEqual(renderParameters(rootBusPlacement(slotOf(8))), "bus=pcie.0,addr=2.0,multifunction=on")
    assert.strictEqual(renderParameters(rootBusPlacement(slotOf(9))), "bus=pcie.0,addr=2.1")
  })

  it("root ports: id pcie.<slot>.<fn> (decimal slot), chassis = index, downstream device follows", () => {
    const t = new Topology()
    for (let i = 0; i < 80; i++) t.addRootPort((bus) => leafDevice("virtio-net-pci", [{ name: "bus", value: bus }]))
    const lines = walkDevices(t.devices()).map(renderParameters)
    assert.strictEqual(lines[0], "ioh3420,id=pcie.1.0,chassis=0,bus=pcie.0,addr=1.0,multifunction=on")
    assert.strictEqual(lines[1], "virtio-net-pci,bus=pcie.1.0")
    assert.strictEqual(lines[2 * 72], "ioh3420,id=pcie.10.0,chassis=72,bus=pcie.0,addr=a.0,multifunction=on")
    assert.strictEqual(lines[2 * 79], "ioh3420,id=pcie.10.7,chassis=79,bus=pcie.0,addr=a.7")
  })

  it("a full root complex is an error value, never an exception; entries without address still fit", () => {
    const t = new Topology()
    for (let i = 0; i < MAX_ADDRESSED_ENTRIES; i++) {
      assert.isTrue(Either.isRight(t.addRootPort(() => leafDevice("x", []))))
    }
    const full = t.addRootPort(() => leafDevice("x", []))
    assert.isTrue(Either.isLeft(full))
    if (Either.isLeft(full)) {
      assert.match(full.left.message, /^the PCI Express root complex is full and cannot accommodate more devices/)
    }
    assert.isTrue(Either.isLeft(t.addOnRootBus(() => leafDevice("x", []))))
    assert.strictEqual(t.addWithoutAddress(leafDevice("tpm-tis", [])), MAX_ADDRESSED_ENTRIES)
  })

  it("the last usable address is 1e.7 (slot 0x1f holds q35's ICH9 functions)", () => {
    const t = new Topology()
    let last = ""
    for (let i = 0; i < MAX_ADDRESSED_ENTRIES; i++) {
      Either.map(t.addOnRootBus((s) => leafDevice("x", rootBusPlacement(s))), (s) => (last = renderAddress(s)))
    }
    assert.strictEqual(last, "1e.7")
  })
})

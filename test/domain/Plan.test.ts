/**
 * The plan module: line diffs, reading options back from a unit, guest-visible changes.
 */
import { assert, describe, it } from "@effect/vitest"
import * as path from "node:path"
import {
  guestHardware,
  guestVisibleChanges,
  hasChanges,
  optionsFromUnit,
  planMachine,
  planSummaryLine,
  renderDiff,
  unitDiff
} from "../../src/domain/Plan.js"
import { renderMachineUnit } from "../../src/domain/Unit.js"
import { FIXTURES, generateFromText, optionsOf, readFixture } from "../support/QemuFixtures.js"

const seed = readFixture(path.join(FIXTURES, "seed-example"), "test-vm")
const seedOptions = optionsOf(generateFromText(seed.hostJson, seed.machineJson, seed.name))
const seedUnit = renderMachineUnit({ name: "test-vm", options: seedOptions })

/** The seed host with the `vdi-cad` tag's volume list extended by a raw-block disk. */
const editedHost = (): string => {
  const host = JSON.parse(seed.hostJson)
  host.storage["fast"] = { path: "/srv/block", pattern: "${volume}.raw", type: "raw" }
  host.tag["vdi-cad"].volumes.push({ name: "scratch", storage: "fast" })
  host.storage["blk"] = { path: "/srv/block", pattern: "${volume}.raw", type: "raw-block" }
  host.tag["vdi-cad"].volumes.push({ name: "data", storage: "blk" })
  return JSON.stringify(host)
}

describe("unitDiff", () => {
  it("same text: only kept lines, nothing to render", () => {
    const d = unitDiff(seedUnit, seedUnit)
    assert.isFalse(hasChanges(d))
    assert.strictEqual(renderDiff(d), "")
    assert.strictEqual(d.length, seedUnit.split("\n").length - 1)
  })

  it("no file before: every line added", () => {
    const d = unitDiff(undefined, "a\nb\n")
    assert.deepStrictEqual(d, [{ op: "+", text: "a" }, { op: "+", text: "b" }])
    assert.strictEqual(renderDiff(d), "@@ -0,0 +1,2 @@\n+a\n+b\n")
  })

  it("a changed line in the middle: removal then addition, with context and line numbers", () => {
    const before = ["1", "2", "3", "4", "5", "6", "7", "8", "9"].join("\n") + "\n"
    const after = ["1", "2", "3", "4", "five", "6", "7", "8", "9"].join("\n") + "\n"
    assert.strictEqual(renderDiff(unitDiff(before, after)), "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n")
  })

  it("rebuilds both texts from the diff", () => {
    const before = "a\nb\nc\nd\ne\n"
    const after = "a\nx\nc\ne\nf\n"
    const d = unitDiff(before, after)
    assert.strictEqual(d.filter((l) => l.op !== "+").map((l) => l.text + "\n").join(""), before)
    assert.strictEqual(d.filter((l) => l.op !== "-").map((l) => l.text + "\n").join(""), after)
  })
})

describe("optionsFromUnit", () => {
  it("reads back exactly the options generate wrote (seed example)", () => {
    assert.deepStrictEqual(optionsFromUnit(seedUnit), seedOptions)
  })

  it("undoes the quoting of awkward values", () => {
    const options = [{ type: "name", params: "a b\"c%d$e\\f\ng" }, { type: "nodefaults", params: "" }, { type: "x", params: "50%" }]
    assert.deepStrictEqual(optionsFromUnit(renderMachineUnit({ name: "vm", options })), options)
  })

  it("undefined for a unit not written by machina", () => {
    assert.isUndefined(optionsFromUnit("[Service]\nExecStart=/bin/true\n"))
  })
})

describe("guestVisibleChanges", () => {
  it("nothing between a VM and itself", () => {
    assert.deepStrictEqual(guestVisibleChanges(seedOptions, seedOptions), [])
  })

  it("the seed's devices and their addresses", () => {
    const hw = guestHardware(seedOptions)
    const byKey = new Map(hw.devices.map((d) => [d.key, d]))
    assert.strictEqual(byKey.get("nic test-vm.0")?.address, "pci 00:01.6")
    assert.strictEqual(byKey.get("nic test-vm.0")?.properties["mac"], "52:54:00:26:77:fa")
    assert.strictEqual(byKey.get("disk test-vm-os")?.address, "pci 00:01.4 scsi 0:0:0")
    assert.strictEqual(byKey.get("disk test-vm-os")?.properties["serial"], "9IQ4PUV68QOCNS2C75OKUS04I4")
    assert.strictEqual(byKey.get("disk virtio-win-latest")?.address, "sata ide.1")
    assert.strictEqual(byKey.get("usb tablet")?.address, "pci 00:01.3 usb port 1")
    assert.strictEqual(hw.machineType, "q35")
    assert.strictEqual(hw.firmwareCode, "/usr/lib/machina/firmware/ovmf-stable202302.code.bin")
    assert.strictEqual(hw.uuid, "8b18191a-234f-45ce-b43c-b46e28cd2f70")
  })

  it("editing a tag: the appended disk is added and the NIC and vGPU behind it move", () => {
    const after = optionsOf(generateFromText(editedHost(), seed.machineJson, seed.name))
    const changes = guestVisibleChanges(seedOptions, after)
    const texts = changes.map((c) => c.text)
    assert.include(texts, "nic test-vm.0 moved from pci 00:01.6 to pci 00:01.7")
    assert.include(texts, "mediated device /sys/bus/mdev/devices/3e2cee4d-1002-4989-af98-3e03b8ad3197 moved from pci 00:01.7 to pci 00:02.0")
    assert.isTrue(changes.some((c) => c.kind === "device-added" && c.subject === "disk test-vm-data"))
    assert.isTrue(changes.some((c) => c.kind === "device-added" && c.subject === "disk test-vm-scratch"))
    assert.isFalse(changes.some((c) => c.subject === "disk test-vm-os"), "the existing disk stays")
  })

  it("enabling the serial console adds one ISA serial port and moves nothing", () => {
    const machine = JSON.parse(seed.machineJson)
    machine.attrs = { ...machine.attrs, console: { enabled: true } }
    const after = optionsOf(generateFromText(seed.hostJson, JSON.stringify(machine), seed.name))
    const changes = guestVisibleChanges(seedOptions, after)
    assert.deepStrictEqual(changes.map((c) => c.text), ["isa-serial console.0 added: isa-serial isa com1"])
    assert.strictEqual(changes[0]!.kind, "device-added")
  })

  it("machine-wide settings: UUID, CPU flags, memory", () => {
    const machine = JSON.parse(seed.machineJson)
    machine.id = "00000000-0000-4000-8000-000000000001"
    machine.attrs = { enlightenments: { enabled: false }, memory: { ram: 16384 } }
    const after = optionsOf(generateFromText(seed.hostJson, JSON.stringify(machine), seed.name))
    const kinds = guestVisibleChanges(seedOptions, after).map((c) => c.kind)
    assert.includeMembers(kinds, ["uuid", "memory"])
  })
})

describe("planMachine", () => {
  it("created, unchanged, changed, orphaned", () => {
    const unit = "machina-test-vm.service"
    const created = planMachine({ machine: "test-vm", unit, current: undefined, next: seedUnit })
    assert.strictEqual(created.status, "created")
    assert.strictEqual(planSummaryLine(created), "machina-test-vm.service: created")
    const same = planMachine({ machine: "test-vm", unit, current: seedUnit, next: seedUnit })
    assert.strictEqual(same.status, "unchanged")
    assert.deepStrictEqual(same.guestChanges, [])
    const afterOptions = optionsOf(generateFromText(editedHost(), seed.machineJson, seed.name))
    const changed = planMachine({ machine: "test-vm", unit, current: seedUnit, next: renderMachineUnit({ name: "test-vm", options: afterOptions }) })
    assert.strictEqual(changed.status, "changed")
    assert.match(planSummaryLine(changed), /^machina-test-vm\.service: changed \(\d+ guest-visible changes\)$/)
    const orphaned = planMachine({ machine: "test-vm", unit, current: seedUnit, next: undefined })
    assert.strictEqual(orphaned.status, "orphaned")
    assert.isTrue(orphaned.diff.every((l) => l.op === "-"))
    assert.doesNotThrow(() => JSON.stringify(changed))
  })
})

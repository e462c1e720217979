/**
 * Properties of the generated PCIe topology over random valid machines (the Proxmox-style
 * "no address conflicts" check, for every configuration rather than a fixed map).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import { renderArgs, toArgv } from "../../src/domain/qemu/Options.js"
import {
  ARBITRARY_HOST,
  deviceAddress,
  deviceKey,
  machineArb,
  type MachineSpec,
  optionValues,
  type ParsedDevice,
  parseDevices,
  VOLUME_POOLS
} from "../support/MachineArbitrary.js"
import { generateFromJson } from "../support/QemuFixtures.js"

const generateArgv = (m: MachineSpec): ReadonlyArray<string> => {
  const result = generateFromJson(ARBITRARY_HOST, m.json, m.name)
  if (Either.isLeft(result)) throw new Error(`generation failed for ${JSON.stringify(m.json)}:\n${result.left.message}`)
  return toArgv(result.right)
}

const duplicates = (values: ReadonlyArray<string>): ReadonlyArray<string> =>
  values.filter((v, i) => values.indexOf(v) !== i)

const AHCI_BUSES = new Set(["ide.0", "ide.1", "ide.2", "ide.3", "ide.4", "ide.5"])

/** Checks every structural invariant of one generated device list. */
const checkTopology = (argv: ReadonlyArray<string>): void => {
  const devices = parseDevices(argv)
  const buses = new Set<string>(["pcie.0", ...AHCI_BUSES])
  const rootPorts = new Set<string>()
  const occupied = new Map<string, string>()
  const perRootPort = new Map<string, number>()
  for (const d of devices) {
    const bus = d.params.get("bus")
    if (bus !== undefined) {
      assert.isTrue(buses.has(bus), `bus ${bus} is defined before ${d.line}`)
      const position = d.driver === "ioh3420" || bus === "pcie.0"
        ? `${bus}@${d.params.get("addr")}`
        : bus.startsWith("ide.")
        ? bus
        : rootPorts.has(bus)
        ? bus
        : `${bus}@port=${d.params.get("port") ?? ""},lun=${d.params.get("lun") ?? ""},nr=${d.params.get("nr") ?? ""}`
      assert.isUndefined(occupied.get(position), `${d.line} and ${occupied.get(position)} share ${position}`)
      occupied.set(position, d.line)
      if (rootPorts.has(bus)) perRootPort.set(bus, (perRootPort.get(bus) ?? 0) + 1)
      if (bus === "pcie.0") {
        const [slot, fn] = d.params.get("addr")!.split(".")
        assert.match(slot!, /^[1-9a-e]$|^1[0-9a-e]$/, `slot of ${d.line}`)
        assert.match(fn!, /^[0-7]$/)
        assert.strictEqual(d.params.get("multifunction") === "on", fn === "0", `multifunction iff function 0: ${d.line}`)
      }
    } else {
      assert.include(["tpm-tis", "isa-serial"], d.driver, `only the TPM and the serial console (ISA) have no bus: ${d.line}`)
    }
    const id = d.params.get("id")
    if (d.driver === "ioh3420") {
      rootPorts.add(id!)
      buses.add(id!)
      const [s, f] = d.params.get("addr")!.split(".")
      assert.strictEqual(id, `pcie.${parseInt(s!, 16)}.${f}`, "root port id names its address")
    }
    if (d.driver === "virtio-serial-pci") buses.add("serial.0")
    if (d.driver === "qemu-xhci") buses.add("usb.0")
    if (d.driver === "virtio-scsi-pci") buses.add("scsi.0")
  }
  for (const [port, count] of perRootPort) assert.strictEqual(count, 1, `one device behind ${port}`)
  for (const port of rootPorts) assert.isTrue(perRootPort.has(port), `root port ${port} carries a device`)
  const ids = devices.flatMap((d) => (d.params.has("id") ? [d.params.get("id")!] : []))
  assert.deepStrictEqual(duplicates(ids), [], "ids are unique")
  const chassis = devices.filter((d) => d.driver === "ioh3420").map((d) => d.params.get("chassis")!)
  assert.deepStrictEqual(duplicates(chassis), [], "chassis numbers are unique")
  const boot = devices.flatMap((d) => (d.params.has("bootindex") ? [d.params.get("bootindex")!] : []))
  assert.deepStrictEqual(duplicates(boot), [], "boot indexes are unique")
  assert.deepStrictEqual(duplicates(optionValues(argv, "blockdev", "node-name")), [], "node names are unique")
  assert.deepStrictEqual(duplicates(optionValues(argv, "chardev", "id")), [], "chardev ids are unique")
  // every drive refers to an existing node; every chardev reference exists
  const nodes = new Set(optionValues(argv, "blockdev", "node-name"))
  const chardevs = new Set(optionValues(argv, "chardev", "id"))
  for (const d of devices) {
    if (d.params.has("drive")) assert.isTrue(nodes.has(d.params.get("drive")!), `drive of ${d.line}`)
    if (d.params.has("chardev")) assert.isTrue(chardevs.has(d.params.get("chardev")!), `chardev of ${d.line}`)
  }
}

/** Device key → address, for devices that have a stable key. */
const addressMap = (devices: ReadonlyArray<ParsedDevice>): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  for (const d of devices) {
    const key = deviceKey(d)
    if (key !== undefined) out.set(key, deviceAddress(d))
  }
  return out
}

/** The pipeline stage that created a device (qemu.md §1): attributes and volumes 0, connections 1, devices 2. */
const stageOf = (key: string): number => (key.startsWith("net:") ? 1 : key.startsWith("vfio-pci:") ? 2 : 0)

/**
 * Appending an item of a stage never moves a device of that stage or an earlier one. Devices of
 * later stages may shift (the pipeline numbers volumes before connections before devices), but
 * keep their relative order. With `stage` 2 (the last), nothing may move at all.
 */
const checkAppend = (before: ReadonlyArray<string>, after: ReadonlyArray<string>, stage: number): void => {
  const old = addressMap(parseDevices(before))
  const now = addressMap(parseDevices(after))
  const moved: Array<string> = []
  for (const [key, address] of old) {
    const current = now.get(key)
    assert.isDefined(current, `${key} still exists`)
    if (stageOf(key) <= stage) assert.strictEqual(current, address, `${key} did not move`)
    else if (current !== address) moved.push(key)
  }
  const order = (devices: ReadonlyArray<ParsedDevice>) =>
    devices.map(deviceKey).filter((k): k is string => k !== undefined && stageOf(k) > stage && old.has(k))
  assert.deepStrictEqual(order(parseDevices(after)), order(parseDevices(before)), "later devices keep their order")
}

/** Top-level topology entries (qemu.md §7): devices on pcie.0, SATA CDs and the TPM. */
const topLevelEntries = (argv: ReadonlyArray<string>): number =>
  parseDevices(argv).filter((d) => d.params.get("bus") === "pcie.0" || d.driver === "ide-cd" || d.driver === "tpm-tis").length

describe("PCIe topology properties", () => {
  it.prop("random valid machines: unique addresses, ids, chassis, node names, boot indexes", [machineArb()], ([m]) => {
    checkTopology(generateArgv(m))
  }, { fastCheck: { numRuns: 300 } })

  it.prop("bigger machines (many volumes, connections, devices) stay consistent", [
    machineArb({ maxVolumes: 60, maxConnections: 40, maxDevices: 12 })
  ], ([m]) => {
    checkTopology(generateArgv(m))
  }, { fastCheck: { numRuns: 60 } })

  it.prop("same input, same bytes", [machineArb()], ([m]) => {
    const a = generateFromJson(ARBITRARY_HOST, m.json, m.name)
    const b = generateFromJson(ARBITRARY_HOST, structuredClone(m.json), m.name)
    assert.isTrue(Either.isRight(a) && Either.isRight(b))
    if (Either.isRight(a) && Either.isRight(b)) assert.strictEqual(renderArgs(a.right), renderArgs(b.right))
  }, { fastCheck: { numRuns: 100 } })

  it.prop("appending a volume, connection or device never moves a device of its stage or an earlier one; nothing at all when it takes no new top-level entry", [
    machineArb({ maxVolumes: 10 }),
    fc.constantFrom("volume", "connection", "device"),
    fc.constantFrom(...VOLUME_POOLS),
    fc.constantFrom("lan", "wan"),
    fc.constantFrom("cad", "light")
  ], ([m, kind, pool, network, cls]) => {
    const json = m.json as { volumes: Array<unknown>; connections: Array<unknown>; devices: Array<unknown> }
    const extended = structuredClone(json)
    if (kind === "volume") extended.volumes.push({ name: "appended", storage: pool, bootable: true })
    if (kind === "connection") extended.connections.push({ name: "appended", network })
    if (kind === "device") extended.devices.push({ name: "appended", class: cls })
    const after = generateFromJson(ARBITRARY_HOST, extended, m.name)
    // an appended volume may exceed a controller's limit: then the error is the typed one
    if (Either.isLeft(after)) {
      assert.strictEqual(kind, "volume")
      assert.match(after.left.message, /\$\.volumes\[\d+\]: the (SCSI Controller|SATA controller|USB Controller) is full/)
      return
    }
    const before = generateArgv(m)
    const afterArgv = toArgv(after.right)
    // Nothing moves at all when the new item takes no new top-level entry (a volume joining an
    // existing SCSI or USB controller, a firmware-vars volume) or belongs to the last stage.
    const nothingMoves = kind === "device" || topLevelEntries(afterArgv) === topLevelEntries(before)
    checkAppend(before, afterArgv, nothingMoves ? 2 : kind === "volume" ? 0 : 1)
  }, { fastCheck: { numRuns: 300 } })

  it.prop("over-full controllers give the typed errors, never an exception", [
    machineArb({ maxVolumes: 80, fit: false })
  ], ([m]) => {
    const result = generateFromJson(ARBITRARY_HOST, m.json, m.name)
    if (Either.isRight(result)) return checkTopology(toArgv(result.right))
    for (const issue of result.left.issues) {
      assert.match(issue.toString(), /: \$\.volumes\[\d+\]: the (SCSI Controller|SATA controller|USB Controller) is full and cannot accommodate more devices/)
    }
  }, { fastCheck: { numRuns: 100 } })
})

/** Slots on pcie.0 whose function 0 is empty while another function is used (guests do not scan them). */
const slotsWithoutFunctionZero = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const used = new Map<string, Set<string>>()
  for (const d of parseDevices(argv)) {
    if (d.params.get("bus") !== "pcie.0") continue
    const [slot, fn] = d.params.get("addr")!.split(".")
    used.set(slot!, (used.get(slot!) ?? new Set()).add(fn!))
  }
  return [...used].filter(([, fns]) => !fns.has("0")).map(([slot]) => slot)
}

describe("stable addresses (hardware revision 2026.12)", () => {
  const stable = (o: { maxVolumes?: number; maxConnections?: number; maxDevices?: number } = {}) => machineArb({ ...o, revisions: ["2026.12"] })

  it.prop("random machines: the structural invariants hold and every used slot has a function 0", [stable()], ([m]) => {
    const argv = generateArgv(m)
    checkTopology(argv)
    assert.deepStrictEqual(slotsWithoutFunctionZero(argv), [])
    assert.include(argv.join(" "), "-machine type=pc-q35-7.2")
  }, { fastCheck: { numRuns: 300 } })

  it.prop("bigger machines stay consistent", [stable({ maxVolumes: 60, maxConnections: 40, maxDevices: 12 })], ([m]) => {
    const argv = generateArgv(m)
    checkTopology(argv)
    assert.deepStrictEqual(slotsWithoutFunctionZero(argv), [])
  }, { fastCheck: { numRuns: 60 } })

  it.prop("strong append: appending one or more volumes, connections and devices never moves any existing device", [
    stable({ maxVolumes: 10 }),
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant("volume" as const), pool: fc.constantFrom(...VOLUME_POOLS) }),
        fc.record({ kind: fc.constant("connection" as const), network: fc.constantFrom("lan", "wan") }),
        fc.record({ kind: fc.constant("device" as const), cls: fc.constantFrom("cad", "light") })
      ),
      { minLength: 1, maxLength: 4 }
    )
  ], ([m, appends]) => {
    const json = m.json as { volumes: Array<unknown>; connections: Array<unknown>; devices: Array<unknown> }
    const extended = structuredClone(json)
    appends.forEach((a, i) => {
      if (a.kind === "volume") extended.volumes.push({ name: `appended${i}`, storage: a.pool, bootable: true })
      if (a.kind === "connection") extended.connections.push({ name: `appended${i}`, network: a.network })
      if (a.kind === "device") extended.devices.push({ name: `appended${i}`, class: a.cls })
    })
    const after = generateFromJson(ARBITRARY_HOST, extended, m.name)
    if (Either.isLeft(after)) {
      assert.match(after.left.message, /\$\.volumes\[\d+\]: the (SCSI Controller|SATA controller|USB Controller) is full/)
      return
    }
    const before = generateArgv(m)
    const afterArgv = toArgv(after.right)
    checkAppend(before, afterArgv, 2)
    // Root ports keep their ids and chassis too (the guest's PCIe slot numbers).
    const ports = (argv: ReadonlyArray<string>) => parseDevices(argv).filter((d) => d.driver === "ioh3420").map((d) => d.line)
    for (const port of ports(before)) assert.include(ports(afterArgv), port)
  }, { fastCheck: { numRuns: 400 } })

  it("a full range is its own typed error", () => {
    const base = { id: "00000000-0000-0000-0000-000000000001", attrs: { memory: { ram: 64 }, hardware: { revision: "2026.12", "machine-type": "pc-q35-7.2" } } }
    const connections = Array.from({ length: 81 }, (_, i) => ({ name: `c${i}`, network: "lan" }))
    const r = generateFromJson(ARBITRARY_HOST, { ...base, connections }, "vm")
    assert.isTrue(Either.isLeft(r))
    if (Either.isLeft(r)) {
      assert.match(r.left.message, /\$\.connections\[80\]: the PCI Express root complex has no room left for connections \(at most 80 on slots 12 to 21 in the stable layout\)/)
    }
  })

  it("needs a versioned machine type", () => {
    const r = generateFromJson(ARBITRARY_HOST, { attrs: { memory: { ram: 64 }, hardware: { revision: "2026.12" } } }, "vm")
    assert.isTrue(Either.isLeft(r))
    if (Either.isLeft(r)) assert.match(r.left.message, /\$\.attrs\.hardware\.machine-type: hardware revision 2026\.12 pins the QEMU machine type/)
    const q = generateFromJson(ARBITRARY_HOST, { attrs: { memory: { ram: 64 }, hardware: { revision: "2026.12", "machine-type": "q35" } } }, "vm")
    assert.isTrue(Either.isLeft(q))
    if (Either.isLeft(q)) assert.match(q.left.message, /needs a versioned q35 machine type such as "pc-q35-7\.2", not "q35"/)
  })
})

describe("the property checkers themselves", () => {
  const argvOf = (lines: ReadonlyArray<string>) => lines.flatMap((l) => ["-device", l])

  it("reject two devices at one address, an unknown bus, a second device behind a root port", () => {
    assert.throws(() => checkTopology(argvOf(["pvpanic-pci,id=a,bus=pcie.0,addr=1.0,multifunction=on", "qxl-vga,id=b,bus=pcie.0,addr=1.0,multifunction=on"])))
    assert.throws(() => checkTopology(argvOf(["virtio-net-pci,bus=pcie.9.9,mac=x,netdev=n"])))
    assert.throws(() =>
      checkTopology(argvOf([
        "ioh3420,id=pcie.1.0,chassis=0,bus=pcie.0,addr=1.0,multifunction=on",
        "vfio-pci,id=vfio.0,bus=pcie.1.0,sysfsdev=/x",
        "vfio-pci,id=vfio.1,bus=pcie.1.0,sysfsdev=/y"
      ]))
    )
    assert.throws(() => checkTopology(argvOf(["ioh3420,id=pcie.10.0,chassis=0,bus=pcie.0,addr=10.0,multifunction=on", "x,bus=pcie.10.0"])))
  })

  it("detect that an appended volume shifts later connections (why the append property is per stage)", () => {
    const base = { id: "00000000-0000-0000-0000-000000000001", attrs: { memory: { ram: 64 } }, volumes: [], connections: [{ name: "0", network: "lan" }] }
    const before = generateArgv({ name: "vm", json: base })
    const after = generateArgv({ name: "vm", json: { ...base, volumes: [{ name: "b", storage: "block" }] } })
    assert.strictEqual(topLevelEntries(after), topLevelEntries(before) + 1)
    assert.throws(() => checkAppend(before, after, 1))
    checkAppend(before, after, 0)
  })

  it("see the strong property fail under 2024.12, and the TPM and a SATA CD leave slot 2 without its function 0 there (not under 2026.12)", () => {
    const base = { id: "00000000-0000-0000-0000-000000000001", attrs: { memory: { ram: 64 } }, volumes: [], connections: [{ name: "0", network: "lan" }] }
    const before = generateArgv({ name: "vm", json: base })
    const after = generateArgv({ name: "vm", json: { ...base, volumes: [{ name: "b", storage: "block" }] } })
    assert.throws(() => checkAppend(before, after, 2))
    // pvpanic, TPM (index 1), six raw-block disks, a SATA CD at index 8 = slot 2 function 0, the NIC at 2.1
    const volumes = [...Array.from({ length: 6 }, (_, i) => ({ name: `b${i}`, storage: "block" })), { name: "cd", storage: "ahci" }]
    const attrs = { memory: { ram: 64 }, tpm: { enabled: true } }
    const sequential = generateArgv({ name: "vm", json: { ...base, attrs, volumes } })
    assert.deepStrictEqual(slotsWithoutFunctionZero(sequential), ["2"])
    const stable = generateArgv({ name: "vm", json: { ...base, attrs: { ...attrs, hardware: { revision: "2026.12", "machine-type": "pc-q35-7.2" } }, volumes } })
    assert.deepStrictEqual(slotsWithoutFunctionZero(stable), [])
  })

  it("see a SCSI volume join the existing controller without a new entry, so nothing moves", () => {
    const base = {
      id: "00000000-0000-0000-0000-000000000001",
      attrs: { memory: { ram: 64 } },
      volumes: [{ name: "a", storage: "raw" }],
      connections: [{ name: "0", network: "lan" }]
    }
    const before = generateArgv({ name: "vm", json: base })
    const after = generateArgv({ name: "vm", json: { ...base, volumes: [...base.volumes, { name: "b", storage: "raw" }] } })
    assert.strictEqual(topLevelEntries(after), topLevelEntries(before))
    checkAppend(before, after, 2)
  })
})

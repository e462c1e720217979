/**
 * Real QEMU (7.2) accepts the generated command lines, and every PCI device sits where the
 * generator said (query-pci). See test/support/QemuAcceptance.ts for the host stand-ins.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { execFileSync } from "node:child_process"
import { newestQ35 } from "../../src/domain/qemu/HardwareRevision.js"
import { ARBITRARY_HOST, machineArb, PINNED_MACHINE_TYPE, VOLUME_POOLS } from "../support/MachineArbitrary.js"
import { acceptanceCheck, type AcceptanceResult } from "../support/QemuAcceptance.js"
import { EXAMPLE_10_2_HOST, EXAMPLE_10_2_MACHINE, MINIMAL_HOST, MINIMAL_MACHINE } from "../support/QemuExamples.js"
import { FIXTURES, readFixture } from "../support/QemuFixtures.js"

const TIMEOUT = 120_000

const fixtureCase = (folder: string) => {
  const c = readFixture(path.join(FIXTURES, folder), "test-vm")
  return () => acceptanceCheck(c.hostJson, c.machineJson, "test-vm.conf.json")
}

const ID = "00000000-0000-0000-0000-0000000000aa"

const STORAGE_HOST = {
  storage: {
    raw: { path: "/srv/raw", type: "raw" },
    rawscsi: { path: "/srv/raw", pattern: "${machine-name}-${volume}.img", type: "raw-scsi" },
    ro: { path: "/srv/ro", type: "raw", readonly: true },
    rorblock: { path: "/srv/ro", type: "raw-block", readonly: true },
    block: { path: "/srv/block", type: "raw-block" },
    ahci: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-ahci" },
    iscsi: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-scsi" },
    usb: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-usb" },
    fw: { path: "/srv/fw", pattern: "${volume}.fd", type: "firmware", readonly: true },
    vars: { path: "/srv/vars", pattern: "${machine-name}/${volume}.fd", type: "firmware" },
    boot: { path: "/srv/boot", pattern: "${volume}", type: "raw" }
  },
  network: { lan: { device: "br0" } },
  mdev: { gpu: { address: "0000:c1:00.0", types: { cad: "GRID RTX8000-6Q" } } }
}

const check = async (host: unknown, machine: unknown, name: string) => {
  const r = await acceptanceCheck(JSON.stringify(host), JSON.stringify(machine), `${name}.conf.json`)
  assert.isAbove(r.checkedPciDevices, 0)
  return r
}

describe("real QEMU accepts the generated options", () => {
  it("the seed (current revision)", async () => {
    const r = await fixtureCase("seed-example")()
    assert.include(r.substitutions, "device vfio.0 (vfio-pci) left out; its root port pcie.1.7 stays")
  }, TIMEOUT)

  it("the seed pinned to revision 2023.04", async () => {
    await fixtureCase("seed-page-2023.04")()
  }, TIMEOUT)

  it("qemu.md §10.1", async () => {
    await acceptanceCheck(MINIMAL_HOST, MINIMAL_MACHINE, "alpha.conf.json")
  }, TIMEOUT)

  it("qemu.md §10.2 (TPM through a real swtpm, tpmdev emulator)", async () => {
    const r = await acceptanceCheck(EXAMPLE_10_2_HOST, EXAMPLE_10_2_MACHINE, "alpha.conf.json")
    assert.isTrue(r.argv.includes("emulator,id=tpm.0,chardev=tpm.0.socket"))
  }, TIMEOUT)

  it("every storage type, read-only pools, firmware, kernel boot", async () => {
    await check(STORAGE_HOST, {
      id: ID,
      attrs: {
        memory: { ram: 256 },
        firmware: { code: { name: "ovmf", storage: "fw" }, vars: { name: "nv", storage: "vars" } },
        boot: { kernel: { name: "vmlinuz", storage: "boot" }, initrd: { name: "initrd", storage: "boot" }, append: "console=ttyS0 quiet" },
        qmp: { enabled: true }
      },
      volumes: [
        { name: "os", storage: "raw", bootable: true },
        { name: "data", storage: "rawscsi" },
        { name: "ro", storage: "ro" },
        { name: "blk", storage: "block", bootable: true },
        { name: "roblk", storage: "rorblock" },
        { name: "cd", storage: "ahci" },
        { name: "inst", storage: "iscsi" },
        { name: "stick", storage: "usb" },
        { name: "extra", storage: "vars" }
      ],
      connections: [{ name: "0", network: "lan" }],
      devices: [{ name: "g", class: "cad" }]
    }, "stor")
  }, TIMEOUT)

  it("six AHCI CD drives on distinct ports (ide.1..ide.5, ide.0)", async () => {
    const volumes = Array.from({ length: 6 }, (_, i) => ({ name: `cd${i}`, storage: "ahci" }))
    await check(STORAGE_HOST, { id: ID, attrs: { memory: { ram: 128 } }, volumes }, "cds")
  }, TIMEOUT)

  it("SPICE with four heads, agent, 15 USB devices, 28 SCSI devices", async () => {
    const volumes = [
      ...Array.from({ length: 12 }, (_, i) => ({ name: `u${i}`, storage: "usb" })),
      ...Array.from({ length: 28 }, (_, i) => ({ name: `s${i}`, storage: i % 2 === 0 ? "raw" : "iscsi" }))
    ]
    await check(STORAGE_HOST, {
      id: ID,
      attrs: { memory: { ram: 128 }, spice: { enabled: true, port: 5900, displays: 4 }, agent: { qemu: { enabled: true, port: 4000 } } },
      volumes
    }, "full")
  }, TIMEOUT)

  it("slots beyond 9 are where QEMU reads them (hex addr), up to the last usable slot 0x1e", async () => {
    const connections = Array.from({ length: 239 }, (_, i) => ({ name: `n${i}`, network: "lan" }))
    const r = await check(STORAGE_HOST, { id: ID, attrs: { memory: { ram: 128 } }, connections }, "wide")
    assert.isTrue(r.pci.some((p) => p.bus === 0 && p.slot === 0x1e && p.fn === 7))
  }, TIMEOUT)

  it("the serial console (console.enabled): QEMU takes the ISA UART on its socket, and no PCI device moves", async () => {
    const machine = {
      id: ID,
      attrs: { memory: { ram: 128 }, qmp: { enabled: true }, tpm: { enabled: true }, spice: { enabled: true, port: 5900, displays: 2 } },
      volumes: [{ name: "cd", storage: "ahci" }, { name: "os", storage: "raw", bootable: true }, { name: "blk", storage: "block" }],
      connections: [{ name: "0", network: "lan" }],
      devices: [{ name: "g", class: "cad" }]
    }
    const before = await check(STORAGE_HOST, machine, "serial")
    const after = await check(STORAGE_HOST, { ...machine, attrs: { ...machine.attrs, console: { enabled: true } } }, "serial")
    assert.include(after.argv, "isa-serial,id=console.0,chardev=console")
    assertNothingMoved(before, after)
    assert.strictEqual(rootBus(after).size, rootBus(before).size)
  }, 2 * TIMEOUT)

  it("random valid machines (fixed seed)", async () => {
    const samples = fc.sample(machineArb({ maxVolumes: 12, maxConnections: 4, maxDevices: 2 }), { numRuns: 6, seed: 20241206 })
    for (const m of samples) await check(ARBITRARY_HOST, m.json, m.name)
  }, 6 * TIMEOUT)
})

/** The installed QEMU's newest versioned q35 type (what `machina pin-hardware` records). */
const installedQ35 = (): string => {
  const found = newestQ35(execFileSync("qemu-system-x86_64", ["-machine", "help"], { encoding: "utf8", timeout: 30_000 }))
  if (found === undefined) throw new Error("the installed QEMU lists no pc-q35-X.Y machine type")
  return found
}

/** Root-bus functions by qdev id as QEMU placed them (query-pci). */
const rootBus = (r: AcceptanceResult): ReadonlyMap<string, string> =>
  new Map(r.pci.filter((p) => p.parent === undefined && p.qdevId !== "").map((p) => [p.qdevId, `${p.slot}.${p.fn}`]))

/** Every function QEMU placed for `before` is at the same address, under the same id, for `after`. */
const assertNothingMoved = (before: AcceptanceResult, after: AcceptanceResult): void => {
  const now = rootBus(after)
  for (const [id, address] of rootBus(before)) assert.strictEqual(now.get(id), address, `${id} stays at ${address} in real QEMU`)
}

describe("real QEMU: hardware revision 2026.12 (stable addresses)", () => {
  const pin = (machine: Record<string, unknown>, type: string) => {
    const attrs = (machine["attrs"] ?? {}) as Record<string, unknown>
    return { ...machine, attrs: { ...attrs, hardware: { revision: "2026.12", "machine-type": type } } }
  }

  it("the seed pinned to 2026.12 with the installed QEMU's newest q35 type; appending a disk, a NIC and a device moves nothing", async () => {
    const type = installedQ35()
    const c = readFixture(path.join(FIXTURES, "seed-example"), "test-vm")
    const machine = pin(JSON.parse(c.machineJson), type)
    const before = await acceptanceCheck(c.hostJson, JSON.stringify(machine), "test-vm.conf.json")
    assert.include(before.argv.join(" "), `type=${type},`)
    const host = JSON.parse(c.hostJson)
    host.storage["blk"] = { path: "/srv/block", pattern: "${volume}.raw", type: "raw-block" }
    host.tag["vdi-cad"].volumes.push({ name: "data", storage: "blk" }, { name: "more", storage: "guest-data" })
    host.tag["vdi-cad"].connections.push({ name: "1", network: "local" })
    host.tag["vdi-cad"].devices.push({ name: "vgpu2", class: "cad-standard" })
    const after = await acceptanceCheck(JSON.stringify(host), JSON.stringify(machine), "test-vm.conf.json")
    assertNothingMoved(before, after)
    assert.isAbove(rootBus(after).size, rootBus(before).size)
  }, 2 * TIMEOUT)

  it("every storage type, TPM, SPICE with four heads: placed as generated, and after appends nothing moved", async () => {
    const base = {
      id: ID,
      attrs: {
        memory: { ram: 128 },
        spice: { enabled: true, port: 5900, displays: 4 },
        agent: { qemu: { enabled: true, port: 4000 } },
        qmp: { enabled: true },
        tpm: { enabled: true }
      },
      volumes: [
        { name: "cd", storage: "ahci" },
        { name: "blk", storage: "block", bootable: true },
        { name: "stick", storage: "usb" }
      ],
      connections: [{ name: "0", network: "lan" }],
      devices: [{ name: "g", class: "cad" }]
    }
    const machine = pin(base, PINNED_MACHINE_TYPE)
    const before = await check(STORAGE_HOST, machine, "stable")
    const appended = {
      ...machine,
      volumes: [...base.volumes, { name: "os", storage: "raw" }, { name: "blk2", storage: "block" }, { name: "cd2", storage: "ahci" }, { name: "inst", storage: "iscsi" }],
      connections: [...base.connections, { name: "1", network: "lan" }],
      devices: [...base.devices, { name: "h", class: "cad" }]
    }
    const after = await check(STORAGE_HOST, appended, "stable")
    assertNothingMoved(before, after)
  }, 2 * TIMEOUT)

  it("random stable machines with random appends (fixed seed)", async () => {
    const samples = fc.sample(
      fc.tuple(
        machineArb({ maxVolumes: 8, maxConnections: 3, maxDevices: 2, revisions: ["2026.12"] }),
        fc.constantFrom(...VOLUME_POOLS),
        fc.constantFrom("lan", "wan")
      ),
      { numRuns: 4, seed: 20261201 }
    )
    for (const [m, pool, network] of samples) {
      const json = m.json as { volumes: Array<unknown>; connections: Array<unknown>; devices: Array<unknown> }
      const before = await check(ARBITRARY_HOST, json, m.name)
      const extended = structuredClone(json)
      extended.volumes.push({ name: "appended", storage: pool })
      extended.connections.push({ name: "appended", network })
      extended.devices.push({ name: "appended", class: "cad" })
      assertNothingMoved(before, await check(ARBITRARY_HOST, extended, m.name))
    }
  }, 8 * TIMEOUT)
})

/**
 * Golden cases (test/golden/cases/<case>/etc/machina): every machine a case expects `args` to
 * succeed for (a `case.json` command `args <machine>` whose expected file is not `.err`).
 */
const GOLDEN = fileURLToPath(new URL("../golden/cases", import.meta.url))
const goldenMachines = (): ReadonlyArray<{ readonly label: string; readonly host: string; readonly machine: string; readonly file: string }> => {
  if (!fs.existsSync(GOLDEN)) return []
  return fs.readdirSync(GOLDEN).sort().flatMap((c) => {
    const dir = path.join(GOLDEN, c)
    const spec = path.join(dir, "case.json")
    if (!fs.existsSync(spec)) return []
    const commands = (JSON.parse(fs.readFileSync(spec, "utf8")) as { commands?: Record<string, string> }).commands ?? {}
    const machines = Object.entries(commands)
      .filter(([file]) => !file.endsWith(".err"))
      .flatMap(([, command]) => {
        const words = command.trim().split(/\s+/)
        return words[0] === "args" ? words.slice(1).filter((w) => !w.startsWith("-")) : []
      })
    const etc = path.join(dir, "etc/machina")
    return [...new Set(machines)].map((m) => ({
      label: `${c}: ${m}`,
      host: fs.readFileSync(path.join(etc, "machina.conf.json"), "utf8"),
      machine: fs.readFileSync(path.join(etc, "machine.conf.d", `${m}.conf.json`), "utf8"),
      file: `${m}.conf.json`
    }))
  })
}

describe.skipIf(goldenMachines().length === 0)("golden cases in real QEMU", () => {
  for (const g of goldenMachines()) {
    it(g.label, async () => {
      await acceptanceCheck(g.host, g.machine, g.file)
    }, TIMEOUT)
  }
})

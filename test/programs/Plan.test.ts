/** `plan` and `generate`'s guard for running machines, on the seed host simulated in memory. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import * as UnitStoreMemory from "../../src/layers/UnitStoreMemory.js"
import * as QemuInfoMemory from "../../src/layers/QemuInfoMemory.js"
import { ConfigStore } from "../../src/services/ConfigStore.js"
import { UnitStore } from "../../src/services/UnitStore.js"
import { runCli } from "../support/Cli.js"
import { FIXTURES } from "../support/QemuFixtures.js"

const seedDir = join(FIXTURES, "seed-example", "etc", "machina")
const seedHost = JSON.parse(readFileSync(join(seedDir, "machina.conf.json"), "utf8"))
const seedMachine = readFileSync(join(seedDir, "machine.conf.d", "test-vm.conf.json"), "utf8")

/** The seed host with a raw-block disk appended to the `vdi-cad` tag (it takes a root port before the NIC). */
const editedHost = () => {
  const host = structuredClone(seedHost)
  host.storage["blk"] = { path: "/srv/block", pattern: "${volume}.raw", type: "raw-block" }
  host.tag["vdi-cad"].volumes.push({ name: "data", storage: "blk" })
  return host
}

const config = (host: unknown) => ConfigStoreMemory.layer({ location: "/etc/machina", host, machines: { "test-vm": seedMachine } })

const withStore = (host: unknown, store: UnitStoreMemory.MemoryUnitStore, units: ReadonlyArray<SystemdMemory.UnitDefinition> = []) =>
  Layer.mergeAll(config(host), SystemdMemory.layer({ units }), Layer.succeed(UnitStore, store))

describe("plan", () => {
  it.effect("created, then unchanged (exit 0), then after editing a tag: the diff and the moved devices (exit 2)", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore()
      const fresh = yield* runCli(["plan"], withStore(seedHost, store))
      expect(fresh.exitCode).toBe(2)
      expect(fresh.stdout.split("\n")[0]).toBe("/etc/systemd/system/machina-test-vm.service: created")
      expect(fresh.stdout).toContain("--- /dev/null\n+++ /etc/systemd/system/machina-test-vm.service\n@@ -0,0 +1,")
      expect(store.files().size, "plan writes nothing").toBe(0)

      expect((yield* runCli(["generate", "test-vm"], withStore(seedHost, store))).exitCode).toBe(0)
      const same = yield* runCli(["plan"], withStore(seedHost, store))
      expect(same.exitCode).toBe(0)
      expect(same.stdout).toBe("/etc/systemd/system/machina-test-vm.service: unchanged\n")

      const before = store.files().get("machina-test-vm.service")
      const edited = yield* runCli(["plan", "test-vm"], withStore(editedHost(), store))
      expect(edited.exitCode).toBe(2)
      expect(edited.stdout).toMatch(/^\/etc\/systemd\/system\/machina-test-vm\.service: changed \(\d+ guest-visible changes\)\n/)
      expect(edited.stdout).toContain("\n--device ioh3420,id=pcie.1.6,chassis=6,bus=pcie.0,addr=1.6 \\\n")
      expect(edited.stdout).toContain("guest-visible changes:\n")
      expect(edited.stdout).toContain("  disk test-vm-data added: virtio-blk-pci pci 00:01.5")
      expect(edited.stdout).toContain("  nic test-vm.0 moved from pci 00:01.6 to pci 00:01.7\n")
      expect(edited.stdout).toContain("moved from pci 00:01.7 to pci 00:02.0\n")
      expect(store.files().get("machina-test-vm.service"), "plan writes nothing").toBe(before)

      const json = yield* runCli(["plan", "--format", "json"], withStore(editedHost(), store))
      expect(json.exitCode).toBe(2)
      const doc = JSON.parse(json.stdout)
      expect(doc.changes).toBe(true)
      expect(doc.machines[0].status).toBe("changed")
      expect(doc.machines[0]["guest-changes"]).toContainEqual({
        kind: "device-moved",
        subject: "nic test-vm.0",
        before: "pci 00:01.6",
        after: "pci 00:01.7",
        text: "nic test-vm.0 moved from pci 00:01.6 to pci 00:01.7"
      })
    }))

  it.effect("an orphaned unit (machine file gone) is listed; a companion unit of an existing machine is not", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore({
        files: { "machina-old.service": "[Service]\nExecStart=qemu-system-x86_64 \\\n-name old\n", "machina-swtpm-test-vm.service": "[Service]\n", "other.service": "" }
      })
      const r = yield* runCli(["plan"], withStore(seedHost, store))
      expect(r.exitCode).toBe(2)
      expect(r.stdout).toContain("/etc/systemd/system/machina-old.service: orphaned\n--- /etc/systemd/system/machina-old.service\n+++ /dev/null\n")
      expect(r.stdout).not.toContain("swtpm")
      const named = yield* runCli(["plan", "--format", "json", "old"], withStore(seedHost, store))
      expect(JSON.parse(named.stdout).machines.map((m: { status: string }) => m.status)).toEqual(["orphaned"])
    }))

  it.effect("--hardware-revision shows what switching would change", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore()
      yield* runCli(["generate", "test-vm"], withStore(seedHost, store))
      const r = yield* runCli(["plan", "--hardware-revision", "2023.04", "test-vm"], withStore(seedHost, store))
      expect(r.exitCode).toBe(2)
      expect(r.stdout).toContain("  pvpanic removed: pvpanic-pci pci 00:01.0")
      expect(r.stdout).toMatch(/CPU flags: .*\+hv_relaxed/)
    }))
})

describe("generate with guest-visible changes", () => {
  it.effect("refuses without a terminal when the machine runs, writes with --yes, and does not ask when it is stopped", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore()
      yield* runCli(["generate", "test-vm"], withStore(seedHost, store))
      const before = store.files().get("machina-test-vm.service")
      const running = [{ name: "machina-test-vm.service", activeState: "active" as const }]
      const refused = yield* runCli(["generate", "test-vm"], withStore(editedHost(), store, running))
      expect(refused.exitCode).toBe(1)
      expect(refused.stderr).toContain("nic test-vm.0 moved from pci 00:01.6 to pci 00:01.7")
      expect(refused.stderr).toMatch(/machina: error: not writing units: the guest-visible hardware of running machine\(s\) test-vm would change \(not asking: standard input is not a terminal\)/)
      expect(store.files().get("machina-test-vm.service")).toBe(before)

      const forced = yield* runCli(["generate", "--yes", "test-vm"], withStore(editedHost(), store, running))
      expect(forced.exitCode).toBe(0)
      expect(forced.stdout).toMatch(/^\/etc\/systemd\/system\/machina-test-vm\.service: changed \(\d+ guest-visible changes\)\n/)
      expect(store.files().get("machina-test-vm.service")).not.toBe(before)

      const back = yield* runCli(["generate", "test-vm"], withStore(seedHost, store, [{ name: "machina-test-vm.service" }]))
      expect(back.exitCode).toBe(0)
      expect(store.files().get("machina-test-vm.service")).toBe(before)
    }))
})

describe("switching to the stable revision 2026.12", () => {
  it.effect("plan shows what switching changes; pin-hardware records revision and machine type; afterwards an appended disk moves nothing", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore()
      const qemu = QemuInfoMemory.layer({ newestQ35: "pc-q35-7.2" })
      const layerFor = (_host: unknown, config: ReturnType<typeof ConfigStoreMemory.make>, q = qemu) =>
        Layer.mergeAll(Layer.succeed(ConfigStore, config), SystemdMemory.layer(), Layer.succeed(UnitStore, store), q)
      const config = ConfigStoreMemory.make({ location: "/etc/machina", host: seedHost, machines: { "test-vm": seedMachine } })
      yield* runCli(["generate", "test-vm"], layerFor(seedHost, config))

      const preview = yield* runCli(["plan", "--hardware-revision", "2026.12", "test-vm"], layerFor(seedHost, config))
      expect(preview.exitCode).toBe(2)
      expect(preview.stdout).toContain("  machine type: q35 -> pc-q35-7.2\n")
      expect(preview.stdout).toContain("  nic test-vm.0 moved from pci 00:01.6 to pci 00:0c.0\n")
      expect(preview.stdout).toContain("moved from pci 00:01.7 to pci 00:16.0\n")
      expect(preview.stdout).toContain("  display qxl.0 moved from pci 00:01.2 to pci 00:01.4\n")

      const pinned = yield* runCli(["pin-hardware", "test-vm"], layerFor(seedHost, config))
      expect(pinned.stderr).toBe("")
      expect(pinned.stdout).toContain("test-vm: pinned hardware revision 2026.12, machine type pc-q35-7.2 in /etc/machina/machine.conf.d/test-vm.conf.json\n")
      const text = yield* config.readMachineText("test-vm")
      expect(JSON.parse(text).attrs.hardware).toEqual({ revision: "2026.12", "machine-type": "pc-q35-7.2" })
      expect(text.startsWith("{\n\t\"id\": \"8b18191a-234f-45ce-b43c-b46e28cd2f70\",\n"), "keeps tabs and key order").toBe(true)
      // A pinned type is kept: QEMU is not even asked (this simulated one offers nothing).
      const again = yield* runCli(["pin-hardware", "test-vm"], layerFor(seedHost, config, QemuInfoMemory.layer({})))
      expect(again.stdout).toBe("test-vm: already pinned to hardware revision 2026.12, machine type pc-q35-7.2\n")

      const planned = yield* runCli(["plan", "test-vm"], layerFor(seedHost, config))
      expect(planned.stdout).toContain("  nic test-vm.0 moved from pci 00:01.6 to pci 00:0c.0\n")
      expect((yield* runCli(["generate", "test-vm"], layerFor(seedHost, config))).exitCode).toBe(0)
      expect((yield* runCli(["plan", "test-vm"], layerFor(seedHost, config))).exitCode).toBe(0)

      const edited = ConfigStoreMemory.make({ location: "/etc/machina", host: editedHost(), machines: { "test-vm": text } })
      const appended = yield* runCli(["plan", "--format", "json", "test-vm"], layerFor(editedHost(), edited))
      expect(appended.exitCode).toBe(2)
      const changes = JSON.parse(appended.stdout).machines[0]["guest-changes"]
      expect(changes.map((c: { kind: string; subject: string }) => `${c.kind} ${c.subject}`)).toEqual(["device-added disk test-vm-data"])
      expect(changes[0].after).toBe("pci 00:02.0")
    }))
})

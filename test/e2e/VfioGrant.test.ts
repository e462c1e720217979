/**
 * An unprivileged machine's mediated device: `prepare` lets the machine's group read and write the
 * device's vfio group node (`/dev/vfio/<group>`, found through the device's `iommu_group` link in
 * sysfs), recording what it changed; `teardown` puts the node back as it was. In a sandbox
 * (test/support/Sandbox.ts) for its private /dev, where the node is a real character device made
 * with mknod; no GPU here, so the sysfs tree is a simulated one (MACHINA_SYSFS_ROOT) holding the
 * mediated device as the kernel shows it. The commands are the installed machina, as run by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Sandbox, startSandbox } from "../support/Sandbox.js"
import { installMachina, showExec } from "../support/TinyHost.js"

const USER = "machina-vdi"
const MACHINE = "desk"
const DEVICE_ID = "5b0d7c2e-34a1-4f6b-9d2c-8e7f6a5b4c3d"
const GROUP = "42"
const NODE = `/dev/vfio/${GROUP}`
const SYS = "/var/lib/machina-test/sys"
const PARENT = `${SYS}/bus/pci/devices/0000:c1:00.0`

describe("the vfio group node of an unprivileged machine's mediated device", () => {
  let sandbox: Sandbox | undefined
  let gid = ""

  const box = (): Sandbox => {
    if (sandbox === undefined) throw new Error("the sandbox did not boot")
    return sandbox
  }
  const machina = async (args: ReadonlyArray<string>) => {
    const r = await box().exec(["env", `MACHINA_SYSFS_ROOT=${SYS}`, "machina", ...args], { timeoutMs: 30_000 })
    expect(r.code, `machina ${args.join(" ")}\n${showExec(r)}`).toBe(0)
    return r
  }
  const node = async () => (await box().execOk(["stat", "-c", "%g %a %F", NODE])).trim()

  beforeAll(async () => {
    sandbox = await startSandbox()
    const s = sandbox
    await installMachina(s)
    await s.execOk(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER])
    await s.writeFile("/etc/machina/machina.conf.json", JSON.stringify({
      mdev: { "nvidia-rtx8000": { address: "0000:c1:00.0", types: { "cad-standard": "GRID RTX8000-6Q" } } },
      tag: { unprivileged: { privileges: { user: USER } } }
    }))
    await s.writeFile(`/etc/machina/machine.conf.d/${MACHINE}.conf.json`, JSON.stringify({
      id: "3f0c8e52-6a1b-4d8e-9c55-0a1b2c3d4e31",
      tags: ["unprivileged"],
      attrs: { memory: { ram: 128 } },
      devices: [{ name: "gpu", class: "cad-standard", id: DEVICE_ID }]
    }))
    // The parent offering the type, and the mediated device as the kernel lists it once created:
    // its folder with `remove`, and `iommu_group` pointing at its IOMMU group.
    const type = `${PARENT}/mdev_supported_types/nvidia-428`
    const device = `${SYS}/bus/mdev/devices/${DEVICE_ID}`
    await s.execOk(["mkdir", "-p", type, device, `${SYS}/kernel/iommu_groups/${GROUP}`])
    await s.writeFile(`${type}/name`, "GRID RTX8000-6Q\n")
    await s.writeFile(`${type}/create`, "")
    await s.writeFile(`${device}/remove`, "")
    await s.execOk(["ln", "-s", `../../../kernel/iommu_groups/${GROUP}`, `${device}/iommu_group`])
    // The group's node, root's alone as the kernel makes it (10:196 stands in for the vfio major).
    await s.execOk(["mkdir", "-p", "/dev/vfio"])
    await s.execOk(["mknod", "-m", "0600", NODE, "c", "10", "196"])
  }, 180_000)

  afterAll(async () => {
    await sandbox?.stop()
  }, 60_000)

  it("prepare grants the machine's group the node; teardown restores it", async () => {
    const s = box()
    expect(await node()).toBe("0 600 character special file")
    const checked = await machina(["check"])
    gid = /QEMU runs as user machina-vdi and group (\d+)/.exec(checked.stdout)?.[1] ?? ""
    expect(gid, checked.stdout).not.toBe("")

    const prepared = await machina(["prepare", MACHINE])
    expect(prepared.stdout).toContain(`${MACHINE}: device gpu: mediated device ${DEVICE_ID} already present\n`)
    expect(prepared.stdout).toContain(`${MACHINE}: ${NODE}: group ${gid} may read and write\n`)
    expect(await node()).toBe(`${gid} 660 character special file`)
    // Once more (a restart without teardown): still granted, and the original is what is recorded.
    await machina(["prepare", MACHINE])
    expect(await node()).toBe(`${gid} 660 character special file`)

    const tornDown = await machina(["teardown", MACHINE])
    expect(tornDown.stdout).toContain(`${MACHINE}: device gpu: removed mediated device ${DEVICE_ID}\n`)
    expect(await s.readFile(`${SYS}/bus/mdev/devices/${DEVICE_ID}/remove`)).toBe("1")
    expect(await node()).toBe("0 600 character special file")
  }, 120_000)
})

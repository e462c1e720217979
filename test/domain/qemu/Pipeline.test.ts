/**
 * Generation rules beyond the worked examples: each storage type, processor selection, ports,
 * displays, USB ports, large topologies, revisions, accelerator, kernel boot, and every error.
 */
import { assert, describe, it } from "@effect/vitest"
import { argsOf, generateFromJson, issuesOf, machineFile } from "../../support/QemuFixtures.js"

const ID = "00000000-0000-0000-0000-000000000001"

const baseHost = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  storage: {
    raw: { path: "/srv/raw", type: "raw" },
    rawscsi: { path: "/srv/raw", pattern: "${machine-name}/${volume}.img", type: "raw-scsi" },
    block: { path: "/srv/block", type: "raw-block" },
    ahci: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-ahci" },
    iscsi: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-scsi" },
    usb: { path: "/srv/iso", pattern: "${volume}.iso", type: "iso-usb" },
    fw: { path: "/srv/fw", pattern: "${volume}.fd", type: "firmware", readonly: true },
    vars: { path: "/srv/vars", pattern: "${machine-name}/${volume}.fd", type: "firmware" },
    ro: { path: "/srv/ro", type: "raw", readonly: true },
    kernels: { path: "/srv/boot", pattern: "${volume}", type: "kernel-images" }
  },
  network: { lan: { device: "br0" }, wan: { device: "br1", up: "/etc/up.sh", down: "/etc/down.sh" } },
  mdev: {
    b: { address: "0000:c2:00.0", types: { cad: "GRID RTX8000-6Q" } },
    a: { address: "0000:c1:00.0", types: { cad: "GRID RTX8000-6Q", light: "GRID RTX8000-2Q" } }
  },
  ...extra
})

const baseMachine = (
  extra: Record<string, unknown> = {},
  attrs: Record<string, unknown> = {}
): Record<string, unknown> => ({ id: ID, ...extra, attrs: { memory: { ram: 1024 }, ...attrs } })

const args = (host: unknown, machine: unknown, name = "vm") => argsOf(generateFromJson(host, machine, name))
const issues = (host: unknown, machine: unknown, name = "vm") => issuesOf(generateFromJson(host, machine, name))
const lines = (text: string) => text.trimEnd().split(" \\\n")
const deviceLines = (text: string) => lines(text).filter((l) => l.startsWith("-device "))
const optionLines = (text: string, type: string) => lines(text).filter((l) => l.startsWith(`-${type} `) || l === `-${type}`)

const M = machineFile("vm")

describe("storage handlers (qemu.md §6)", () => {
  it("raw and raw-scsi: file + raw nodes, iothread, one SCSI controller, LUNs in order", () => {
    const out = args(baseHost(), baseMachine({ volumes: [{ name: "os", storage: "raw" }, { name: "data", storage: "rawscsi" }] }))
    assert.deepStrictEqual(optionLines(out, "blockdev"), [
      "-blockdev driver=file,node-name=vm-os-file,filename=/srv/raw/os.raw",
      "-blockdev driver=raw,node-name=vm-os,file=vm-os-file",
      "-blockdev driver=file,node-name=vm-data-file,filename=/srv/raw/vm/data.img",
      "-blockdev driver=raw,node-name=vm-data,file=vm-data-file"
    ])
    assert.deepStrictEqual(optionLines(out, "object"), ["-object iothread,id=iothread.0"])
    const devices = deviceLines(out)
    assert.strictEqual(devices[2], "-device virtio-scsi-pci,id=scsi,bus=pcie.1.1,iothread=iothread.0,num_queues=4")
    assert.match(devices[3]!, /^-device scsi-hd,id=scsi\.0\.0,bus=scsi\.0,channel=0,scsi-id=0,lun=0,drive=vm-os,wwn=0x[0-9A-F]{16},serial=[0-9A-V]{26}$/)
    assert.match(devices[4]!, /^-device scsi-hd,id=scsi\.0\.1,bus=scsi\.0,channel=0,scsi-id=0,lun=1,drive=vm-data,wwn=/)
  })

  it("a read-only raw pool marks both the file and the raw format node read-only (§11.9 fixed)", () => {
    const out = args(baseHost(), baseMachine({ volumes: [{ name: "os", storage: "ro" }] }))
    assert.deepStrictEqual(optionLines(out, "blockdev"), [
      "-blockdev driver=file,node-name=vm-os-file,read-only=on,filename=/srv/ro/os.raw",
      "-blockdev driver=raw,node-name=vm-os,read-only=on,file=vm-os-file"
    ])
  })

  it("raw-block: virtio-blk on its own root port; block.<j> counts raw-block volumes; no WWN", () => {
    const out = args(
      baseHost(),
      baseMachine({
        volumes: [
          { name: "a", storage: "block", bootable: true, serial: "SER-A" },
          { name: "b", storage: "raw", bootable: true },
          { name: "c", storage: "block" }
        ]
      })
    )
    const devices = deviceLines(out)
    assert.strictEqual(devices[1], "-device ioh3420,id=pcie.1.1,chassis=1,bus=pcie.0,addr=1.1")
    assert.strictEqual(devices[2], "-device virtio-blk-pci,id=block.0,bus=pcie.1.1,iothread=iothread.0,num-queues=4,drive=vm-a,serial=SER-A,bootindex=1")
    assert.match(devices[5]!, /drive=vm-b,wwn=.*,bootindex=2$/)
    assert.strictEqual(devices[6], "-device ioh3420,id=pcie.1.3,chassis=3,bus=pcie.0,addr=1.3")
    assert.match(devices[7]!, /^-device virtio-blk-pci,id=block\.1,bus=pcie\.1\.3,iothread=iothread\.0,num-queues=4,drive=vm-c,serial=[0-9A-V]{26}$/)
  })

  it("iso-ahci: read-only file node, ide-cd without PCI address (but it takes an index)", () => {
    const out = args(baseHost(), baseMachine({ volumes: [{ name: "cd", storage: "ahci" }], connections: [{ name: "0", network: "lan" }] }), "alpha")
    assert.deepStrictEqual(optionLines(out, "blockdev"), ["-blockdev driver=file,node-name=cd,read-only=on,filename=/srv/iso/cd.iso"])
    assert.deepStrictEqual(optionLines(out, "object"), [])
    assert.deepStrictEqual(deviceLines(out).slice(1), [
      "-device ide-cd,id=sata.0,bus=ide.1,drive=cd",
      "-device ioh3420,id=pcie.1.2,chassis=2,bus=pcie.0,addr=1.2",
      "-device virtio-net-pci,bus=pcie.1.2,mac=52:54:00:7f:69:1f,netdev=net.0"
    ])
  })

  it("several iso-ahci volumes get distinct AHCI ports: ide.1, then ide.2..ide.5, then ide.0 (§11.3 fixed)", () => {
    const volumes = Array.from({ length: 6 }, (_, i) => ({ name: `cd${i}`, storage: "ahci" }))
    const out = args(baseHost(), baseMachine({ volumes }))
    assert.deepStrictEqual(deviceLines(out).slice(1), [
      "-device ide-cd,id=sata.0,bus=ide.1,drive=cd0",
      "-device ide-cd,id=sata.1,bus=ide.2,drive=cd1",
      "-device ide-cd,id=sata.2,bus=ide.3,drive=cd2",
      "-device ide-cd,id=sata.3,bus=ide.4,drive=cd3",
      "-device ide-cd,id=sata.4,bus=ide.5,drive=cd4",
      "-device ide-cd,id=sata.5,bus=ide.0,drive=cd5"
    ])
  })

  it("iso-scsi shares the SCSI controller; iso-usb goes on the xHCI controller", () => {
    const out = args(baseHost(), baseMachine({ volumes: [{ name: "inst", storage: "iscsi" }, { name: "stick", storage: "usb" }] }))
    assert.deepStrictEqual(deviceLines(out).slice(1), [
      "-device ioh3420,id=pcie.1.1,chassis=1,bus=pcie.0,addr=1.1",
      "-device virtio-scsi-pci,id=scsi,bus=pcie.1.1,iothread=iothread.0,num_queues=4",
      "-device scsi-cd,id=scsi.0.0,bus=scsi.0,channel=0,scsi-id=0,lun=0,drive=inst",
      "-device ioh3420,id=pcie.1.2,chassis=2,bus=pcie.0,addr=1.2",
      "-device qemu-xhci,id=usb,bus=pcie.1.2,p2=4,p3=4",
      "-device usb-storage,id=usb.0.1,bus=usb.0,port=1,drive=stick"
    ])
  })

  it("a firmware-type volume in the volume list only adds a file node", () => {
    const out = args(baseHost(), baseMachine({ volumes: [{ name: "nv", storage: "vars" }, { name: "code", storage: "fw" }] }))
    assert.deepStrictEqual(optionLines(out, "blockdev"), [
      "-blockdev driver=file,node-name=vm-nv,filename=/srv/vars/vm/nv.fd",
      "-blockdev driver=file,node-name=code,read-only=on,filename=/srv/fw/code.fd"
    ])
    assert.strictEqual(deviceLines(out).length, 1)
  })

  it("a pool without pattern names the file <volume>.<type>", () => {
    const out = args(baseHost(), baseMachine({ volumes: [{ name: "x", storage: "usb" }] }))
    assert.include(out, "filename=/srv/iso/x.iso")
    const host = baseHost({ storage: { media: { path: "/m", type: "iso-scsi" } } })
    assert.include(args(host, baseMachine({ volumes: [{ name: "x", storage: "media" }] })), "filename=/m/x.iso-scsi")
  })

  it("commas in paths are doubled for QEMU (§11.4 fixed)", () => {
    const host = baseHost({ storage: { p: { path: "/srv", pattern: "${dir}/${volume}.raw", type: "raw" } } })
    const out = args(host, baseMachine({ vars: { dir: "a,b" }, volumes: [{ name: "os", storage: "p" }] }))
    assert.include(out, "-blockdev driver=file,node-name=vm-os-file,filename=/srv/a,,b/os.raw \\\n")
  })

  it("only raw disks get boot indexes, shared in volume order", () => {
    const out = args(
      baseHost(),
      baseMachine({
        volumes: [
          { name: "cd", storage: "iscsi", bootable: true },
          { name: "a", storage: "raw", bootable: true },
          { name: "b", storage: "raw" },
          { name: "c", storage: "block", bootable: true }
        ]
      })
    )
    const boot = deviceLines(out).flatMap((l) => /drive=([^,]+).*bootindex=(\d+)/.exec(l)?.slice(1, 3) ?? [])
    assert.deepStrictEqual(boot, ["vm-a", "1", "vm-c", "2"])
  })
})

describe("firmware (qemu.md §6.1)", () => {
  it("code and vars: pflash0/pflash1, secure global, nodes first", () => {
    const out = args(
      baseHost(),
      baseMachine({ volumes: [{ name: "os", storage: "raw" }] }, { firmware: { code: { name: "ovmf", storage: "fw" }, vars: { name: "nv", storage: "vars" } } })
    )
    assert.deepStrictEqual(optionLines(out, "machine"), ["-machine type=q35,pflash0=ovmf,pflash1=vm-nv"])
    assert.deepStrictEqual(optionLines(out, "global"), ["-global driver=cfi.pflash01,property=secure,value=on"])
    assert.deepStrictEqual(optionLines(out, "blockdev").slice(0, 2), [
      "-blockdev driver=file,node-name=ovmf,read-only=on,filename=/srv/fw/ovmf.fd",
      "-blockdev driver=file,node-name=vm-nv,filename=/srv/vars/vm/nv.fd"
    ])
  })

  it("vars without code is ignored entirely", () => {
    const out = args(baseHost(), baseMachine({}, { firmware: { vars: { name: "nv", storage: "vars" } } }))
    assert.deepStrictEqual(optionLines(out, "machine"), ["-machine type=q35"])
    assert.deepStrictEqual(optionLines(out, "blockdev"), [])
    assert.deepStrictEqual(optionLines(out, "global"), [])
  })

  it("firmware errors are reported, not swallowed (§11.6 fixed)", () => {
    const found = issues(
      baseHost(),
      baseMachine({ volumes: [{ name: "ovmf", storage: "usb" }] }, {
        firmware: { code: { name: "ovmf", storage: "fw" }, vars: { name: "nv", storage: "nowhere" } }
      })
    )
    assert.deepStrictEqual(found, [
      `${M}: $.attrs.firmware.vars.storage: storage pool "nowhere" is not defined (defined pools: ahci, block, fw, iscsi, kernels, raw, rawscsi, ro, usb, vars)`,
      `${M}: $.volumes[0].name: volume "ovmf": failed to attach the "ovmf" file protocol node to the node graph: a node with the given node name already exists`
    ])
  })

  it("a firmware volume in a pool of another type is an error", () => {
    assert.deepStrictEqual(issues(baseHost(), baseMachine({}, { firmware: { code: { name: "ovmf", storage: "raw" } } })), [
      `${M}: $.attrs.firmware.code.storage: firmware volume "ovmf" needs a storage pool of type "firmware"; pool "raw" has type "raw"`
    ])
  })
})

describe("processor selection (config.md §3.1, qemu.md §4.3-4.4)", () => {
  const processors = {
    zen: { brand: "amd", threads: 2 },
    core: { brand: "Intel", threads: 2, default: true },
    atom: { brand: "Intel", default: true },
    other: { brand: "VIA", threads: 4 }
  }
  const cpuOf = (host: unknown, attrs: Record<string, unknown>) => {
    const out = args(host, baseMachine({}, attrs))
    return [...optionLines(out, "cpu"), ...optionLines(out, "smp")]
  }

  it("no processors: plain host, no smp unless set", () => {
    assert.deepStrictEqual(cpuOf(baseHost(), {}), ["-cpu host"])
    assert.deepStrictEqual(cpuOf(baseHost(), { cpu: { sockets: 2 } }), ["-cpu host", "-smp sockets=2"])
  })

  it("the smallest name among defaults wins", () => {
    assert.deepStrictEqual(cpuOf(baseHost({ processor: processors }), { enlightenments: { enabled: true } }), [
      "-cpu host,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-vpindex,hv-runtime,hv-time,hv-synic,hv-stimer,hv-tlbflush,hv-ipi,hv-frequencies,hv-reenlightenment,hv-stimer-direct,hv-emsr-bitmap,hv-xmm-input,hv-tlbflush-ext,hv-tlbflush-direct,hv-evmcs"
    ])
  })

  it("without defaults, the smallest name of all; a single processor is the default", () => {
    const { atom: _a, core: _c, ...noDefaults } = processors
    assert.deepStrictEqual(cpuOf(baseHost({ processor: noDefaults }), {}), ["-cpu host", "-smp threads=4"])
    assert.deepStrictEqual(cpuOf(baseHost({ processor: { zen: processors.zen } }), {}), ["-cpu host,topoext=on", "-smp threads=2"])
  })

  it("an explicit processor beats the defaults; brand compares case-insensitively", () => {
    assert.deepStrictEqual(cpuOf(baseHost({ processor: processors }), { cpu: { processor: "zen", sockets: 1, cores: 8 }, enlightenments: { enabled: true } }), [
      "-cpu host,topoext=on,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-vpindex,hv-runtime,hv-time,hv-synic,hv-stimer,hv-tlbflush,hv-ipi,hv-frequencies,hv-reenlightenment,hv-stimer-direct,hv-emsr-bitmap,hv-xmm-input,hv-tlbflush-ext,hv-tlbflush-direct,hv-avic=on",
      "-smp sockets=1,cores=8,threads=2"
    ])
  })

  it("the machine's threads override the processor's", () => {
    assert.deepStrictEqual(cpuOf(baseHost({ processor: processors }), { cpu: { processor: "zen", threads: 1 } }), ["-cpu host", "-smp threads=1"])
  })

  it("an unknown processor is an error at the attribute's origin", () => {
    assert.deepStrictEqual(issues(baseHost({ processor: processors }), baseMachine({}, { cpu: { processor: "epyc" } })), [
      `${M}: $.attrs.cpu.processor: a CPU processor with the name "epyc" has not been defined in the system configuration (defined processors: atom, core, other, zen)`
    ])
  })
})

describe("attributes", () => {
  it("memory.ram unset is an error naming the machine file (§11.1 fixed)", () => {
    assert.deepStrictEqual(issues(baseHost(), { id: ID }), [
      `${M}: $.attrs.memory.ram: memory.ram is required: set the guest's RAM size in MiB in the machine file or one of its tags`
    ])
  })

  it("spice: port pattern from vars, clamps displays to 1..4", () => {
    const spiceOf = (spice: Record<string, unknown>) => {
      const out = args(baseHost(), baseMachine({ vars: { seat: "12" } }, { spice: { enabled: true, ...spice } }))
      return { spice: optionLines(out, "spice"), qxl: deviceLines(out).filter((l) => l.includes("qxl")) }
    }
    assert.deepStrictEqual(spiceOf({ "port-pattern": "59${seat}" }), {
      spice: ["-spice port=5912,addr=127.0.0.1,disable-ticketing=on"],
      qxl: ["-device qxl-vga,id=qxl.0,bus=pcie.0,addr=1.1"]
    })
    assert.strictEqual(spiceOf({ port: 5900, displays: 7 }).qxl.length, 4)
    assert.deepStrictEqual(spiceOf({ port: 5900, displays: 3 }).qxl, [
      "-device qxl-vga,id=qxl.0,bus=pcie.0,addr=1.1",
      "-device qxl,id=qxl.1,bus=pcie.0,addr=1.2",
      "-device qxl,id=qxl.2,bus=pcie.0,addr=1.3"
    ])
  })

  it("port pattern errors point at the pattern's origin (a tag)", () => {
    const host = baseHost({ tag: { desk: { attrs: { spice: { enabled: true, "port-pattern": "5${seat}" } } } } })
    assert.deepStrictEqual(issues(host, baseMachine({ tags: ["desk"], vars: { seat: "x" } })), [
      `machina.conf.json: $.tag.desk.attrs.spice.port-pattern: failed to determine spice port: port pattern "5\${seat}": strconv.Atoi: parsing "5x": invalid syntax`
    ])
    assert.deepStrictEqual(issues(host, baseMachine({ tags: ["desk"], vars: { seat: "99999" } })), [
      `machina.conf.json: $.tag.desk.attrs.spice.port-pattern: failed to determine spice port: port pattern "5\${seat}": invalid resulting port number 599999`
    ])
  })

  it("an enabled agent without port or pattern says so", () => {
    assert.deepStrictEqual(issues(baseHost(), baseMachine({}, { agent: { qemu: { enabled: true } } })), [
      `${M}: $.attrs.agent.qemu.enabled: failed to determine QEMU Agent port: neither agent.qemu.port nor agent.qemu.port-pattern is set`
    ])
  })

  it("agent: TCP chardev and the first virtio-serial port", () => {
    const out = args(baseHost(), baseMachine({}, { agent: { qemu: { enabled: true, port: 4444 } } }))
    assert.deepStrictEqual(optionLines(out, "chardev"), ["-chardev socket,id=guestagent,host=127.0.0.1,port=4444,server=on,wait=off,nodelay=on"])
    assert.deepStrictEqual(deviceLines(out).slice(1), [
      "-device ioh3420,id=pcie.1.1,chassis=1,bus=pcie.0,addr=1.1",
      "-device virtio-serial-pci,id=serial,bus=pcie.1.1",
      "-device virtserialport,id=serial.0.0,bus=serial.0,nr=1,chardev=guestagent,name=org.qemu.guest_agent.0"
    ])
  })

  it("TPM with a custom socket path; QMP names and paths", () => {
    const out = args(
      baseHost(),
      baseMachine({}, {
        tpm: { enabled: true, socket: { path: "/run/swtpm/vm.sock" } },
        qmp: { enabled: true, sockets: { names: ["extra", "command.0"], paths: ["/run/x.sock"] } }
      })
    )
    assert.deepStrictEqual(optionLines(out, "chardev"), [
      "-chardev socket,id=tpm.0.socket,path=/run/swtpm/vm.sock",
      "-chardev socket,id=qmp.0,server=on,wait=off,path=/run/machina/vm/systemd.0.qmp.socket",
      "-chardev socket,id=qmp.1,server=on,wait=off,path=/run/machina/vm/command.0.qmp.socket",
      "-chardev socket,id=qmp.2,server=on,wait=off,path=/run/machina/vm/command.1.qmp.socket",
      "-chardev socket,id=qmp.3,server=on,wait=off,path=/run/machina/vm/extra.qmp.socket",
      "-chardev socket,id=qmp.4,server=on,wait=off,path=/run/x.sock"
    ])
    assert.deepStrictEqual(optionLines(out, "tpmdev"), ["-tpmdev emulator,id=tpm.0,chardev=tpm.0.socket"])
    assert.strictEqual(optionLines(out, "mon").length, 5)
    assert.deepStrictEqual(deviceLines(out), [
      "-device pvpanic-pci,id=panic.0,bus=pcie.0,addr=1.0,multifunction=on",
      "-device tpm-tis,tpmdev=tpm.0"
    ])
  })

  it("USB ports announced: max(4, devices), counted at the end", () => {
    const volumes = Array.from({ length: 3 }, (_, i) => ({ name: `u${i}`, storage: "usb" }))
    const out = args(baseHost(), baseMachine({ volumes }, { spice: { enabled: true, port: 5900 } }))
    assert.include(out, "-device qemu-xhci,id=usb,bus=pcie.1.3,p2=6,p3=6 \\\n")
    assert.isTrue(out.endsWith("-device usb-storage,id=usb.0.6,bus=usb.0,port=6,drive=u2\n"))
    const small = args(baseHost(), baseMachine({ volumes: volumes.slice(0, 1) }))
    assert.include(small, "-device qemu-xhci,id=usb,bus=pcie.1.1,p2=4,p3=4 \\\n")
  })
})

describe("large topologies", () => {
  it("more than 8 root ports continue on slot 2 with multifunction, slot 10 renders as a", () => {
    const connections = Array.from({ length: 80 }, (_, i) => ({ name: `n${i}`, network: "lan" }))
    const ports = deviceLines(args(baseHost(), baseMachine({ connections }))).filter((l) => l.includes("ioh3420"))
    assert.strictEqual(ports.length, 80)
    assert.strictEqual(ports[6], "-device ioh3420,id=pcie.1.7,chassis=7,bus=pcie.0,addr=1.7")
    assert.strictEqual(ports[7], "-device ioh3420,id=pcie.2.0,chassis=8,bus=pcie.0,addr=2.0,multifunction=on")
    assert.strictEqual(ports[71], "-device ioh3420,id=pcie.10.0,chassis=72,bus=pcie.0,addr=a.0,multifunction=on")
  })

  it("a full root complex is an error per connection that does not fit", () => {
    const connections = Array.from({ length: 241 }, (_, i) => ({ name: `n${i}`, network: "lan" }))
    assert.deepStrictEqual(issues(baseHost(), baseMachine({ connections })), [
      `${M}: $.connections[239]: the PCI Express root complex is full and cannot accommodate more devices (at most 240 root ports and devices on slots 1 to 30)`,
      `${M}: $.connections[240]: the PCI Express root complex is full and cannot accommodate more devices (at most 240 root ports and devices on slots 1 to 30)`
    ])
  })
})

describe("controller limits (config.md §8)", () => {
  it("SCSI: 28 devices", () => {
    const volumes = Array.from({ length: 29 }, (_, i) => ({ name: `d${i}`, storage: i % 2 === 0 ? "raw" : "iscsi" }))
    assert.deepStrictEqual(issues(baseHost(), baseMachine({ volumes })), [
      `${M}: $.volumes[28]: the SCSI Controller is full and cannot accommodate more devices (at most 28)`
    ])
  })

  it("SATA: 6 CDs", () => {
    const volumes = Array.from({ length: 7 }, (_, i) => ({ name: `cd${i}`, storage: "ahci" }))
    assert.deepStrictEqual(issues(baseHost(), baseMachine({ volumes })), [
      `${M}: $.volumes[6]: the SATA controller is full and cannot accommodate more devices (q35's AHCI controller has 6 ports, ide.0 to ide.5)`
    ])
  })

  it("USB: 15 devices (SPICE takes 3)", () => {
    const volumes = Array.from({ length: 13 }, (_, i) => ({ name: `u${i}`, storage: "usb" }))
    assert.deepStrictEqual(issues(baseHost(), baseMachine({ volumes }, { spice: { enabled: true, port: 5900 } })), [
      `${M}: $.volumes[12]: the USB Controller is full and cannot accommodate more devices (at most 15)`
    ])
    assert.include(args(baseHost(), baseMachine({ volumes: volumes.slice(0, 12) }, { spice: { enabled: true, port: 5900 } })), "p2=15,p3=15")
  })
})

describe("references and names", () => {
  it("an unknown pool in a tag points at the tag's volume", () => {
    const host = baseHost({ storage: { a: { path: "/a", type: "raw" }, b: { path: "/b", type: "raw" } }, tag: { "vdi-cad": { volumes: [{ name: "os", storage: "x" }] } } })
    assert.deepStrictEqual(issues(host, baseMachine({ tags: ["vdi-cad"] })), [
      `machina.conf.json: $.tag.vdi-cad.volumes[0].storage: storage pool "x" is not defined (defined pools: a, b)`
    ])
  })

  it("a pool type without handler points at the pool's type", () => {
    assert.deepStrictEqual(issues(baseHost(), baseMachine({ volumes: [{ name: "k", storage: "kernels" }] })), [
      `machina.conf.json: $.storage.kernels.type: storage pool "kernels" has storage type "kernel-images" which has no handler defined (known types: firmware, iso-ahci, iso-scsi, iso-usb, raw, raw-block, raw-scsi); volume "k" of machine vm uses it`
    ])
  })

  it("unknown network and device class", () => {
    assert.deepStrictEqual(
      issues(baseHost(), baseMachine({ connections: [{ name: "0", network: "dmz" }], devices: [{ name: "g", class: "huge" }] })),
      [
        `${M}: $.connections[0].network: network "dmz" is not defined (defined networks: lan, wan)`,
        `${M}: $.devices[0].class: device class "huge" is not offered by any mediated device (offered classes: cad, light)`
      ]
    )
  })

  it("connections: tap names, scripts, MACs; devices: vfio-pci on the mdev uuid", () => {
    const out = args(
      baseHost(),
      baseMachine({
        connections: [{ name: "0", network: "lan" }, { name: "up", network: "wan", mac: "52:54:00:00:00:01" }],
        devices: [{ name: "g", class: "light", id: "11111111-2222-4333-8444-555555555555" }]
      })
    )
    assert.deepStrictEqual(optionLines(out, "netdev"), [
      "-netdev tap,id=net.0,ifname=vm.0,script=/usr/bin/machina-ifup,downscript=/usr/bin/machina-ifdown",
      "-netdev tap,id=net.1,ifname=vm.up,script=/etc/up.sh,downscript=/etc/down.sh"
    ])
    assert.deepStrictEqual(deviceLines(out).slice(3), [
      "-device ioh3420,id=pcie.1.2,chassis=2,bus=pcie.0,addr=1.2",
      "-device virtio-net-pci,bus=pcie.1.2,mac=52:54:00:00:00:01,netdev=net.1",
      "-device ioh3420,id=pcie.1.3,chassis=3,bus=pcie.0,addr=1.3",
      "-device vfio-pci,id=vfio.0,bus=pcie.1.3,sysfsdev=/sys/bus/mdev/devices/11111111-2222-4333-8444-555555555555"
    ])
  })

  it("duplicate node names (an ISO named like <machine>-<raw volume>)", () => {
    assert.deepStrictEqual(
      issues(baseHost(), baseMachine({ volumes: [{ name: "os", storage: "raw" }, { name: "vm-os", storage: "iscsi" }] })),
      [`${M}: $.volumes[1].name: volume "vm-os": failed to attach the "vm-os" file protocol node to the node graph: a node with the given node name already exists`]
    )
  })

  it("node names longer than 31 characters are an error naming the volume (§11.5 fixed)", () => {
    assert.deepStrictEqual(
      issues(baseHost(), baseMachine({ volumes: [{ name: "a-rather-long-volume-name", storage: "raw" }] }, {}), "long-machine"),
      [
        `machine.conf.d/long-machine.conf.json: $.volumes[0].name: volume "a-rather-long-volume-name": QEMU block node name "long-machine-a-rather-long-volume-name-file" is 43 characters long; QEMU allows at most 31 (shorten the machine or volume name)`
      ]
    )
  })

  it("a 128-bit WWN on a SCSI disk is an error (§11.8 fixed); on virtio-blk it is unused", () => {
    const wwn = "0x6000C2912345678901234567890ABCDE"
    assert.deepStrictEqual(issues(baseHost(), baseMachine({ volumes: [{ name: "os", storage: "raw", wwn }] })), [
      `${M}: $.volumes[0].wwn: world wide name 0x6000C2912345678901234567890ABCDE is 128 bits (NAA 6); QEMU's SCSI disks only take a 64-bit WWN`
    ])
    args(baseHost(), baseMachine({ volumes: [{ name: "os", storage: "block", wwn }] }))
  })

  it("collects every problem in one error", () => {
    const found = issues(
      baseHost(),
      {
        id: ID,
        attrs: { hardware: { revision: "1999.01" }, spice: { enabled: true } },
        volumes: [{ name: "a", storage: "nope" }],
        connections: [{ name: "0", network: "nope" }],
        devices: [{ name: "d", class: "nope" }]
      }
    )
    assert.deepStrictEqual(found.map((l) => l.split(": ").slice(0, 2).join(": ")), [
      `${M}: $.attrs.hardware.revision`,
      `${M}: $.attrs.memory.ram`,
      `${M}: $.attrs.spice.enabled`,
      `${M}: $.volumes[0].storage`,
      `${M}: $.connections[0].network`,
      `${M}: $.devices[0].class`
    ])
  })
})

describe("hardware revisions", () => {
  it("2023.04: no pvpanic (first root port at 1.0, chassis 0), four Hyper-V flags", () => {
    const out = args(baseHost({ processor: { z: { brand: "AMD" } } }), baseMachine({ connections: [{ name: "0", network: "lan" }] }, { hardware: { revision: "2023.04" }, enlightenments: { enabled: true } }), "alpha")
    assert.deepStrictEqual(optionLines(out, "cpu"), ["-cpu host,hv_relaxed,hv_spinlocks=0x1fff,hv_vapic,hv_time"])
    assert.deepStrictEqual(deviceLines(out), [
      "-device ioh3420,id=pcie.1.0,chassis=0,bus=pcie.0,addr=1.0,multifunction=on",
      "-device virtio-net-pci,bus=pcie.1.0,mac=52:54:00:7f:69:1f,netdev=net.0"
    ])
  })

  it("2024.12 pinned equals the default", () => {
    const machine = baseMachine({ connections: [{ name: "0", network: "lan" }] }, { enlightenments: { enabled: true } })
    const pinned = baseMachine({ connections: [{ name: "0", network: "lan" }] }, { enlightenments: { enabled: true }, hardware: { revision: "2024.12" } })
    assert.strictEqual(args(baseHost(), pinned), args(baseHost(), machine))
  })

  it("an unknown revision is an error at its origin, listing the known ones", () => {
    const host = baseHost({ tag: { old: { attrs: { hardware: { revision: "2020.01" } } } } })
    assert.deepStrictEqual(issues(host, baseMachine({ tags: ["old"] })), [
      `machina.conf.json: $.tag.old.attrs.hardware.revision: hardware revision "2020.01" is not known (known revisions: 2023.04, 2024.12, 2026.12)`
    ])
  })
})

describe("accelerator", () => {
  it("kvm (default): -enable-kvm and -cpu host", () => {
    const out = args(baseHost({ accelerator: "kvm" }), baseMachine())
    assert.deepStrictEqual(lines(out).slice(2, 7), ["-enable-kvm", "-nodefaults", "-nographic", "-machine type=q35", "-cpu host"])
  })

  it("tcg: -accel tcg in the same place, -cpu max keeping topoext, no Hyper-V flags", () => {
    const host = baseHost({ accelerator: "tcg", processor: { z: { brand: "AMD", threads: 2 } } })
    const out = args(host, baseMachine({}, { enlightenments: { enabled: true } }))
    assert.deepStrictEqual(lines(out).slice(2, 8), ["-accel tcg", "-nodefaults", "-nographic", "-machine type=q35", "-cpu max,topoext=on", "-smp threads=2"])
  })
})

describe("direct kernel boot", () => {
  const host = baseHost({ storage: { boot: { path: "/srv/boot", pattern: "${machine-name}/${volume}", type: "raw" } } })

  it("-kernel, -initrd, -append right after -boot, verbatim", () => {
    const out = args(host, baseMachine({}, {
      boot: { kernel: { name: "vmlinuz", storage: "boot" }, initrd: { name: "initrd.img", storage: "boot" }, append: "console=ttyS0 root=/dev/vda1,rw quiet" }
    }))
    assert.deepStrictEqual(lines(out).slice(9, 13), [
      "-boot menu=on,reboot-timeout=5000",
      "-kernel /srv/boot/vm/vmlinuz",
      "-initrd /srv/boot/vm/initrd.img",
      "-append console=ttyS0 root=/dev/vda1,rw quiet"
    ])
  })

  it("kernel alone", () => {
    const out = args(host, baseMachine({}, { boot: { kernel: { name: "vmlinuz", storage: "boot" } } }))
    assert.deepStrictEqual(lines(out).slice(9, 11), ["-boot menu=on,reboot-timeout=5000", "-kernel /srv/boot/vm/vmlinuz"])
  })

  it("initrd or append without kernel, and unknown pools, are errors", () => {
    assert.deepStrictEqual(issues(host, baseMachine({}, { boot: { initrd: { name: "i", storage: "boot" }, append: "quiet" } })), [
      `${M}: $.attrs.boot.initrd: boot.initrd is only used with boot.kernel, which is not set`,
      `${M}: $.attrs.boot.append: boot.append is only used with boot.kernel, which is not set`
    ])
    assert.deepStrictEqual(issues(host, baseMachine({}, { boot: { kernel: { name: "k", storage: "nope" } } })), [
      `${M}: $.attrs.boot.kernel.storage: storage pool "nope" is not defined (defined pools: boot)`
    ])
  })
})

describe("block node checks", () => {
  it("an empty volume path is an error at the volume's storage", () => {
    const host = baseHost({ storage: { nowhere: { pattern: "${unset}", type: "raw" } } })
    assert.deepStrictEqual(issues(host, baseMachine({ volumes: [{ name: "os", storage: "nowhere" }] })), [
      `${M}: $.volumes[0].storage: an empty path was provided when creating the "vm-os-file" file protocol node`
    ])
  })
})

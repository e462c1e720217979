import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { collisions } from "../../src/domain/Collisions.js"
import { decodeHost, decodeMachine } from "../../src/domain/ConfigFiles.js"
import { compose } from "../../src/domain/Merge.js"
import { duplicateWritableFiles, volumeFiles } from "../../src/domain/VolumeFiles.js"

const host = Either.getOrThrow(decodeHost(JSON.stringify({
  storage: {
    a: { path: "/srv", pattern: "${machine-name}.raw", type: "raw" },
    b: { path: "/srv/", pattern: "./${machine-name}.raw", type: "raw-block" },
    ro: { path: "/srv", pattern: "${machine-name}.raw", type: "raw", readonly: true },
    iso: { path: "/iso", pattern: "one.iso", type: "iso-usb" },
    fw: { path: "/fw", pattern: "${volume}.fd", type: "firmware" },
    fwro: { path: "/fw", pattern: "${volume}.fd", type: "firmware", readonly: true }
  }
}), "h"))

const composed = (name: string, doc: object) =>
  Either.getOrThrow(compose(host, Either.getOrThrow(decodeMachine(JSON.stringify({ attrs: { memory: { ram: 64 } }, ...doc }), `${name}.conf.json`, name))))

describe("writable image files", () => {
  it("two writable volumes on one file are an error naming both and the path", () => {
    const c = composed("vm", { volumes: [{ name: "os", storage: "a" }, { name: "data", storage: "b" }] })
    expect(volumeFiles(host, c).map((f) => [f.path, f.writable])).toEqual([["/srv/vm.raw", true], ["/srv/vm.raw", true]])
    expect(duplicateWritableFiles(host, c).map(String)).toEqual([
      "vm.conf.json: $.volumes[1]: volume \"data\" and volume \"os\" of machine vm are both the writable file /srv/vm.raw; QEMU cannot open one image twice for writing"
    ])
  })

  it("read-only images may share a file: ISOs, read-only pools, firmware code", () => {
    const c = composed("vm", {
      attrs: { memory: { ram: 64 }, firmware: { code: { name: "code", storage: "fw" }, vars: { name: "code", storage: "fwro" } } },
      volumes: [{ name: "os", storage: "a" }, { name: "copy", storage: "ro" }, { name: "i1", storage: "iso" }, { name: "i2", storage: "iso" }]
    })
    expect(duplicateWritableFiles(host, c)).toEqual([])
    expect(volumeFiles(host, c).filter((f) => f.writable).map((f) => f.path)).toEqual(["/srv/vm.raw"])
  })

  it("firmware variables are writable: two machines sharing them collide", () => {
    const fw = { attrs: { memory: { ram: 64 }, firmware: { code: { name: "code", storage: "fw" }, vars: { name: "vars", storage: "fw" } } } }
    const found = collisions([composed("one", fw), composed("two", fw)], host).map(String)
    expect(found).toContain("two.conf.json: $.attrs.firmware.vars: writable image file /fw/vars.fd of firmware.vars volume \"vars\" (machine two) is also used by firmware.vars volume \"vars\" of machine one")
    expect(found.some((l) => l.includes("/fw/code.fd"))).toBe(false)
  })
})

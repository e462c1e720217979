/**
 * Units that work at boot on hosts set up differently: a configuration directory other than
 * /etc/machina travels with the unit in a drop-in (the unit text stays the same), and a machina
 * installed under another prefix is named by its path (taps' ifup/ifdown and the hooks).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { configDropIn } from "../../src/domain/Unit.js"
import * as ConfigStoreFs from "../../src/layers/ConfigStoreFs.js"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import * as UnitStoreMemory from "../../src/layers/UnitStoreMemory.js"
import { installedBinDir } from "../../src/programs/Installation.js"
import { UnitStore } from "../../src/services/UnitStore.js"
import { runCli } from "../support/Cli.js"

const host = { storage: { disks: { path: "/srv", type: "raw" } }, network: { lan: { device: "br0" } } }
const machine = { attrs: { memory: { ram: 512 }, qmp: { enabled: true } }, connections: [{ name: "0", network: "lan" }] }

const withDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "machina-boot-"))),
    f,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

const withEnv = <A, E, R>(name: string, value: string, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = process.env[name]
      process.env[name] = value
      return saved
    }),
    () => effect,
    (saved) => Effect.sync(() => {
      if (saved === undefined) delete process.env[name]
      else process.env[name] = saved
    })
  )

describe("a configuration directory other than /etc/machina", () => {
  it.effect("goes into a drop-in beside the unit; the unit is the same as --preview shows", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const conf = join(dir, "conf")
        const units = join(dir, "units")
        mkdirSync(join(conf, "machine.conf.d"), { recursive: true })
        mkdirSync(units)
        writeFileSync(join(conf, "machina.conf.json"), JSON.stringify(host))
        writeFileSync(join(conf, "machine.conf.d/vm.conf.json"), JSON.stringify(machine))
        const offline = SystemdMemory.layer({ available: false })
        const written = yield* runCli(["--config-dir", conf, "generate", "--no-reload", "--unit-dir", units, "vm"], offline)
        // The only warning: this machine has no id.
        expect(written.stderr).toBe(`${conf}/machine.conf.d/vm.conf.json: $.id: machine vm has no id: QEMU gets no -uuid and guests see no stable system UUID; set "id" to the output of: machina gen-id\n`)
        expect(written.stdout).toBe(
          `${units}/machina-vm.service: created\n${units}/machina-vm.service.d/machina-config.conf: created\n`
        )
        const preview = yield* runCli(["--config-dir", conf, "generate", "--preview", "vm"], offline)
        expect(readFileSync(join(units, "machina-vm.service"), "utf8")).toBe(preview.stdout)
        expect(preview.stdout).toContain("ExecStartPre=machina prepare vm\n")
        expect(readFileSync(join(units, "machina-vm.service.d/machina-config.conf"), "utf8")).toBe(
          "# Written by machina generate: the hooks read this machine's configuration from here.\n" +
            `[Service]\nEnvironment="MACHINA_CONFIG_DIR=${conf}"\n`
        )
        // Idempotent.
        const again = yield* runCli(["--config-dir", conf, "generate", "--no-reload", "--unit-dir", units, "vm"], offline)
        expect(again.stdout).toBe(`${units}/machina-vm.service: unchanged\n${units}/machina-vm.service.d/machina-config.conf: unchanged\n`)
        // MACHINA_CONFIG_DIR is the same as --config-dir.
        const byEnv = yield* withEnv("MACHINA_CONFIG_DIR", conf, runCli(["generate", "--no-reload", "--unit-dir", units, "vm"], offline))
        expect(byEnv.stdout).toBe(again.stdout)
      })))

  it("is recorded absolute, and not at all for /etc/machina itself", () =>
    Effect.runPromise(Effect.gen(function*() {
      const relative = yield* ConfigStoreFs.make({ confDir: "some/conf" })
      expect(relative.bootConfig).toEqual({ directory: resolve("some/conf") })
      expect((yield* ConfigStoreFs.make({ confDir: "/etc/machina" })).bootConfig).toBeUndefined()
      expect((yield* ConfigStoreFs.make({ confDir: "/etc/machina/" })).bootConfig).toBeUndefined()
    })))

  it.effect("a drop-in left from an earlier directory is removed when the units go back to /etc/machina", () =>
    Effect.gen(function*() {
      const store = UnitStoreMemory.makeStore({
        files: { "machina-vm.service.d/machina-config.conf": configDropIn("/srv/old") }
      })
      const layer = Layer.mergeAll(
        ConfigStoreMemory.layer({ location: "/etc/machina", host, machines: { vm: machine } }),
        SystemdMemory.layer(),
        Layer.succeed(UnitStore, store)
      )
      const r = yield* runCli(["generate", "vm"], layer)
      expect(r.stdout).toBe(
        "/etc/systemd/system/machina-vm.service: created\n" +
          "/etc/systemd/system/machina-vm.service.d/machina-config.conf: removed\n" +
          "systemd: units reloaded\n"
      )
      expect([...store.files().keys()]).toEqual(["machina-vm.service"])
    }))

  it("the drop-in escapes what systemd would expand or unquote", () => {
    expect(configDropIn("/srv/50% \"x\"\\y")).toContain(`Environment="MACHINA_CONFIG_DIR=/srv/50%% \\"x\\"\\\\y"\n`)
  })
})

describe("a machina installed under another prefix", () => {
  it("is found from the running program when its links sit beside it", () =>
    Effect.runPromise(withDir((dir) =>
      Effect.sync(() => {
        const bin = join(dir, "usr/local/bin")
        mkdirSync(bin, { recursive: true })
        writeFileSync(join(bin, "machina"), "")
        expect(installedBinDir(join(bin, "machina"), {})).toBeUndefined() // links missing
        writeFileSync(join(bin, "machina-ifup"), "")
        writeFileSync(join(bin, "machina-ifdown"), "")
        expect(readdirSync(bin).sort()).toEqual(["machina", "machina-ifdown", "machina-ifup"])
        expect(installedBinDir(join(bin, "machina"), {})).toBe(bin)
        expect(installedBinDir(join(bin, "machina-ifup"), {})).toBe(bin)
        expect(installedBinDir("/usr/bin/machina", {})).toBeUndefined()
        expect(installedBinDir(resolve("dist/machina.cjs"), {})).toBeUndefined()
        expect(installedBinDir(undefined, { MACHINA_BIN_DIR: "/opt/machina/bin" })).toBe("/opt/machina/bin")
        expect(installedBinDir(join(bin, "machina"), { MACHINA_BIN_DIR: "/usr/bin" })).toBeUndefined()
      }))))

  it.effect("units name its ifup/ifdown and its hooks by path; /usr/bin keeps the units byte-identical", () =>
    Effect.gen(function*() {
      const config = ConfigStoreMemory.layer({ location: "/etc/machina", host, machines: { vm: machine } })
      const plain = yield* runCli(["generate", "--preview", "vm"], config)
      expect(plain.stdout).toContain(",script=/usr/bin/machina-ifup,downscript=/usr/bin/machina-ifdown")
      const usrBin = yield* withEnv("MACHINA_BIN_DIR", "/usr/bin", runCli(["generate", "--preview", "vm"], config))
      expect(usrBin.stdout).toBe(plain.stdout)

      const local = yield* withEnv("MACHINA_BIN_DIR", "/usr/local/bin", runCli(["generate", "--preview", "vm"], config))
      expect(local.stdout).toContain(",script=/usr/local/bin/machina-ifup,downscript=/usr/local/bin/machina-ifdown")
      expect(local.stdout).toContain("ExecStartPre=/usr/local/bin/machina prepare vm\n")
      expect(local.stdout).toContain("ExecStop=/usr/local/bin/machina shutdown --system --timeout 1m25s vm\n")
      expect(local.stdout).toContain("ExecStopPost=/usr/local/bin/machina teardown vm\n")
      // Nothing else changes.
      const normalise = (s: string) => s.replaceAll("/usr/local/bin/machina", "machina").replaceAll("/usr/bin/machina", "machina")
      expect(normalise(local.stdout)).toBe(normalise(plain.stdout))
      const args = yield* withEnv("MACHINA_BIN_DIR", "/usr/local/bin", runCli(["args", "vm"], config))
      expect(args.stdout).toContain("script=/usr/local/bin/machina-ifup")
    }))
})

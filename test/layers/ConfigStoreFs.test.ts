/** The configuration directory as commands edit it: machine files written atomically and removed; unit listing. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreFs from "../../src/layers/ConfigStoreFs.js"
import * as QemuInfoMemory from "../../src/layers/QemuInfoMemory.js"
import * as UnitStoreFs from "../../src/layers/UnitStoreFs.js"
import { runCli } from "../support/Cli.js"

const withDir = <A, E>(f: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "machina-conf-"))),
    f,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("ConfigStoreFs writing", () => {
  it.effect("writeMachineText replaces the file keeping its mode and leaves no temporary file; removeMachine is idempotent", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        mkdirSync(join(dir, "machine.conf.d"))
        const file = join(dir, "machine.conf.d", "vm.conf.json")
        writeFileSync(file, "{}\n")
        chmodSync(file, 0o640)
        const store = yield* ConfigStoreFs.make({ confDir: dir })
        yield* store.writeMachineText("vm", "{ \"description\": \"x\" }\n")
        expect(readFileSync(file, "utf8")).toBe("{ \"description\": \"x\" }\n")
        expect(statSync(file).mode & 0o777).toBe(0o640)
        expect(readdirSync(join(dir, "machine.conf.d"))).toEqual(["vm.conf.json"])
        expect(yield* store.readMachineText("vm")).toBe("{ \"description\": \"x\" }\n")
        const bad = yield* Effect.flip(store.writeMachineText("../x", "{}"))
        expect(bad._tag).toBe("MachineNameError")
        expect(yield* store.removeMachine("vm")).toBe(true)
        expect(yield* store.removeMachine("vm")).toBe(false)
        expect(readdirSync(join(dir, "machine.conf.d"))).toEqual([])
      })))

  it.effect("pin-hardware on a real directory: tabs and keys kept, invalid results refused without writing", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        mkdirSync(join(dir, "machine.conf.d"))
        writeFileSync(join(dir, "machina.conf.json"), JSON.stringify({ storage: {}, network: {} }))
        const file = join(dir, "machine.conf.d", "vm.conf.json")
        const original = "{\n\t\"description\": \"v\",\n\t\"attrs\": {\n\t\t\"memory\": { \"ram\": 64 }\n\t}\n}\n"
        writeFileSync(file, original)
        writeFileSync(join(dir, "machine.conf.d", "bad.conf.json"), "{ \"attrs\": {} }\n")
        const qemu = QemuInfoMemory.layer({ newestQ35: "pc-q35-9.2" })
        const r = yield* runCli(["--config-dir", dir, "pin-hardware", "vm"], qemu)
        expect(r.stderr).toBe("")
        expect(readFileSync(file, "utf8")).toBe(
          "{\n\t\"description\": \"v\",\n\t\"attrs\": {\n\t\t\"memory\": {\n\t\t\t\"ram\": 64\n\t\t},\n\t\t\"hardware\": {\n\t\t\t\"revision\": \"2026.12\",\n\t\t\t\"machine-type\": \"pc-q35-9.2\"\n\t\t}\n\t}\n}\n"
        )
        // bad has no memory.ram: generation fails, so neither file is written
        const before = readFileSync(file, "utf8")
        const refused = yield* runCli(["--config-dir", dir, "pin-hardware", "--revision", "2023.04", "vm", "bad"], qemu)
        expect(refused.exitCode).toBe(1)
        expect(refused.stderr).toMatch(/bad\.conf\.json: \$\.attrs\.memory\.ram: memory\.ram is required/)
        expect(readFileSync(file, "utf8")).toBe(before)
        expect(readFileSync(join(dir, "machine.conf.d", "bad.conf.json"), "utf8")).toBe("{ \"attrs\": {} }\n")
        const unknown = yield* runCli(["--config-dir", dir, "pin-hardware", "--revision", "1999.01", "vm"], Layer.empty)
        expect(unknown.exitCode).toBe(1)
        expect(unknown.stderr).toContain("hardware revision \"1999.01\" is not known")
      })))
})

describe("UnitStoreFs.list", () => {
  it.effect("lists machina-*.service files only, sorted, never hidden temporary files", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        for (const f of ["machina-b.service", "machina-a.service", ".machina-a.service.1234.tmp", "machina-.service", "other.service", "machina-c.timer"]) {
          writeFileSync(join(dir, f), "")
        }
        const store = yield* UnitStoreFs.make({ directory: dir })
        expect(yield* store.list("machina-")).toEqual(["machina-a.service", "machina-b.service"])
      })))
})

/**
 * The everyday commands beyond the original's: restart, kill, reset, logs, new, `--all`,
 * `args --shell`. Simulated hosts (SystemdMemory, QmpMemory) or a configuration on disk.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreFs from "../../src/layers/ConfigStoreFs.js"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as QmpMemory from "../../src/layers/QmpMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { QEMU_EXECUTABLE, toArgv } from "../../src/domain/qemu/Options.js"
import { buildAll, type Built } from "../../src/programs/QemuArgs.js"
import { Processes } from "../../src/services/Processes.js"
import { Qmp } from "../../src/services/Qmp.js"
import { runCli } from "../support/Cli.js"

const machine = { attrs: { memory: { ram: 512 }, qmp: { enabled: true } } }
const store = ConfigStoreMemory.layer({
  location: "/etc/machina",
  host: { storage: {}, network: {} },
  machines: { web: machine, db: machine }
})
const withUnits = (units: ReadonlyArray<SystemdMemory.UnitDefinition>) => Layer.mergeAll(store, SystemdMemory.layer({ units }), QmpMemory.layer)
const bothRunning = withUnits([
  { name: "machina-web.service", activeState: "active" },
  { name: "machina-db.service", activeState: "active" }
])

describe("restart and kill", () => {
  it.effect("restart restarts the unit and waits for the job", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["restart", "web"])
      expect(r).toEqual({ stdout: "web: restarted\n", stderr: "", exitCode: 0 })
      const journal = yield* (yield* SystemdMemory.SystemdMemoryControl).journal
      expect(journal.map((j) => `${j.operation} ${j.unit}`)).toContain("restart machina-web.service")
    }).pipe(Effect.provide(bothRunning)))

  it.effect("kill sends SIGKILL through systemd; a stopped machine is reported, exit 1", () =>
    Effect.gen(function*() {
      const control = yield* SystemdMemory.SystemdMemoryControl
      const r = yield* runCli(["kill", "web"])
      expect(r).toEqual({ stdout: "web: killed (SIGKILL)\n", stderr: "", exitCode: 0 })
      expect((yield* control.journal).at(-1)).toEqual({ operation: "kill", unit: "machina-web.service", result: "9" })
      const again = yield* runCli(["kill", "web"])
      expect(again.stderr).toBe("web is not running (machina-web.service is failed)\n")
      expect(again.exitCode).toBe(1)
    }).pipe(Effect.provide(bothRunning)))
})

describe("--all", () => {
  it.effect("without a terminal, refuses to act on every machine unless --yes; nothing is done", () =>
    Effect.gen(function*() {
      for (const command of ["stop", "restart", "kill", "shutdown"]) {
        const refused = yield* runCli([command, "--all"])
        expect(refused.stdout).toBe("")
        expect(refused.stderr).toBe(
          `machina: error: ${command} --all would act on every machine (db, web) and there is no terminal to ask; nothing was done. Pass --yes to confirm\n`
        )
        expect(refused.exitCode).toBe(1)
      }
      expect(yield* (yield* SystemdMemory.SystemdMemoryControl).journal).toEqual([])
      // start --all does not ask: starting is what a host does at boot anyway.
    }).pipe(Effect.provide(bothRunning)))

  it.effect("acts on every machine of the host with --yes", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["stop", "--all", "--yes"])
      expect(r.exitCode).toBe(0)
      expect(r.stdout.split("\n").sort().join("\n")).toBe("\ndb: stopped\nweb: stopped")
      const status = yield* runCli(["status", "--all"])
      expect(status.exitCode).toBe(3)
    }).pipe(Effect.provide(bothRunning)))

  it.effect("with machine names, or with neither, is a usage error", () =>
    Effect.gen(function*() {
      expect(yield* runCli(["stop", "--all", "web"])).toEqual({
        stdout: "",
        stderr: "machina: error: \"machina stop\" takes MACHINE... or --all, not both\n",
        exitCode: 2
      })
      expect(yield* runCli(["start"])).toEqual({ stdout: "", stderr: "machina: error: \"machina start\" needs MACHINE... or --all\n", exitCode: 2 })
    }).pipe(Effect.provide(bothRunning)))
})

describe("reset", () => {
  it.effect("sends system_reset over QMP", () =>
    Effect.gen(function*() {
      const sim = yield* QmpMemory.QmpSimulator
      const vm = yield* sim.addMachine({ sockets: ["/run/machina/web/command.0.qmp.socket", "/run/machina/web/command.1.qmp.socket"] })
      const r = yield* runCli(["reset", "web"])
      expect(r).toEqual({ stdout: "web: reset\n", stderr: "", exitCode: 0 })
      expect((yield* vm.commands).map((c) => c.command)).toEqual(["qmp_capabilities", "system_reset"])
      const down = yield* runCli(["reset", "db"])
      expect(down.stderr).toMatch(/^db is not running \(no QMP socket at \/run\/machina\/db\/command\.0\.qmp\.socket\)\n/)
      expect(down.exitCode).toBe(1)
    }).pipe(Effect.provide(Layer.mergeAll(store, SystemdMemory.layer({ available: false }), QmpMemory.layer))))

  it.effect("answers like QEMU: a RESET event follows", () =>
    Effect.gen(function*() {
      const sim = yield* QmpMemory.QmpSimulator
      yield* sim.addMachine({ sockets: ["/run/machina/web/command.0.qmp.socket"] })
      const qmp = yield* Qmp
      const session = yield* qmp.connect(["/run/machina/web/command.0.qmp.socket"])
      const events = yield* session.subscribe
      expect(yield* session.execute("system_reset")).toBe("{}")
      const first = yield* Stream.runHead(events)
      expect(Option.map(first, (e) => e.event)).toEqual(Option.some("RESET"))
    }).pipe(Effect.scoped, Effect.provide(QmpMemory.layer)))
})

describe("logs", () => {
  it.effect("runs journalctl on the unit with an argument array", () =>
    Effect.gen(function*() {
      const calls: Array<ReadonlyArray<string>> = []
      const processes = Layer.succeed(Processes, {
        runForeground: (command, args) => Effect.sync(() => {
          calls.push([command, ...args])
          return { code: 0, signal: null }
        }),
        withArgument: () => Effect.succeed([]),
        ownCgroup: Effect.succeed(Option.none())
      })
      const layer = Layer.merge(store, processes)
      expect((yield* runCli(["logs", "web"], layer)).exitCode).toBe(0)
      expect((yield* runCli(["logs", "-f", "-n", "50", "web"], layer)).exitCode).toBe(0)
      expect(calls).toEqual([
        ["journalctl", "--no-pager", "--unit=machina-web.service"],
        ["journalctl", "--no-pager", "--unit=machina-web.service", "--lines=50", "--follow"]
      ])
      expect((yield* runCli(["logs", "nope"], layer)).stderr).toMatch(/nope\.conf\.json: file not found/)
    }))
})

describe("new", () => {
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), "machina-new-"))
    cpSync("examples/seed/machina.conf.json", join(dir, "machina.conf.json"))
    return dir
  }

  it.effect("writes a validated machine with a fresh UUID, and never overwrites", () =>
    Effect.gen(function*() {
      const dir = scratch()
      try {
        const argv = ["--config-dir", dir, "new", "web01", "--tag", "vdi-employee", "--tag", "vdi-cad", "--tag", "windows", "--tag", "firmware-202302", "--var", "employee-id=7"]
        const r = yield* runCli(argv)
        const file = join(dir, "machine.conf.d/web01.conf.json")
        expect(r).toEqual({ stdout: `${file}: created\n`, stderr: "", exitCode: 0 })
        const written = JSON.parse(readFileSync(file, "utf8")) as { id: string; tags: Array<string>; vars: Record<string, string> }
        expect(written.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect(written.tags).toEqual(["vdi-employee", "vdi-cad", "windows", "firmware-202302"])
        expect(written.vars).toEqual({ "employee-id": "7" })
        expect((yield* runCli(["--config-dir", dir, "check"])).exitCode).toBe(0)
        const before = readFileSync(file, "utf8")
        const again = yield* runCli(argv)
        expect(again.exitCode).toBe(1)
        expect(again.stderr).toContain("machine web01 already exists")
        expect(readFileSync(file, "utf8")).toBe(before)
        // A second machine gets another UUID.
        yield* runCli([...argv.slice(0, 3), "web02", ...argv.slice(4)])
        expect(JSON.parse(readFileSync(join(dir, "machine.conf.d/web02.conf.json"), "utf8")).id).not.toBe(written.id)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))

  it.effect("writes nothing for a machine that does not validate", () =>
    Effect.gen(function*() {
      const dir = scratch()
      try {
        const r = yield* runCli(["--config-dir", dir, "new", "web01", "--tag", "nope"])
        expect(r.exitCode).toBe(1)
        expect(r.stderr).toMatch(/web01\.conf\.json: \$\.tags\[0\]: tag "nope" is not defined/)
        expect(existsSync(join(dir, "machine.conf.d/web01.conf.json"))).toBe(false)
        expect((yield* runCli(["--config-dir", dir, "new", "Bad/name"])).exitCode).toBe(2)
        expect((yield* runCli(["--config-dir", dir, "new", "web01", "--var", "novalue"])).exitCode).toBe(2)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))
})

describe("args --shell", () => {
  it.effect("prints one line a shell splits back into the binary and the exact arguments", () =>
    Effect.gen(function*() {
      const r = yield* runCli(["--config-dir", "examples/seed", "args", "--shell", "test-vm"])
      expect(r.exitCode).toBe(0)
      const line = r.stdout.replace(/\n$/, "")
      expect(line).not.toContain("\n")
      // The line is what a user pastes: let a real shell split it.
      const split = spawnSync("/bin/sh", ["-c", `printf '%s\\n' ${line}`], { encoding: "utf8" })
      expect(split.status).toBe(0)
      // A provided ConfigStore wins over --config-dir, so the root command's options are never read.
      const { built } = yield* (buildAll(["test-vm"]).pipe(Effect.provide(ConfigStoreFs.layer({ confDir: "examples/seed" }))) as unknown as Effect.Effect<
        { readonly built: ReadonlyArray<Built> },
        unknown
      >)
      expect(split.stdout.split("\n").slice(0, -1)).toEqual([QEMU_EXECUTABLE, ...toArgv(built[0]!.options)])
    }))
})

describe("edit", () => {
  /** A real editor program: a shell script that writes the given text into the file it is given. */
  const editorWriting = (dir: string, text: string) => {
    const script = join(dir, "editor.sh")
    writeFileSync(join(dir, "replacement.json"), text)
    writeFileSync(script, `#!/bin/sh\ncat "${join(dir, "replacement.json")}" > "$1"\n`, { mode: 0o755 })
    return script
  }
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), "machina-edit-test-"))
    cpSync("examples/seed", join(dir, "etc"), { recursive: true })
    return dir
  }
  const withEditor = <A, E, R>(editor: string, effect: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const saved = [process.env["VISUAL"], process.env["EDITOR"]] as const
        delete process.env["VISUAL"]
        process.env["EDITOR"] = editor
        return saved
      }),
      () => effect,
      ([visual, editorBefore]) => Effect.sync(() => {
        if (visual !== undefined) process.env["VISUAL"] = visual
        if (editorBefore === undefined) delete process.env["EDITOR"]
        else process.env["EDITOR"] = editorBefore
      })
    )

  it.effect("saves a copy that validates, refuses one that does not (no terminal: no second round)", () =>
    Effect.gen(function*() {
      const dir = scratch()
      try {
        const file = join(dir, "etc/machine.conf.d/test-vm.conf.json")
        const original = readFileSync(file, "utf8")
        const edited = original.replace("Test VM (2023-04-27)", "Edited VM")
        const ok = yield* withEditor(editorWriting(dir, edited), runCli(["--config-dir", join(dir, "etc"), "edit", "test-vm"]))
        expect(ok).toEqual({ stdout: `${file}: saved\n`, stderr: "", exitCode: 0 })
        expect(readFileSync(file, "utf8")).toBe(edited)

        const broken = edited.replace(`"tags": [`, `"tags": ["no-such-tag", `)
        const refused = yield* withEditor(editorWriting(dir, broken), runCli(["--config-dir", join(dir, "etc"), "edit", "test-vm"]))
        expect(refused.exitCode).toBe(1)
        expect(refused.stderr).toMatch(/test-vm\.conf\.json: \$\.tags\[0\]: tag "no-such-tag" is not defined/)
        expect(refused.stderr).toContain(`machina: ${file} left unchanged\n`)
        expect(readFileSync(file, "utf8")).toBe(edited)

        const same = yield* withEditor("true", runCli(["--config-dir", join(dir, "etc"), "edit", "test-vm"]))
        expect(same).toEqual({ stdout: `${file}: unchanged\n`, stderr: "", exitCode: 0 })
        const failing = yield* withEditor("false", runCli(["--config-dir", join(dir, "etc"), "edit", "test-vm"]))
        expect(failing.exitCode).toBe(1)
        expect(readFileSync(file, "utf8")).toBe(edited)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))
})

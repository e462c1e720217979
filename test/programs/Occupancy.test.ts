/**
 * `run`, and `prepare`/`teardown` by hand, refuse a machine that its unit, another machina or a
 * QEMU has, and change nothing; the unit's own hooks (inside its control group) still work.
 * `shutdown --system` (the unit's ExecStop) succeeds when QEMU has already exited, and fails
 * when a QEMU still runs. All on a simulated host: configuration, systemd, sysfs, processes and
 * QMP in memory, the CLI in-process.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as HostLockFs from "../../src/layers/HostLockFs.js"
import * as MdevMemory from "../../src/layers/MdevMemory.js"
import * as ProcessesMemory from "../../src/layers/ProcessesMemory.js"
import * as QmpMemory from "../../src/layers/QmpMemory.js"
import * as SystemdMemory from "../../src/layers/SystemdMemory.js"
import { HostLock } from "../../src/services/HostLock.js"
import { runCli } from "../support/Cli.js"

const host = {
  storage: { disks: { path: "/var/lib/machina", type: "raw" } },
  mdev: { gpu0: { address: "0000:c1:00.0", types: { desktop: "GRID T4-1Q" } } }
}
const machines = {
  vdi: {
    id: "00000000-0000-0000-0000-000000000001",
    attrs: { memory: { ram: 1024 }, qmp: { enabled: true } },
    devices: [{ name: "vgpu", class: "desktop" }]
  },
  plain: { attrs: { memory: { ram: 512 } } }
}
const UNIT = "machina-vdi.service"
const OWN_CGROUP = `/system.slice/${UNIT}`

const simulated = (runDir: string, processes: ProcessesMemory.Options) =>
  Layer.mergeAll(
    ConfigStoreMemory.layer({ location: "/etc/machina", host, machines }),
    MdevMemory.layer({ parents: [{ address: "0000:c1:00.0", types: [{ dir: "nvidia-222", name: "GRID T4-1Q" }] }] }),
    SystemdMemory.layer({ units: [{ name: UNIT, activeState: "active" }] }),
    ProcessesMemory.layer(processes),
    Layer.effect(HostLock, HostLockFs.make({ runtimeDir: runDir, timeout: "1 second" })),
    QmpMemory.layer
  )

type Services = Layer.Layer.Success<ReturnType<typeof simulated>>

/** Runs `f` with a temporary run directory (MACHINA_RUN_DIR) and the host `layerOf` gives for it. */
const withRunDir = <A, E, S>(
  layerOf: (runDir: string) => Layer.Layer<S>,
  f: (runDir: string) => Effect.Effect<A, E, S>
): Effect.Effect<A, E> =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "machina-occupancy-"))),
    (dir) =>
      Effect.gen(function*() {
        const previous = process.env["MACHINA_RUN_DIR"]
        process.env["MACHINA_RUN_DIR"] = dir
        return yield* f(dir).pipe(Effect.provide(layerOf(dir)), Effect.ensuring(Effect.sync(() => {
          if (previous === undefined) delete process.env["MACHINA_RUN_DIR"]
          else process.env["MACHINA_RUN_DIR"] = previous
        })))
      }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

const withHost = <A, E>(
  f: (runDir: string) => Effect.Effect<A, E, Services>,
  processes: ProcessesMemory.Options = {}
): Effect.Effect<A, E> => withRunDir((dir) => simulated(dir, processes), f)

/** Sets environment variables for the duration of `effect` (systemd's ExecStop environment). */
const withEnv = <A, E, R>(env: Record<string, string>, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
      Object.assign(process.env, env)
      return saved
    }),
    () => effect,
    (saved) => Effect.sync(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    })
  )

const setUnit = (activeState: string, subState: string, mainPid = 0) =>
  Effect.flatMap(SystemdMemory.SystemdMemoryControl, (c) => c.setState(UNIT, { activeState, subState, mainPid }))

const systemSocket = (runDir: string) => join(runDir, "vdi/systemd.0.qmp.socket")

describe("run, prepare and teardown refuse a machine in use", () => {
  it.effect("run of a machine whose unit is active refuses, naming the unit, and changes nothing", () =>
    withHost((runDir) =>
      Effect.gen(function*() {
        yield* setUnit("active", "running", 4242)
        const r = yield* runCli(["run", "vdi"])
        expect(r.exitCode).toBe(1)
        expect(r.stdout).toBe("")
        expect(r.stderr).toBe(
          `machina: error: run vdi: refused: its unit ${UNIT} is active (running, pid 4242); nothing was changed.\n` +
            `                The machine runs under systemd: use "machina status vdi", or "machina stop vdi" first to run it by hand.\n`
        )
        expect(yield* (yield* ProcessesMemory.ProcessesMemoryControl).runs).toEqual([])
        expect(yield* (yield* MdevMemory.MdevMemoryControl).devices).toEqual([])
        expect(existsSync(join(runDir, "vdi"))).toBe(false)
        // Starting, stopping or waiting to restart count as in use too.
        for (const [state, sub] of [["activating", "auto-restart"], ["deactivating", "stop-sigterm"], ["activating", "start-pre"]] as const) {
          yield* setUnit(state, sub)
          const again = yield* runCli(["run", "vdi"])
          expect(again.exitCode).toBe(1)
          expect(again.stderr).toContain(`its unit ${UNIT} is ${state} (${sub})`)
        }
        expect(yield* (yield* ProcessesMemory.ProcessesMemoryControl).runs).toEqual([])
      })))

  it.effect("prepare and teardown by hand refuse while the unit is active; the unit's own hooks proceed", () =>
    withHost((runDir) =>
      Effect.gen(function*() {
        const procs = yield* ProcessesMemory.ProcessesMemoryControl
        const mdev = yield* MdevMemory.MdevMemoryControl
        // systemd runs ExecStartPre inside the unit's cgroup while the unit is activating.
        yield* setUnit("activating", "start-pre")
        yield* procs.setCgroup(OWN_CGROUP)
        const hook = yield* runCli(["prepare", "vdi"])
        expect(hook.stderr).toBe("")
        expect(hook.exitCode).toBe(0)
        expect(yield* mdev.devices).toHaveLength(1)

        // The same commands typed by an admin while the machine runs.
        yield* setUnit("active", "running", 4242)
        yield* procs.setCgroup("/user.slice/user-0.slice/session-3.scope")
        for (const command of ["prepare", "teardown"]) {
          const r = yield* runCli([command, "vdi"])
          expect(r.exitCode).toBe(1)
          expect(r.stderr).toContain(`machina: error: ${command} vdi: refused: its unit ${UNIT} is active (running, pid 4242); nothing was changed.`)
          expect(r.stderr).toContain(`stop the unit first: "machina stop vdi"`)
        }
        expect(yield* mdev.devices).toHaveLength(1)

        // A hook of ANOTHER unit is not this unit's hook.
        yield* procs.setCgroup("/system.slice/machina-other.service")
        expect((yield* runCli(["teardown", "vdi"])).exitCode).toBe(1)
        expect(yield* mdev.devices).toHaveLength(1)

        // ExecStopPost, inside the unit's cgroup while it is deactivating.
        yield* setUnit("deactivating", "stop-post")
        yield* procs.setCgroup(OWN_CGROUP)
        const post = yield* runCli(["teardown", "vdi"])
        expect(post.exitCode).toBe(0)
        expect(post.stdout).toMatch(/removed mediated device/)
        expect(yield* mdev.devices).toEqual([])
        expect(existsSync(join(runDir, "vdi"))).toBe(true) // made by the hook's prepare
      })))

  it.effect("run refuses while another machina holds the machine, and when a QEMU of it runs", () =>
    withHost((runDir) =>
      Effect.gen(function*() {
        yield* setUnit("inactive", "dead")
        // A live process (PID 1) holds the lock, as a `machina run` would.
        mkdirSync(join(runDir, ".locks"), { recursive: true })
        writeFileSync(join(runDir, ".locks/vdi.lock"), JSON.stringify({ pid: 1, start: null, token: "t", machine: "vdi" }))
        const held = yield* runCli(["run", "vdi"])
        expect(held.exitCode).toBe(1)
        expect(held.stderr).toContain("run vdi: refused: another machina (pid 1) holds the machine; nothing was changed.")
        expect((yield* runCli(["prepare", "vdi"])).stderr).toContain("prepare vdi: refused: another machina (pid 1) holds the machine")
        rmSync(join(runDir, ".locks/vdi.lock"))

        const procs = yield* ProcessesMemory.ProcessesMemoryControl
        yield* procs.add({ pid: 777, argv: ["qemu-system-x86_64", "-chardev", `socket,id=qmp.0,server=on,wait=off,path=${systemSocket(runDir)}`] })
        const qemu = yield* runCli(["run", "vdi"])
        expect(qemu.exitCode).toBe(1)
        expect(qemu.stderr).toContain("run vdi: refused: a QEMU of this machine is running (pid 777)")
        expect(qemu.stderr).toContain(`"machina shutdown --wait vdi"`)
        expect(yield* procs.runs).toEqual([])
        expect(yield* (yield* MdevMemory.MdevMemoryControl).devices).toEqual([])

        // Free again: run prepares, runs QEMU once and tears down.
        yield* procs.remove(777)
        const ran = yield* runCli(["run", "vdi"])
        expect(ran.stderr).toBe("")
        expect(ran.exitCode).toBe(0)
        const runs = yield* procs.runs
        expect(runs).toHaveLength(1)
        expect(runs[0]![0]).toBe("qemu-system-x86_64")
        expect(ran.stdout).toMatch(/created mediated device[^]*removed mediated device/)
        expect(yield* (yield* MdevMemory.MdevMemoryControl).devices).toEqual([])
      })))

  it.effect("a host without a system bus has no units: run proceeds", () =>
    withHost(() =>
      Effect.gen(function*() {
        yield* (yield* SystemdMemory.SystemdMemoryControl).setAvailable(false)
        const r = yield* runCli(["run", "vdi"])
        expect(r.stderr).toBe("")
        expect(r.exitCode).toBe(0)
      })))
})

describe("shutdown --system (the unit's ExecStop)", () => {
  it.effect("succeeds when QEMU has already exited (socket gone or stale, no QEMU process)", () =>
    withHost((runDir) =>
      Effect.gen(function*() {
        const exited = yield* withEnv(
          { EXIT_CODE: "exited", EXIT_STATUS: "0", SERVICE_RESULT: "success" },
          runCli(["shutdown", "--system", "--timeout", "1m25s", "vdi"])
        )
        expect(exited.stderr).toBe("")
        expect(exited.exitCode).toBe(0)
        expect(exited.stdout).toBe("vdi: QEMU has already exited (main process exited, status=0). Shutdown complete.\n")

        // A stale socket of a dead QEMU, run by hand (no systemd environment).
        yield* (yield* QmpMemory.QmpSimulator).addStaleSocket(systemSocket(runDir))
        const stale = yield* runCli(["shutdown", "--system", "vdi"])
        expect(stale.exitCode).toBe(0)
        expect(stale.stdout).toBe("vdi: QEMU has already exited (no QEMU process serves its QMP socket). Shutdown complete.\n")
      })))

  it.effect("fails when the socket is missing while QEMU still runs", () =>
    withHost((runDir) =>
      Effect.gen(function*() {
        // systemd says the main process runs ($MAINPID is set only then).
        const running = yield* withEnv({ MAINPID: "4242" }, runCli(["shutdown", "--system", "vdi"]))
        expect(running.exitCode).toBe(1)
        // It runs: the message says the socket cannot be reached, not that the machine is down.
        expect(running.stderr).toBe(`cannot reach vdi's QMP socket at ${systemSocket(runDir)} (no such socket; QEMU pid 4242 is running)\nmachina: error: shutdown failed for vdi\n`)
        expect(running.stdout).toBe("")

        // No systemd environment, but a QEMU serving that socket is alive.
        yield* (yield* ProcessesMemory.ProcessesMemoryControl).add({ pid: 99, argv: ["qemu-system-x86_64", `socket,id=qmp.0,server=on,wait=off,path=${systemSocket(runDir)}`] })
        const alive = yield* runCli(["shutdown", "--system", "vdi"])
        expect(alive.exitCode).toBe(1)
        expect(alive.stderr).toContain(`cannot reach vdi's QMP socket at ${systemSocket(runDir)} (no such socket; QEMU pid 99 is running)`)
        expect(alive.stderr).not.toContain("is not running")

        // A stale socket (nothing listens) while systemd says the main process runs.
        yield* (yield* ProcessesMemory.ProcessesMemoryControl).remove(99)
        yield* (yield* QmpMemory.QmpSimulator).addStaleSocket(systemSocket(runDir))
        const stale = yield* withEnv({ MAINPID: "4242" }, runCli(["shutdown", "--system", "vdi"]))
        expect(stale.exitCode).toBe(1)
        expect(stale.stderr).toContain(`cannot reach vdi's QMP socket at ${systemSocket(runDir)} (nothing listens on it; QEMU pid 4242 is running)`)

        // Without --system nothing changes: a missing socket is a failure.
        const plain = yield* runCli(["shutdown", "vdi"])
        expect(plain.exitCode).toBe(1)
      })))

  it.effect("a machine without QMP: only systemd's word that the main process exited makes it a success", () =>
    withHost(() =>
      Effect.gen(function*() {
        const exited = yield* withEnv({ EXIT_CODE: "exited", EXIT_STATUS: "0" }, runCli(["shutdown", "--system", "plain"]))
        expect(exited.exitCode).toBe(0)
        expect(exited.stdout).toBe("plain: QEMU has already exited (main process exited, status=0). Shutdown complete.\n")
        const byHand = yield* runCli(["shutdown", "--system", "plain"])
        expect(byHand.exitCode).toBe(1)
        expect(byHand.stderr).toContain("plain: Failed to issue shutdown command: no QMP socket available.\n")
        const running = yield* withEnv({ MAINPID: "4242" }, runCli(["shutdown", "--system", "plain"]))
        expect(running.exitCode).toBe(1)
      })))

  it.effect("a guest that is still running is powered off through the systemd socket as before", () =>
    withHost((runDir) =>
      Effect.gen(function*() {
        yield* (yield* QmpMemory.QmpSimulator).addMachine({ sockets: [systemSocket(runDir)] })
        const r = yield* withEnv({ MAINPID: "4242" }, runCli(["shutdown", "--system", "--timeout", "1m25s", "vdi"]))
        expect(r.exitCode).toBe(0)
        expect(r.stdout).toMatch(/^vdi: Issued shutdown command\.\n[^]*vdi: QMP socket closed\. Shutdown complete\.\n$/)
      })))
})

// Without a QMP service given, `shutdown --system` uses the unix sockets. When every machine's
// socket file is gone and no QEMU serves it, it says so without loading the QMP client
// (Shutdown.ts `allExited`): same lines and statuses as through the client, which everything
// else still goes through.
describe("shutdown --system through unix sockets", () => {
  const twoMachines = {
    vdi: machines.vdi,
    db: { attrs: { memory: { ram: 512 }, qmp: { enabled: true } } }
  }
  const socketHost = (processes: ProcessesMemory.Options) =>
    Layer.mergeAll(
      ConfigStoreMemory.layer({ location: "/etc/machina", host, machines: twoMachines }),
      SystemdMemory.layer({ units: [{ name: UNIT, activeState: "inactive" }] }),
      ProcessesMemory.layer(processes)
    )
  const withSockets = <A, E>(
    f: (runDir: string) => Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof socketHost>>>,
    processes: ProcessesMemory.Options = {}
  ): Effect.Effect<A, E> => withRunDir(() => socketHost(processes), f)
  const socketOf = (runDir: string, machine: string) => join(runDir, `${machine}/systemd.0.qmp.socket`)

  it.effect("machines whose socket files are gone and whose QEMU no process runs: each said to have exited", () =>
    withSockets(() =>
      Effect.gen(function*() {
        const byHand = yield* runCli(["shutdown", "--system", "vdi", "db"])
        expect(byHand).toMatchObject({ exitCode: 0, stderr: "" })
        expect(byHand.stdout).toBe(
          "vdi: QEMU has already exited (no QEMU process serves its QMP socket). Shutdown complete.\n" +
            "db: QEMU has already exited (no QEMU process serves its QMP socket). Shutdown complete.\n"
        )
        const underSystemd = yield* withEnv({ EXIT_CODE: "killed", EXIT_STATUS: "TERM" }, runCli(["shutdown", "--system", "--timeout", "1m25s", "vdi"]))
        expect(underSystemd).toMatchObject({ exitCode: 0, stderr: "" })
        expect(underSystemd.stdout).toBe("vdi: QEMU has already exited (main process killed, status=TERM). Shutdown complete.\n")
      })))

  it.effect("a socket file left behind goes through the client, which finds nothing listening: the same line", () =>
    withSockets((runDir) =>
      Effect.gen(function*() {
        // A file where the socket was: connecting to it is refused, as to a dead QEMU's socket.
        mkdirSync(join(runDir, "vdi"), { recursive: true })
        writeFileSync(socketOf(runDir, "vdi"), "")
        const r = yield* runCli(["shutdown", "--system", "vdi", "db"])
        expect(r).toMatchObject({ exitCode: 0, stderr: "" })
        expect(r.stdout.split("\n").sort()).toEqual([
          "",
          "db: QEMU has already exited (no QEMU process serves its QMP socket). Shutdown complete.",
          "vdi: QEMU has already exited (no QEMU process serves its QMP socket). Shutdown complete."
        ])
      })))

  it.effect("a QEMU that still runs (systemd's $MAINPID, or a process serving the socket) is reported for every machine as before", () =>
    withSockets((runDir) =>
      Effect.gen(function*() {
        const running = yield* withEnv({ MAINPID: "4242" }, runCli(["shutdown", "--system", "vdi"]))
        expect(running.exitCode).toBe(1)
        expect(running.stdout).toBe("")
        expect(running.stderr).toBe(`cannot reach vdi's QMP socket at ${socketOf(runDir, "vdi")} (no such socket; QEMU pid 4242 is running)\nmachina: error: shutdown failed for vdi\n`)

        // One of two machines still runs: nothing is said before the client has looked at both.
        yield* (yield* ProcessesMemory.ProcessesMemoryControl).add({ pid: 99, argv: ["qemu-system-x86_64", `socket,id=qmp.0,server=on,wait=off,path=${socketOf(runDir, "db")}`] })
        const one = yield* runCli(["shutdown", "--system", "vdi", "db"])
        expect(one.exitCode).toBe(1)
        expect(one.stdout).toBe("vdi: QEMU has already exited (no QEMU process serves its QMP socket). Shutdown complete.\n")
        expect(one.stderr).toContain(`cannot reach db's QMP socket at ${socketOf(runDir, "db")} (no such socket; QEMU pid 99 is running)`)
      })))
})

/**
 * MdevSysfs against a temporary folder laid out like sysfs (asserting on the files written),
 * MdevMemory against the same rules, and HostLockFs (exclusion, bounded waits, stale locks).
 */
import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as HostLockFs from "../../src/layers/HostLockFs.js"
import * as MdevMemory from "../../src/layers/MdevMemory.js"
import * as MdevSysfs from "../../src/layers/MdevSysfs.js"
import { HostLock, withLock } from "../../src/services/HostLock.js"
import { Mdev } from "../../src/services/Mdev.js"
import type { MdevRequest } from "../../src/services/Mdev.js"

const ID = "6F2A8C3E-1B4D-4E5F-8A9B-0C1D2E3F4A5B"
const id = ID.toLowerCase()

/** A temporary sysfs-like tree, removed when the scope closes. */
const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const write = (file: string, content: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
}

const addType = (root: string, address: string, dir: string, name?: string) => {
  const typeDir = path.join(root, "bus/pci/devices", address, "mdev_supported_types", dir)
  if (name !== undefined) write(path.join(typeDir, "name"), `${name}\n`)
  write(path.join(typeDir, "description"), "num_heads=4, frl_config=60\n")
  write(path.join(typeDir, "create"), "")
  return typeDir
}

/** Every file under `root` with its content. */
const snapshot = (root: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else out[path.relative(root, full)] = fs.readFileSync(full, "utf8")
    }
  }
  walk(root)
  return out
}

const sysfs = Effect.gen(function* () {
  const root = yield* tempDir("machina-sysfs-")
  const t4c1 = addType(root, "0000:c1:00.0", "nvidia-259", "GRID T4-1Q")
  const t4c1b = addType(root, "0000:c1:00.0", "nvidia-260", "GRID T4-2Q")
  const t481 = addType(root, "0000:81:00.0", "nvidia-259", "GRID T4-1Q")
  fs.mkdirSync(path.join(root, "bus/mdev/devices"), { recursive: true })
  const mdev = yield* MdevSysfs.make({ root })
  return { root, mdev, t4c1, t4c1b, t481 }
})

const request = (candidates: MdevRequest["candidates"]): MdevRequest => ({
  id: ID,
  deviceName: "gpu",
  deviceClass: "vgpu-1q",
  candidates
})

describe("MdevSysfs", () => {
  it.scoped("creates the device on the first parent by address offering the type, writing the lowercase id", () =>
    Effect.gen(function* () {
      const { root, mdev, t4c1, t481 } = yield* sysfs
      const before = snapshot(root)
      const outcome = yield* mdev.ensure(
        request([
          { address: "0000:c1:00.0", typeName: "GRID T4-1Q" },
          { address: "0000:81:00.0", typeName: "GRID T4-1Q" }
        ])
      )
      assert.deepStrictEqual(outcome, { _tag: "Created", id, address: "0000:81:00.0", type: "nvidia-259" })
      assert.strictEqual(fs.readFileSync(path.join(t481, "create"), "utf8"), id)
      assert.strictEqual(fs.readFileSync(path.join(t4c1, "create"), "utf8"), "")
      // Exactly one file changed.
      const after = snapshot(root)
      assert.deepStrictEqual(
        Object.keys(after).filter((k) => after[k] !== before[k]),
        [path.relative(root, path.join(t481, "create"))]
      )
    }))

  it.scoped("matches the type name, else the type folder name, skipping parents that are absent", () =>
    Effect.gen(function* () {
      const { mdev, t4c1b } = yield* sysfs
      const outcome = yield* mdev.ensure(
        request([
          { address: "0000:01:00.0", typeName: "GRID T4-2Q" },
          { address: "0000:c1:00.0", typeName: "nvidia-260" }
        ])
      )
      assert.deepStrictEqual(outcome, { _tag: "Created", id, address: "0000:c1:00.0", type: "nvidia-260" })
      assert.strictEqual(fs.readFileSync(path.join(t4c1b, "create"), "utf8"), id)
    }))

  it.scoped("does nothing when the device already exists (idempotent)", () =>
    Effect.gen(function* () {
      const { root, mdev } = yield* sysfs
      fs.mkdirSync(path.join(root, "bus/mdev/devices", id))
      const before = snapshot(root)
      const outcome = yield* mdev.ensure(request([{ address: "0000:c1:00.0", typeName: "GRID T4-1Q" }]))
      assert.deepStrictEqual(outcome, { _tag: "Existing", id })
      assert.deepStrictEqual(snapshot(root), before)
    }))

  it.scoped("fails, naming what it searched, when no parent offers the class", () =>
    Effect.gen(function* () {
      const { root, mdev } = yield* sysfs
      const before = snapshot(root)
      const none = yield* Effect.flip(mdev.ensure(request([])))
      assert.strictEqual(none._tag, "MdevClassNotFoundError")
      assert.strictEqual(none.message, "failed to locate device class vgpu-1q for device gpu: no host device offers it")

      const error = yield* Effect.flip(
        mdev.ensure(
          request([
            { address: "0000:c1:00.0", typeName: "GRID A100-4C" },
            { address: "0000:02:00.0", typeName: "GRID A100-4C" },
            { address: "0000:81:00.0", typeName: "" }
          ])
        )
      )
      assert.strictEqual(error._tag, "MdevClassNotFoundError")
      assert.strictEqual(
        error.message,
        `failed to locate device class vgpu-1q for device gpu: ` +
          `0000:02:00.0: no such device (${root}/bus/pci/devices/0000:02:00.0); ` +
          `0000:81:00.0: no type name configured; ` +
          `0000:c1:00.0: no type "GRID A100-4C" (offers "GRID T4-1Q", "GRID T4-2Q")`
      )
      assert.deepStrictEqual(snapshot(root), before)
    }))

  it.scoped("reports missing mdev support, bad paths and invalid arguments as typed errors", () =>
    Effect.gen(function* () {
      const empty = yield* tempDir("machina-sysfs-empty-")
      const unsupported = yield* Effect.flip((yield* MdevSysfs.make({ root: empty })).ensure(request([])))
      assert.strictEqual(unsupported._tag, "MdevUnsupportedError")
      assert.include(unsupported.message, `${empty}/bus/pci/devices is not a directory`)

      const { root, mdev, t4c1b } = yield* sysfs
      const badId = yield* Effect.flip(mdev.ensure({ ...request([]), id: "../../../etc" }))
      assert.strictEqual(badId._tag, "MdevInvalidArgumentError")
      const badAddress = yield* Effect.flip(mdev.ensure(request([{ address: "../../..", typeName: "x" }])))
      assert.strictEqual(badAddress._tag, "MdevInvalidArgumentError")
      assert.strictEqual((yield* Effect.flip(mdev.remove("nope")))._tag, "MdevInvalidArgumentError")

      // A parent that is a file, not a folder.
      write(path.join(root, "bus/pci/devices/0000:03:00.0"), "")
      const notDir = yield* Effect.flip(mdev.ensure(request([{ address: "0000:03:00.0", typeName: "x" }])))
      assert.strictEqual(notDir._tag, "MdevSysfsError")
      assert.strictEqual(notDir.message, `failed to open ${root}/bus/pci/devices/0000:03:00.0: not a directory`)

      // A type without a create attribute.
      fs.rmSync(path.join(t4c1b, "create"))
      const noCreate = yield* Effect.flip(mdev.ensure(request([{ address: "0000:c1:00.0", typeName: "GRID T4-2Q" }])))
      assert.strictEqual(noCreate._tag, "MdevSysfsError")
      assert.include(noCreate.message, `failed to write ${t4c1b}/create: ENOENT`)
      assert.isFalse(fs.existsSync(path.join(t4c1b, "create")))

      // The device path taken by a file.
      write(path.join(root, "bus/mdev/devices", id), "")
      const blocked = yield* Effect.flip(mdev.ensure(request([{ address: "0000:c1:00.0", typeName: "GRID T4-1Q" }])))
      assert.strictEqual(blocked._tag, "MdevSysfsError")
      assert.include(blocked.message, "not a directory")
    }))

  it.scoped("removes an existing device by writing 1 to its remove file, and is idempotent", () =>
    Effect.gen(function* () {
      const { root, mdev } = yield* sysfs
      const remove = path.join(root, "bus/mdev/devices", id, "remove")
      write(remove, "")
      assert.isTrue(yield* mdev.remove(ID))
      assert.strictEqual(fs.readFileSync(remove, "utf8"), "1")
      // Real sysfs makes the device vanish; here it stays a folder until we remove it.
      fs.rmSync(path.dirname(remove), { recursive: true })
      const before = snapshot(root)
      assert.isFalse(yield* mdev.remove(ID))
      assert.isFalse(yield* mdev.remove(ID))
      assert.deepStrictEqual(snapshot(root), before)
    }))
})

describe("MdevMemory", () => {
  const parents: MdevMemory.Options["parents"] = [
    { address: "0000:c1:00.0", types: [{ dir: "nvidia-259", name: "GRID T4-1Q", available: 1 }] }
  ]

  it.effect("creates, reuses, runs out, removes", () =>
    Effect.gen(function* () {
      const { mdev, control } = yield* MdevMemory.make({ parents })
      const wanted = request([{ address: "0000:c1:00.0", typeName: "GRID T4-1Q" }])
      assert.deepStrictEqual(yield* mdev.ensure(wanted), {
        _tag: "Created",
        id,
        address: "0000:c1:00.0",
        type: "nvidia-259"
      })
      assert.deepStrictEqual(yield* mdev.ensure(wanted), { _tag: "Existing", id })
      const full = yield* Effect.flip(mdev.ensure({ ...wanted, id: "00000000-0000-4000-8000-000000000001" }))
      assert.strictEqual(full._tag, "MdevClassNotFoundError")
      assert.match(full.message, /0000:c1:00\.0: type "GRID T4-1Q" has no available instances/)
      assert.deepStrictEqual(yield* control.devices, [{ id, address: "0000:c1:00.0", type: "nvidia-259" }])
      assert.isTrue(yield* mdev.remove(id))
      assert.isFalse(yield* mdev.remove(id))
      assert.deepStrictEqual(yield* control.devices, [])
      const missing = yield* Effect.flip(mdev.ensure(request([{ address: "0000:c1:00.0", typeName: "GRID A100-4C" }])))
      assert.strictEqual(missing.message, `failed to locate device class vgpu-1q for device gpu: 0000:c1:00.0: no type "GRID A100-4C" (offers "GRID T4-1Q")`)
      const unsupported = yield* Effect.flip((yield* MdevMemory.make({ supported: false })).mdev.ensure(wanted))
      assert.strictEqual(unsupported._tag, "MdevUnsupportedError")
    }))

  it.effect("is provided as a layer with its control", () =>
    Effect.gen(function* () {
      const mdev = yield* Mdev
      yield* mdev.ensure(request([{ address: "0000:c1:00.0", typeName: "nvidia-259" }]))
      assert.strictEqual((yield* (yield* MdevMemory.MdevMemoryControl).devices).length, 1)
    }).pipe(Effect.provide(MdevMemory.layer({ parents }))))
})

describe("HostLockFs", () => {
  const lockLayer = (runtimeDir: string, timeout: Duration.DurationInput = "5 seconds") =>
    HostLockFs.layer({ runtimeDir, timeout, pollInterval: "10 millis" })

  it.scopedLive("excludes concurrent holders and hands over on release", () =>
    Effect.gen(function* () {
      const runtimeDir = path.join(yield* tempDir("machina-lock-"), "run")
      const events: Array<string> = []
      const holder = (name: string) =>
        withLock(
          "test-vm",
          Effect.gen(function* () {
            events.push(`${name} in`)
            yield* Effect.sleep("150 millis")
            events.push(`${name} out`)
          })
        )
      yield* Effect.all([holder("a"), holder("b"), holder("c")], { concurrency: "unbounded" }).pipe(
        Effect.provide(lockLayer(runtimeDir))
      )
      assert.strictEqual(events.length, 6)
      for (let i = 0; i < events.length; i += 2) {
        assert.match(events[i] ?? "", / in$/)
        assert.strictEqual(events[i + 1], (events[i] ?? "").replace(" in", " out"))
      }
      // Another machine's lock is independent.
      const both = yield* Effect.all(
        [withLock("vm-1", Effect.sleep("200 millis")), withLock("vm-2", Effect.sleep("200 millis"))],
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(lockLayer(runtimeDir)), Effect.timed)
      assert.isBelow(Duration.toMillis(both[0]), 390)
      // Released: no lock file is left.
      assert.deepStrictEqual(fs.readdirSync(path.join(runtimeDir, ".locks")), [])
    }))

  it.scopedLive("creates the lock folder 0700 and the lock file 0600, holding our pid", () =>
    Effect.gen(function* () {
      const runtimeDir = path.join(yield* tempDir("machina-lock-"), "run")
      const file = path.join(runtimeDir, ".locks", "web%2F01.lock")
      yield* withLock(
        "web/01",
        Effect.sync(() => {
          assert.strictEqual(fs.statSync(path.join(runtimeDir, ".locks")).mode & 0o777, 0o700)
          assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600)
          assert.strictEqual(JSON.parse(fs.readFileSync(file, "utf8")).pid, process.pid)
        })
      ).pipe(Effect.provide(lockLayer(runtimeDir)))
      assert.isFalse(fs.existsSync(file))
    }))

  it.scopedLive("gives up after the bounded wait, naming the holder", () =>
    Effect.gen(function* () {
      const runtimeDir = path.join(yield* tempDir("machina-lock-"), "run")
      const result = yield* Effect.gen(function* () {
        const lock = yield* HostLock
        const holding = yield* Effect.fork(Effect.scoped(Effect.zipRight(lock.acquire("vm"), Effect.sleep("2 seconds"))))
        yield* Effect.sleep("50 millis")
        const started = Date.now()
        const waited = yield* Effect.either(withLock("vm", Effect.void))
        yield* Fiber.interrupt(holding)
        return { waited, elapsed: Date.now() - started }
      }).pipe(Effect.provide(lockLayer(runtimeDir, "250 millis")))
      assert.isTrue(Either.isLeft(result.waited))
      if (Either.isLeft(result.waited)) {
        assert.strictEqual(result.waited.left._tag, "HostLockTimeoutError")
        assert.include(result.waited.left.message, `held by pid ${process.pid}`)
      }
      assert.isAtLeast(result.elapsed, 240)
      assert.isBelow(result.elapsed, 1_000)
      // Interrupting the holder released the lock.
      yield* withLock("vm", Effect.void).pipe(Effect.provide(lockLayer(runtimeDir, "100 millis")))
    }))

  it.scopedLive("breaks stale locks of dead or reused PIDs, and waits for live ones", () =>
    Effect.gen(function* () {
      const runtimeDir = path.join(yield* tempDir("machina-lock-"), "run")
      const file = path.join(runtimeDir, ".locks", "vm.lock")
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
      const startOf = (pid: number) => {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
      }

      // A live holder in another process: wait, time out.
      const child = spawn("sleep", ["30"], { stdio: "ignore" })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      const childPid = child.pid ?? 0
      fs.writeFileSync(file, JSON.stringify({ pid: childPid, start: startOf(childPid), token: "other" }))
      const blocked = yield* Effect.either(withLock("vm", Effect.void).pipe(Effect.provide(lockLayer(runtimeDir, "200 millis"))))
      assert.isTrue(Either.isLeft(blocked))
      assert.isTrue(fs.existsSync(file))

      // Once it is dead, its lock is stale.
      child.kill("SIGKILL")
      yield* Effect.promise(() => new Promise((resolve) => child.once("exit", resolve)))
      yield* withLock("vm", Effect.void).pipe(Effect.provide(lockLayer(runtimeDir, "200 millis")))
      assert.isFalse(fs.existsSync(file))

      // A PID that now belongs to another process (different start time) is stale too.
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, start: "1", token: "reused" }))
      yield* withLock("vm", Effect.void).pipe(Effect.provide(lockLayer(runtimeDir, "200 millis")))
      // So is a corrupt lock file.
      fs.writeFileSync(file, "garbage")
      yield* withLock("vm", Effect.void).pipe(Effect.provide(lockLayer(runtimeDir, "200 millis")))
      assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), [])
    }))
})

describe("MdevSysfs parent choice", () => {
  it.scoped("skips a parent whose type has no available instances", () =>
    Effect.gen(function* () {
      const root = yield* tempDir("machina-sysfs-full-")
      const full = addType(root, "0000:81:00.0", "nvidia-259", "GRID T4-1Q")
      write(path.join(full, "available_instances"), "0\n")
      const free = addType(root, "0000:c1:00.0", "nvidia-259", "GRID T4-1Q")
      write(path.join(free, "available_instances"), "3\n")
      fs.mkdirSync(path.join(root, "bus/mdev/devices"), { recursive: true })
      const mdev = yield* MdevSysfs.make({ root })
      const outcome = yield* mdev.ensure({
        id: ID,
        deviceName: "gpu",
        deviceClass: "vgpu-1q",
        candidates: [{ address: "0000:c1:00.0", typeName: "GRID T4-1Q" }, { address: "0000:81:00.0", typeName: "GRID T4-1Q" }]
      })
      assert.deepStrictEqual(outcome, { _tag: "Created", id, address: "0000:c1:00.0", type: "nvidia-259" })
      assert.strictEqual(fs.readFileSync(path.join(full, "create"), "utf8"), "")
      assert.strictEqual(fs.readFileSync(path.join(free, "create"), "utf8"), id)
    }))
})

/**
 * prepare, teardown, check and cat for unprivileged machines (`privileges.user`) on a simulated
 * host: configuration, links and the user table in memory; the machine's files, runtime directory
 * and grant records real files in a temporary folder (the test runs as root, so ownership changes
 * are real).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigStoreMemory from "../../src/layers/ConfigStoreMemory.js"
import * as HostLockFs from "../../src/layers/HostLockFs.js"
import * as HostUsersMemory from "../../src/layers/HostUsersMemory.js"
import * as MdevMemory from "../../src/layers/MdevMemory.js"
import * as NetLinksMemory from "../../src/layers/NetLinksMemory.js"
import { HostLock } from "../../src/services/HostLock.js"
import { runCli } from "../support/Cli.js"
import { parseValid } from "../support/JsonSchema.js"

const USER = { name: "vmuser", uid: 4242, gid: 4243 }

const hostConfig = (root: string) => ({
  storage: {
    disks: { path: join(root, "disks"), pattern: "${machine-name}-${volume}.raw", type: "raw" },
    iso: { path: join(root, "iso"), pattern: "${volume}.iso", type: "iso-scsi" },
    closed: { path: join(root, "closed"), pattern: "${volume}.iso", type: "iso-scsi" },
    open: { path: join(root, "open"), pattern: "${machine-name}-${volume}.raw", type: "raw" }
  },
  network: { lan: { device: "br0" } },
  tag: { confined: { privileges: { user: USER.name } } }
})

const machines = {
  box: {
    id: "00000000-0000-0000-0000-0000000000b0",
    tags: ["confined"],
    attrs: { memory: { ram: 256 }, qmp: { enabled: true } },
    volumes: [{ name: "os", storage: "disks" }, { name: "media", storage: "iso" }],
    connections: [{ name: "0", network: "lan" }]
  },
  careless: {
    tags: ["confined"],
    attrs: { memory: { ram: 256 } },
    volumes: [{ name: "os", storage: "open" }]
  },
  stranger: {
    privileges: { user: "no-such-user" },
    attrs: { memory: { ram: 256 } },
    volumes: [{ name: "os", storage: "disks" }, { name: "secret", storage: "closed" }]
  }
}

interface Env {
  readonly root: string
  readonly runDir: string
}

const withHost = <A, E>(f: (env: Env) => Effect.Effect<A, E, any>): Effect.Effect<A, E> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const root = mkdtempSync(join(tmpdir(), "machina-priv-"))
      for (const d of ["disks", "iso", "closed", "open", "run"]) mkdirSync(join(root, d))
      writeFileSync(join(root, "open", "careless-os.raw"), "", { mode: 0o600 })
      chmodSync(join(root, "open"), 0o777)
      for (const m of ["box", "stranger"]) writeFileSync(join(root, "disks", `${m}-os.raw`), "", { mode: 0o600 })
      writeFileSync(join(root, "iso", "media.iso"), "", { mode: 0o644 })
      writeFileSync(join(root, "closed", "secret.iso"), "", { mode: 0o644 })
      chmodSync(join(root, "closed"), 0o700)
      chmodSync(root, 0o755)
      return { root, runDir: join(root, "run") }
    }),
    (env) =>
      Effect.gen(function*() {
        const previous = process.env["MACHINA_RUN_DIR"]
        process.env["MACHINA_RUN_DIR"] = env.runDir
        const layer = Layer.mergeAll(
          ConfigStoreMemory.layer({ location: "/etc/machina", host: hostConfig(env.root), machines }),
          MdevMemory.layer({ parents: [] }),
          NetLinksMemory.layer({ links: [{ name: "br0", kind: "bridge", up: true }] }),
          HostUsersMemory.layer([USER]),
          Layer.effect(HostLock, HostLockFs.make({ runtimeDir: env.runDir }))
        )
        return yield* (f(env) as Effect.Effect<A, E, never>).pipe(
          Effect.provide(layer),
          Effect.ensuring(Effect.sync(() => {
            if (previous === undefined) delete process.env["MACHINA_RUN_DIR"]
            else process.env["MACHINA_RUN_DIR"] = previous
          }))
        )
      }),
    (env) => Effect.sync(() => rmSync(env.root, { recursive: true, force: true }))
  )

describe("unprivileged machines on a simulated host", () => {
  it.effect("prepare creates the tap for the user, hands the runtime directory and writable files to the group; teardown undoes it", () =>
    withHost(({ root, runDir }) =>
      Effect.gen(function*() {
        const composed = JSON.parse((yield* runCli(["cat", "--format", "json", "box"])).stdout) as Array<{ privileges: { user: string; filesystem: { group: { id: number } } } }>
        const gid = composed[0]!.privileges.filesystem.group.id
        expect(composed[0]!.privileges.user).toBe(USER.name)
        const disk = join(root, "disks", "box-os.raw")
        const iso = join(root, "iso", "media.iso")
        const before = statSync(disk)

        const prepared = yield* runCli(["prepare", "box"])
        expect(prepared.stderr).toBe("")
        expect(prepared.exitCode).toBe(0)
        expect(prepared.stdout).toBe(`box: ${disk}: group ${gid} may read and write\nbox: box.0: created for vmuser, enabled on br0\n`)
        const dir = statSync(join(runDir, "box"))
        expect([dir.uid, dir.gid, dir.mode & 0o777]).toEqual([USER.uid, gid, 0o700])
        const granted = statSync(disk)
        expect([granted.uid, granted.gid, granted.mode & 0o777]).toEqual([before.uid, gid, 0o660])
        expect(statSync(iso).gid).toBe(before.gid) // read-only files are left alone
        const links = yield* NetLinksMemory.NetLinksMemoryControl
        expect((yield* links.links).find((l) => l.name === "box.0")).toEqual({
          name: "box.0", kind: "tap", up: true, master: "br0", owner: { uid: USER.uid, gid }
        })
        // A second prepare (systemd restarting the machine) keeps the original group and mode on record.
        expect((yield* runCli(["prepare", "box"])).exitCode).toBe(0)

        const down = yield* runCli(["teardown", "box"])
        expect(down.stderr).toBe("")
        expect(down.exitCode).toBe(0)
        expect(down.stdout).toBe(`box: box.0: deleted\nbox: ${disk}: group ${before.gid} and mode 0600 restored\n`)
        const restored = statSync(disk)
        expect([restored.gid, restored.mode & 0o777]).toEqual([before.gid, 0o600])
        expect((yield* links.links).map((l) => l.name)).toEqual(["br0"])
        expect(existsSync(join(runDir, ".grants", "box.json"))).toBe(false)
      })))

  it.effect("prepare fails clearly for a user the host does not have, check warns about it and about unreachable files", () =>
    withHost(({ root }) =>
      Effect.gen(function*() {
        const prepared = yield* runCli(["prepare", "stranger"])
        expect(prepared.exitCode).not.toBe(0)
        expect(prepared.stderr).toContain(`user "no-such-user" does not exist on this host`)

        const checked = yield* runCli(["check"])
        expect(checked.exitCode).toBe(0)
        expect(checked.stdout).toContain("box: QEMU runs as user vmuser and group ")
        expect(checked.stdout).toMatch(/^box: .*: every file is reachable$/m)
        expect(checked.stdout).toMatch(/^stranger: .*: 1 file\(s\) not reachable$/m)
        expect(checked.stderr).toContain(`stranger.conf.json: $.privileges.user: warning: user "no-such-user" does not exist on this host`)
        expect(checked.stderr).toContain(
          `stranger.conf.json: $.privileges: warning: volume secret: ${join(root, "closed", "secret.iso")}: directory ${join(root, "closed")} is not searchable by the machine's user or group`
        )
        const json = parseValid<{
          ok: boolean
          issues: Array<{ severity: string; path: string }>
          unprivileged: Array<{ name: string; user: string; group?: number; unreachable: Array<string> }>
        }>("check", (yield* runCli(["check", "--format", "json"])).stdout)
        expect(json.ok).toBe(true)
        expect(json.issues.filter((i) => i.severity === "warning" && i.path.startsWith("$.privileges"))).toHaveLength(2)
        // What the text reports per unprivileged machine, as data.
        expect(json.unprivileged.map((u) => [u.name, u.user, u.unreachable.length])).toEqual([["box", "vmuser", 0], ["careless", "vmuser", 0], ["stranger", "no-such-user", 1]])
        expect(json.unprivileged[2]!.unreachable[0]).toContain(join(root, "closed", "secret.iso"))
      })))

  it.effect("prepare refuses to grant access through a directory the machine's user could write to", () =>
    withHost(({ root }) =>
      Effect.gen(function*() {
        const disk = join(root, "open", "careless-os.raw")
        const before = statSync(disk)
        const prepared = yield* runCli(["prepare", "careless"])
        expect(prepared.exitCode).not.toBe(0)
        expect(prepared.stderr).toContain(`cannot give its group access to ${disk}: directory ${join(root, "open")} is writable by the machine's user or group`)
        expect([statSync(disk).gid, statSync(disk).mode]).toEqual([before.gid, before.mode])
      })))

  it.effect("cat shows the user and group QEMU runs as", () =>
    withHost(() =>
      Effect.gen(function*() {
        const text = (yield* runCli(["cat", "box"])).stdout
        expect(text).toMatch(/^  QEMU User: vmuser$/m)
        expect(text).toMatch(/^  QEMU Group: \d+ \(machina-box\)$/m)
      })))
})

describe("generate for unprivileged machines", () => {
  it.effect("adds the machine's group when no group has its id, once, and writes the hardened unit", () =>
    Effect.gen(function*() {
      const unitDir = mkdtempSync(join(tmpdir(), "machina-units-"))
      const groups = new Map<string, number>([["users", 100]])
      const layer = Layer.mergeAll(
        ConfigStoreMemory.layer({ location: "/etc/machina", host: hostConfig("/srv"), machines }),
        HostUsersMemory.layer([USER], groups)
      )
      try {
        const first = yield* runCli(["generate", "--no-reload", "--unit-dir", unitDir, "box"], layer)
        expect(first.stderr).toBe("")
        const gid = groups.get("machina-box")
        expect(gid).toBeGreaterThanOrEqual(65536)
        expect(first.stdout).toBe(`group machina-box (${gid}): created\n${join(unitDir, "machina-box.service")}: created\n`)
        const second = yield* runCli(["generate", "--no-reload", "--unit-dir", unitDir, "box"], layer)
        expect(second.stdout).toBe(`${join(unitDir, "machina-box.service")}: unchanged\n`)
      } finally {
        rmSync(unitDir, { recursive: true, force: true })
      }
    }))

  it.effect("refuses a group name already taken with another id", () =>
    Effect.gen(function*() {
      const unitDir = mkdtempSync(join(tmpdir(), "machina-units-"))
      const layer = Layer.mergeAll(
        ConfigStoreMemory.layer({ location: "/etc/machina", host: hostConfig("/srv"), machines }),
        HostUsersMemory.layer([USER], new Map([["machina-box", 1234]]))
      )
      try {
        const result = yield* runCli(["generate", "--no-reload", "--unit-dir", unitDir, "box"], layer)
        expect(result.exitCode).not.toBe(0)
        expect(result.stderr).toContain(`cannot create group "machina-box" with id`)
        expect(result.stderr).toContain("a group of that name exists with id 1234")
        expect(existsSync(join(unitDir, "machina-box.service"))).toBe(false)
      } finally {
        rmSync(unitDir, { recursive: true, force: true })
      }
    }))
})

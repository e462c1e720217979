/**
 * A tiny Linux guest that powers off on the ACPI power button
 * (`notes/real-hosts.md`, "A tiny guest that powers off on ACPI").
 *
 * Built on first use and cached under `<repo>/.cache/tiny-guest/`:
 * - the kernel package named by `linux-image-cloud-amd64` (downloaded with
 *   `apt-get download`, the .deb kept), of which only `vmlinuz` and the
 *   `button.ko` / `evdev.ko` modules are used;
 * - an initramfs (newc cpio via `busybox cpio`, gzip) holding a static
 *   busybox, the two modules and an `/init` that loads them, opens the power
 *   button's event device, prints {@link GUEST_READY} on the serial console,
 *   waits for one event and runs `poweroff -f`. On any failure it prints
 *   {@link GUEST_ERROR} and hangs, so a broken guest never looks like a
 *   clean stop.
 *
 * Safe against concurrent callers: one builder at a time (a lock directory),
 * results published by atomic rename, the manifest written last.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as zlib from "node:zlib"

export const GUEST_READY = "GUEST READY"
export const GUEST_ERROR = "GUEST ERROR"

/**
 * The tiny guest's kernel command line. `no_timer_check`: under TCG on a loaded host the kernel's
 * boot-time check of the 8254 timer through the IO-APIC can miss its ticks and panic ("IO-APIC +
 * timer doesn't work!"), seen on this 2-core machine under a load average of 20; skipping the
 * check is what VMs on busy hosts do.
 */
export const TINY_GUEST_APPEND = "console=ttyS0 quiet no_timer_check"

export interface TinyGuest {
  /** Path of the kernel image (bzImage). */
  readonly kernel: string
  /** Path of the gzip-compressed initramfs. */
  readonly initrd: string
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
export const CACHE_DIR = path.join(REPO, ".cache", "tiny-guest")
const MANIFEST = path.join(CACHE_DIR, "manifest.json")
const LOCK = path.join(CACHE_DIR, ".lock")
const LOCK_STALE_MS = 10 * 60_000
const LOCK_WAIT_MS = 10 * 60_000
const COMMAND_TIMEOUT_MS = 5 * 60_000

const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
fail() { echo "${GUEST_ERROR}: $*"; while true; do sleep 3600; done; }
mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sysfs /sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs /dev || fail "mount devtmpfs"
insmod /lib/modules/evdev.ko || fail "insmod evdev"
insmod /lib/modules/button.ko || fail "insmod button"
dev=""
i=0
while [ -z "$dev" ] && [ $i -lt 100 ]; do
  for d in /sys/class/input/event*; do
    [ -e "$d/device/name" ] || continue
    if [ "$(cat "$d/device/name")" = "Power Button" ]; then dev="/dev/input/\${d##*/}"; break; fi
  done
  [ -n "$dev" ] || { sleep 0.1; i=$((i+1)); }
done
[ -n "$dev" ] || fail "no power button input device"
i=0
while [ ! -e "$dev" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
exec 3<"$dev" || fail "cannot open $dev"
echo "${GUEST_READY}"
dd bs=24 count=1 <&3 >/dev/null 2>&1
echo "GUEST POWERING OFF"
poweroff -f
fail "poweroff returned"
`

interface Manifest {
  readonly package: string
  readonly kernel: string
  readonly initrd: string
}

let inProcess: Promise<TinyGuest> | undefined

/** Builds (once) or reuses the cached tiny guest. */
export const ensureTinyGuest = (): Promise<TinyGuest> => {
  inProcess ??= ensure().catch((e: unknown) => {
    inProcess = undefined
    throw e
  })
  return inProcess
}

const readManifest = (): TinyGuest | undefined => {
  try {
    const m = JSON.parse(fs.readFileSync(MANIFEST, "utf8")) as Manifest
    const kernel = path.join(CACHE_DIR, m.kernel)
    const initrd = path.join(CACHE_DIR, m.initrd)
    return fs.existsSync(kernel) && fs.existsSync(initrd) ? { kernel, initrd } : undefined
  } catch {
    return undefined
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const ensure = async (): Promise<TinyGuest> => {
  const cached = readManifest()
  if (cached !== undefined) return cached
  fs.mkdirSync(CACHE_DIR, { recursive: true })
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      fs.mkdirSync(LOCK)
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      const ready = readManifest()
      if (ready !== undefined) return ready
      try {
        if (Date.now() - fs.statSync(LOCK).mtimeMs > LOCK_STALE_MS) fs.rmSync(LOCK, { recursive: true, force: true })
      } catch {
        // The holder finished in between: look again.
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for another tiny-guest build (${LOCK})`)
      await sleep(250)
    }
  }
  try {
    return readManifest() ?? (await build())
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true })
  }
}

interface RunResult {
  readonly stdout: Buffer
  readonly stderr: string
}

/** Runs a program (no shell), bounded in time; rejects on a non-zero exit. */
const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly input?: Buffer | string } = {}
): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] })
    const out: Array<Buffer> = []
    let err = ""
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL")
    }, COMMAND_TIMEOUT_MS)
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => (err += b.toString()))
    child.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err })
      else reject(new Error(`${command} ${args.join(" ")} failed (${code ?? signal}): ${err.trim()}`))
    })
    child.stdin.end(options.input ?? "")
  })

/** `apt-get download`, running `apt-get update` once and retrying when the package is unknown. */
const aptDownload = async (pkg: string, cwd: string): Promise<void> => {
  try {
    await run("apt-get", ["download", pkg], { cwd })
  } catch {
    await run("apt-get", ["update"])
    await run("apt-get", ["download", pkg], { cwd })
  }
}

const onlyDeb = (dir: string, prefix: string): string | undefined =>
  fs.readdirSync(dir).find((f) => f.startsWith(prefix + "_") && f.endsWith(".deb"))

const findFile = (dir: string, test: (rel: string) => boolean): string | undefined => {
  const stack = [dir]
  while (stack.length > 0) {
    const d = stack.pop()!
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name)
      if (entry.isDirectory()) stack.push(p)
      else if (test(path.relative(dir, p))) return p
    }
  }
  return undefined
}

/** Extracts members of a .deb: `dpkg-deb --fsys-tarfile X | tar -x --wildcards PATTERNS`. */
const extractDeb = (deb: string, into: string, patterns: ReadonlyArray<string>): Promise<void> =>
  new Promise((resolve, reject) => {
    const dpkg = spawn("dpkg-deb", ["--fsys-tarfile", deb], { stdio: ["ignore", "pipe", "pipe"] })
    const tar = spawn("tar", ["-x", "-C", into, "--wildcards", ...patterns], { stdio: ["pipe", "ignore", "pipe"] })
    let err = ""
    dpkg.stderr.on("data", (b: Buffer) => (err += b.toString()))
    tar.stderr.on("data", (b: Buffer) => (err += b.toString()))
    dpkg.stdout.pipe(tar.stdin)
    const timer = setTimeout(() => {
      for (const p of [dpkg.pid, tar.pid]) if (p !== undefined) process.kill(p, "SIGKILL")
    }, COMMAND_TIMEOUT_MS)
    let pending = 2
    let failed = false
    const done = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true
        clearTimeout(timer)
        reject(new Error(`${what} failed (${code}) extracting ${deb}: ${err.trim()}`))
      }
      if (--pending === 0 && !failed) {
        clearTimeout(timer)
        resolve()
      }
    }
    dpkg.on("close", done("dpkg-deb"))
    tar.on("close", done("tar"))
    dpkg.on("error", reject)
    tar.on("error", reject)
  })

/** Lists a tree for cpio (`.`-relative paths, parents first). */
const listTree = (root: string): Array<string> => {
  const out: Array<string> = ["."]
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const child = rel === "." ? `./${entry.name}` : `${rel}/${entry.name}`
      out.push(child)
      if (entry.isDirectory()) walk(child)
    }
  }
  walk(".")
  return out
}

const build = async (): Promise<TinyGuest> => {
  const debs = path.join(CACHE_DIR, "debs")
  fs.mkdirSync(debs, { recursive: true })
  const work = fs.mkdtempSync(path.join(CACHE_DIR, "build-"))
  try {
    // Resolve the real kernel package through the meta package.
    await aptDownload("linux-image-cloud-amd64", work)
    const meta = onlyDeb(work, "linux-image-cloud-amd64")
    if (meta === undefined) throw new Error("apt-get download linux-image-cloud-amd64 produced no .deb")
    const depends = (await run("dpkg-deb", ["-f", path.join(work, meta), "Depends"])).stdout.toString()
    const pkg = /linux-image-[^\s,(]+/.exec(depends)?.[0]
    if (pkg === undefined) throw new Error(`cannot find the kernel package in Depends: ${depends}`)

    let deb = onlyDeb(debs, pkg)
    if (deb === undefined) {
      const dl = fs.mkdtempSync(path.join(CACHE_DIR, "download-"))
      try {
        await aptDownload(pkg, dl)
        const got = onlyDeb(dl, pkg)
        if (got === undefined) throw new Error(`apt-get download ${pkg} produced no .deb`)
        fs.renameSync(path.join(dl, got), path.join(debs, got))
        deb = got
      } finally {
        fs.rmSync(dl, { recursive: true, force: true })
      }
    }

    const extracted = path.join(work, "deb")
    fs.mkdirSync(extracted)
    await extractDeb(path.join(debs, deb), extracted, [
      "*boot/vmlinuz-*",
      "*/kernel/drivers/acpi/button.ko",
      "*/kernel/drivers/input/evdev.ko"
    ])
    const vmlinuz = findFile(extracted, (rel) => /(^|\/)boot\/vmlinuz-/.test(rel))
    const button = findFile(extracted, (rel) => rel.endsWith("drivers/acpi/button.ko"))
    const evdev = findFile(extracted, (rel) => rel.endsWith("drivers/input/evdev.ko"))
    if (vmlinuz === undefined || button === undefined || evdev === undefined) {
      throw new Error(`${deb} lacks vmlinuz, button.ko or evdev.ko`)
    }

    const root = path.join(work, "initramfs")
    for (const d of ["bin", "lib/modules", "proc", "sys", "dev"]) fs.mkdirSync(path.join(root, d), { recursive: true })
    fs.copyFileSync("/bin/busybox", path.join(root, "bin/busybox"))
    fs.chmodSync(path.join(root, "bin/busybox"), 0o755)
    fs.copyFileSync(button, path.join(root, "lib/modules/button.ko"))
    fs.copyFileSync(evdev, path.join(root, "lib/modules/evdev.ko"))
    fs.writeFileSync(path.join(root, "init"), INIT, { mode: 0o755 })
    const cpio = await run("busybox", ["cpio", "-o", "-H", "newc", "-R", "0:0"], {
      cwd: root,
      input: listTree(root).join("\n") + "\n"
    })

    const version = path.basename(vmlinuz).replace(/^vmlinuz-/, "")
    const kernelName = `vmlinuz-${version}`
    const initrdName = `initrd-${version}.gz`
    fs.copyFileSync(vmlinuz, path.join(work, kernelName))
    fs.writeFileSync(path.join(work, initrdName), zlib.gzipSync(cpio.stdout))
    fs.renameSync(path.join(work, kernelName), path.join(CACHE_DIR, kernelName))
    fs.renameSync(path.join(work, initrdName), path.join(CACHE_DIR, initrdName))
    const manifest: Manifest = { package: pkg, kernel: kernelName, initrd: initrdName }
    fs.writeFileSync(path.join(work, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n")
    fs.renameSync(path.join(work, "manifest.json"), MANIFEST)
    return { kernel: path.join(CACHE_DIR, kernelName), initrd: path.join(CACHE_DIR, initrdName) }
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

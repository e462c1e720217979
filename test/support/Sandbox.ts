/**
 * A real systemd (PID 1) with its own D-Bus, booted in fresh namespaces for tests.
 *
 * Recipe (see shared/notes/real-hosts.md), hardened so nothing of the host changes:
 * - new PID, mount, network, UTS, IPC and cgroup namespaces (`unshare ... --propagation private`);
 * - the root is an overlay of the host's `/` whose writes go to a tmpfs; fresh `/run` and `/tmp`
 *   tmpfs (systemd-tmpfiles empties `/tmp`: it must never be the host's);
 * - a private `/dev` (tmpfs) with only selected host device nodes bind-mounted in (`null`, `zero`,
 *   `full`, `random`, `urandom`, `tty`, `kvm`, `net/tun`, `vhost-net`, `vhost-vsock`, plus
 *   `options.devices`), its own devpts and `/dev/shm`: bind-mounting the host's whole `/dev`
 *   (the notes' first recipe) lets systemd create `/dev/log`, `/dev/initctl`, `/dev/mqueue` and
 *   `/dev/hugepages` on the host;
 * - a fresh read-only sysfs (it shows the sandbox's own network namespace) with a cgroup2
 *   hierarchy mounted on `/sys/fs/cgroup` inside the cgroup namespace: the sandbox's systemd
 *   manages its own cgroup subtree (`<cgroup2>/<ours>/machina-sandbox-XXXX`, removed on stop),
 *   so two sandboxes never share unit cgroups and nothing is left in the host's hierarchy;
 * - `/proc/sys` is read-only (no global sysctl is written), and the few units that touch global
 *   kernel state (module loading, binfmt, sysctl, debugfs/tracefs/configfs/fusectl mounts) are
 *   masked in the overlay;
 * - booted with `--unit=basic.target` and `container=machina-test`.
 *
 * The root check after `pivot_root` refuses to exec systemd unless `/` is the overlay and `/tmp` a
 * tmpfs. A watchdog shell (the launcher, our direct child) SIGKILLs the sandbox within about a second
 * if this process dies without calling `stop()` (a killed test worker leaves no systemd behind); a
 * normal exit also SIGKILLs live sandboxes. Leftovers in that case: the empty work folder and cgroup.
 *
 * Files on the host are visible inside at the same paths (the overlay's lower layer is `/`), except
 * `/tmp` and `/run`, which are the sandbox's own: place fixtures elsewhere or use `writeFile`.
 *
 * D-Bus from the host: `sandbox.busAddress` (`unix:path=/proc/<pid>/root/run/dbus/system_bus_socket`)
 * works with dbus-next as uid 0 (EXTERNAL auth).
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

export interface SandboxOptions {
  /** Bound on the whole boot (systemd up, dbus up, systemd on the bus). Default 60 s. */
  readonly bootTimeoutMs?: number
  /** Target systemd boots into. Default `basic.target`. */
  readonly unit?: string
  /** Extra units to mask (symlinked to /dev/null in the overlay before boot). */
  readonly mask?: ReadonlyArray<string>
  /** Extra host device nodes (relative to /dev, e.g. `"vfio/vfio"`) to bind into the sandbox's /dev. */
  readonly devices?: ReadonlyArray<string>
  /** The sandbox is SIGKILLed (within about a second) once this PID is gone. Default: this process. */
  readonly watchPid?: number
  /** Start dbus.service and wait for `org.freedesktop.systemd1` on the bus. Default true. */
  readonly dbus?: boolean
}

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string
  /** Kill the command (SIGKILL) after this long and reject. Default 30 s. */
  readonly timeoutMs?: number
  /** Extra environment (the command otherwise gets a minimal PATH/LANG environment). */
  readonly env?: Readonly<Record<string, string>>
  /** Working directory inside the sandbox. Default `/`. */
  readonly cwd?: string
}

export interface ExecResult {
  /** Exit code, or 128 + signal number when killed by a signal. */
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface Sandbox {
  /** PID of the sandbox's `/lib/systemd/systemd --system` as seen from the host. */
  readonly pid: number
  /** The host folder that holds the boot log (the sandbox's tmpfs is mounted on `<workDir>/fs` inside only). */
  readonly workDir: string
  /** D-Bus address of the sandbox's system bus, usable from the host. */
  readonly busAddress: string
  /** Runs `argv` inside every namespace of the sandbox (via `nsenter -t PID -a`). Never rejects on a non-zero exit. */
  readonly exec: (argv: ReadonlyArray<string>, options?: ExecOptions) => Promise<ExecResult>
  /** Like `exec`, but rejects (with stdout/stderr in the message) on a non-zero exit; resolves to stdout. */
  readonly execOk: (argv: ReadonlyArray<string>, options?: ExecOptions) => Promise<string>
  /** Writes a file inside the sandbox (parents created), mode default 0644. */
  readonly writeFile: (file: string, content: string | Uint8Array, mode?: number) => Promise<void>
  /** Reads a file inside the sandbox. */
  readonly readFile: (file: string) => Promise<string>
  /** The host path that reaches `file` inside the sandbox (`/proc/<pid>/root<file>`). */
  readonly hostPathOf: (file: string) => string
  /** The sandbox journal (of one unit, if given), for test diagnostics. */
  readonly journal: (unit?: string) => Promise<string>
  /** SIGKILLs the sandbox's PID 1 (ending every process inside), waits for it, removes its cgroup and work folder. Idempotent. */
  readonly stop: () => Promise<void>
}

const SYSTEMD = "/lib/systemd/systemd"
const DEFAULT_DEVICES: ReadonlyArray<string> = [
  "null",
  "zero",
  "full",
  "random",
  "urandom",
  "tty",
  "kvm",
  "net/tun",
  "vhost-net",
  "vhost-vsock"
]
const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/** Units that would change global kernel state or fail on the read-only sysfs. */
const DEFAULT_MASK: ReadonlyArray<string> = [
  "systemd-modules-load.service",
  "systemd-binfmt.service",
  "proc-sys-fs-binfmt_misc.automount",
  "proc-sys-fs-binfmt_misc.mount",
  "systemd-sysctl.service",
  "sys-kernel-debug.mount",
  "sys-kernel-tracing.mount",
  "sys-kernel-config.mount",
  "sys-fs-fuse-connections.mount",
  "systemd-tmpfiles-setup-dev.service",
  "kmod-static-nodes.service",
  "systemd-tmpfiles-clean.timer",
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "man-db.timer",
  "e2scrub_all.timer",
  "dpkg-db-backup.timer"
]

/**
 * Outer script, run by a child of this process. It starts `unshare` in the sandbox's fresh cgroup
 * (so that cgroup is the root of the new cgroup namespace), then stays as its parent: it reaps it,
 * and SIGKILLs it (and so, through `--kill-child`, the whole sandbox) if this Node process dies
 * without stopping the sandbox (a killed test worker must not leave a systemd behind).
 * Arguments: $1 cgroup dir, $2 inner script, $3 PID to watch, $4... inner script arguments.
 */
const OUTER = `set -u
cg="$1"; inner="$2"; watched="$3"; shift 3
( echo "$BASHPID" > "$cg/cgroup.procs" &&
  exec unshare --pid --fork --kill-child --mount --net --uts --ipc --cgroup --propagation private \\
    bash -c "$inner" machina-sandbox-init "$@" ) &
sandbox=$!
while :; do
  sleep 1 & tick=$!
  wait -n "$sandbox" "$tick"
  if ! kill -0 "$sandbox" 2>/dev/null; then
    kill "$tick" 2>/dev/null; wait "$tick" 2>/dev/null
    break
  fi
  if ! kill -0 "$watched" 2>/dev/null; then kill -KILL "$sandbox" 2>/dev/null; fi
done
wait "$sandbox" 2>/dev/null
`

/**
 * Inner script, run as PID 1 of the new namespaces before it execs systemd.
 * Arguments: $1 work folder (a tmpfs is mounted on it), $2 unit to boot, $3 space-separated device
 * nodes to bind from the host's /dev, $4... units to mask.
 */
const INNER = `set -eu
W="$1"; unit="$2"; devices="$3"; shift 3
mount -t tmpfs -o mode=0700 tmpfs "$W"
mkdir -p "$W/upper" "$W/work" "$W/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$W/upper,workdir=$W/work" "$W/root"
R="$W/root"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev"
for d in $devices; do
  [ -e "/dev/$d" ] || continue
  mkdir -p "$(dirname "$R/dev/$d")"
  touch "$R/dev/$d"
  mount --bind "/dev/$d" "$R/dev/$d"
done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mkdir -p "$R/etc/systemd/system"
for u in "$@"; do ln -sfn /dev/null "$R/etc/systemd/system/$u"; done
cd "$R"
mkdir -p oldroot
pivot_root . oldroot
umount -l /oldroot
rmdir /oldroot
cd /
if [ "$(stat -f -c %T /)" != overlayfs ]; then echo "machina-sandbox: / is not the overlay, refusing to boot" >&2; exit 97; fi
if [ "$(stat -f -c %T /tmp)" != tmpfs ]; then echo "machina-sandbox: /tmp is not a tmpfs, refusing to boot" >&2; exit 97; fi
export container=machina-test
exec ${SYSTEMD} --system --unit="$unit"
`

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The cgroup2 mount point and this process's cgroup in it. */
const ownCgroup2 = (): string => {
  const mounts = fs.readFileSync("/proc/self/mounts", "utf8").split("\n")
  const mount = mounts.map((line) => line.split(" ")).find((fields) => fields[2] === "cgroup2")?.[1]
  if (mount === undefined) throw new Error("machina-sandbox: no cgroup2 hierarchy is mounted on this host")
  const own = fs
    .readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((line) => line.startsWith("0::"))
    ?.slice(3)
  if (own === undefined || own.startsWith("/..")) throw new Error("machina-sandbox: cannot tell this process's cgroup2 path")
  return path.join(mount, own)
}

const parentPid = (pid: number): number | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return Number(fields[1])
  } catch {
    return undefined
  }
}

const cmdline = (pid: number): ReadonlyArray<string> => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
  } catch {
    return []
  }
}

/** The descendant of `ancestor` (within three generations) that runs `systemd --system`, once it has exec'ed. */
const findSystemd = (ancestor: number): number | undefined => {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    const argv = cmdline(pid)
    if (argv[0] !== SYSTEMD || argv[1] !== "--system") continue
    let up: number | undefined = pid
    for (let generation = 0; generation < 3 && up !== undefined; generation++) {
      up = parentPid(up)
      if (up === ancestor) return pid
    }
  }
  return undefined
}

/** rmdir a cgroup tree depth-first (cgroup dirs hold only pseudo files, which rmdir ignores). */
const removeCgroup = async (dir: string, deadline: number): Promise<void> => {
  for (;;) {
    try {
      const walk = (d: string) => {
        for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
          if (entry.isDirectory()) walk(path.join(d, entry.name))
        }
        fs.rmdirSync(d)
      }
      walk(dir)
      return
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === "ENOENT") return
      if (Date.now() > deadline) throw error
      await sleep(50)
    }
  }
}

const runProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: ExecOptions
): Promise<ExecResult> =>
  new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 30_000
    const child = spawn(command, args, {
      env: { PATH: PATH_ENV, LANG: "C.UTF-8", ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      timedOut = true
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, "SIGKILL")
        } catch {
          // already gone
        }
      }
    }, timeoutMs)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (timedOut) {
        reject(new Error(`machina-sandbox: ${args.join(" ")} timed out after ${timeoutMs} ms\n${stderr}`))
        return
      }
      const signo = signal === null ? 0 : (os.constants.signals[signal] ?? 0)
      resolve({ code: code ?? 128 + signo, stdout, stderr })
    })
    child.stdin.on("error", () => {})
    child.stdin.end(options.input ?? "")
  })

/** Live sandboxes, SIGKILLed if this process exits without stopping them. */
const live = new Set<number>()
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const pid of live) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  })
}

const waitExit = (child: ChildProcess, timeoutMs: number): Promise<boolean> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs)
        child.once("exit", () => {
          clearTimeout(timer)
          resolve(true)
        })
      })

/** Boots a sandboxed systemd; see the module comment. Rejects (after cleaning up) if boot fails or takes too long. */
export const startSandbox = async (options: SandboxOptions = {}): Promise<Sandbox> => {
  if (process.getuid?.() !== 0) throw new Error("machina-sandbox: must run as root")
  const bootTimeoutMs = options.bootTimeoutMs ?? 60_000
  const deadline = Date.now() + bootTimeoutMs
  const unit = options.unit ?? "basic.target"
  const mask = [...DEFAULT_MASK, ...(options.mask ?? [])]
  for (const name of mask) {
    if (!/^[A-Za-z0-9:_.@\\-]+$/.test(name)) throw new Error(`machina-sandbox: invalid unit name ${JSON.stringify(name)}`)
  }
  const devices = [...DEFAULT_DEVICES, ...(options.devices ?? [])]
  for (const device of devices) {
    if (!/^[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/.test(device) || device.split("/").includes("..")) {
      throw new Error(`machina-sandbox: invalid device name ${JSON.stringify(device)}`)
    }
  }

  const cgroupDir = path.join(ownCgroup2(), `machina-sandbox-${randomBytes(6).toString("hex")}`)
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), "machina-sandbox-"))
  const fsDir = path.join(workDir, "fs")
  const logFile = path.join(workDir, "boot.log")
  await fsp.mkdir(fsDir, { mode: 0o700 })
  await fsp.mkdir(cgroupDir)

  const logFd = fs.openSync(logFile, "a")
  let child: ChildProcess
  try {
    child = spawn("bash", ["-c", OUTER, "machina-sandbox", cgroupDir, INNER, String(options.watchPid ?? process.pid), fsDir, unit, devices.join(" "), ...mask], {
      detached: true,
      stdio: ["ignore", logFd, logFd],
      env: { PATH: PATH_ENV, LANG: "C.UTF-8" }
    })
  } finally {
    fs.closeSync(logFd)
  }
  child.on("error", () => {})
  const launcherPid = child.pid
  let pid: number | undefined
  let stopped = false

  const bootLog = () => {
    try {
      return fs.readFileSync(logFile, "utf8").slice(-4000)
    } catch {
      return ""
    }
  }

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // Killing PID 1 of the namespace ends every process in it; the launcher chain then exits and is
    // reaped. Before systemd is known, kill the launcher's whole process group (unshare's
    // --kill-child takes the namespace down with it).
    const kill = (target: number) => {
      try {
        process.kill(target, "SIGKILL")
      } catch {
        // already gone
      }
    }
    if (pid !== undefined) kill(pid)
    else if (launcherPid !== undefined) kill(-launcherPid)
    if (!(await waitExit(child, 10_000))) {
      throw new Error(`machina-sandbox: the sandbox (pid ${pid ?? launcherPid}) did not exit within 10 s of SIGKILL`)
    }
    if (pid !== undefined) live.delete(pid)
    await removeCgroup(cgroupDir, Date.now() + 5_000)
    // The tmpfs on fsDir lives in the sandbox's mount namespace only; refuse to recurse into a mount.
    const parentDev = fs.statSync(workDir).dev
    const fsDev = fs.existsSync(fsDir) ? fs.statSync(fsDir).dev : parentDev
    if (fsDev !== parentDev) throw new Error(`machina-sandbox: ${fsDir} is still a mount point; not removing ${workDir}`)
    await fsp.rm(workDir, { recursive: true, force: true })
  }

  const hostPathOf = (file: string): string => {
    if (!path.isAbsolute(file)) throw new Error(`machina-sandbox: not an absolute path: ${file}`)
    if (pid === undefined) throw new Error("machina-sandbox: not booted")
    return `/proc/${pid}/root${path.posix.normalize(file)}`
  }

  const exec = (argv: ReadonlyArray<string>, execOptions: ExecOptions = {}): Promise<ExecResult> => {
    if (pid === undefined || stopped) return Promise.reject(new Error("machina-sandbox: not running"))
    const wd = execOptions.cwd === undefined ? [] : [`--wd=${execOptions.cwd}`]
    return runProcess("nsenter", ["-t", String(pid), "-a", ...wd, "--", ...argv], execOptions)
  }

  const execOk = async (argv: ReadonlyArray<string>, execOptions: ExecOptions = {}): Promise<string> => {
    const result = await exec(argv, execOptions)
    if (result.code !== 0) {
      throw new Error(`machina-sandbox: ${argv.join(" ")} exited ${result.code}\n${result.stdout}${result.stderr}`)
    }
    return result.stdout
  }

  const fail = async (message: string): Promise<never> => {
    const log = bootLog()
    await stop().catch(() => {})
    throw new Error(`machina-sandbox: ${message}${log === "" ? "" : `\nboot log:\n${log}`}`)
  }

  const exited = () => child.exitCode !== null || child.signalCode !== null

  if (launcherPid === undefined) return fail("could not spawn the sandbox")
  installExitHook()

  // 1. The sandbox's PID 1, once it has exec'ed systemd.
  while (pid === undefined) {
    if (exited()) return fail(`the sandbox exited during set-up (code ${child.exitCode}, signal ${child.signalCode})`)
    if (Date.now() > deadline) return fail(`systemd did not start within ${bootTimeoutMs} ms`)
    pid = findSystemd(launcherPid)
    if (pid === undefined) await sleep(25)
  }
  live.add(pid)

  // 2. systemd is up.
  for (;;) {
    if (exited()) return fail("systemd exited during boot")
    if (Date.now() > deadline) return fail(`systemd was not running within ${bootTimeoutMs} ms`)
    const state = await exec(["systemctl", "is-system-running"], { timeoutMs: 5_000 }).catch(() => undefined)
    const answer = state?.stdout.trim()
    if (answer === "running" || answer === "degraded") break
    await sleep(100)
  }

  // 3. The system bus, with systemd on it.
  if (options.dbus ?? true) {
    const started = await exec(["systemctl", "start", "dbus.service"], {
      timeoutMs: Math.max(1_000, deadline - Date.now())
    }).catch((error: unknown) => ({ code: -1, stdout: "", stderr: String(error) }))
    if (started.code !== 0) return fail(`dbus.service did not start: ${started.stderr}`)
    for (;;) {
      if (Date.now() > deadline) return fail(`org.freedesktop.systemd1 had no owner on the bus within ${bootTimeoutMs} ms`)
      const owner = await exec(
        [
          "busctl",
          "--system",
          "call",
          "org.freedesktop.DBus",
          "/org/freedesktop/DBus",
          "org.freedesktop.DBus",
          "GetNameOwner",
          "s",
          "org.freedesktop.systemd1"
        ],
        { timeoutMs: 5_000 }
      ).catch(() => undefined)
      if (owner?.code === 0) break
      await sleep(100)
    }
  }

  const sandboxPid = pid
  return {
    pid: sandboxPid,
    workDir,
    busAddress: `unix:path=/proc/${sandboxPid}/root/run/dbus/system_bus_socket`,
    exec,
    execOk,
    writeFile: async (file, content, mode = 0o644) => {
      const target = hostPathOf(file)
      await fsp.mkdir(path.dirname(target), { recursive: true })
      await fsp.writeFile(target, content, { mode })
      await fsp.chmod(target, mode)
    },
    readFile: (file) => fsp.readFile(hostPathOf(file), "utf8"),
    hostPathOf,
    journal: async (journalUnit) => {
      const result = await exec(
        ["journalctl", "--no-pager", "-o", "short-precise", ...(journalUnit === undefined ? [] : ["-u", journalUnit])],
        { timeoutMs: 10_000 }
      )
      return result.stdout + result.stderr
    },
    stop
  }
}

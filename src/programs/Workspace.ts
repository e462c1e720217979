/**
 * What most commands need first: the configuration store chosen by the global options, the host
 * file, and machines loaded and merged with their tags.
 */
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { ConfigInvalidError, ConfigWarning } from "../domain/ConfigIssue.js"
import { compose, type Composed, composeUnpopulated } from "../domain/Merge.js"
import * as ConfigStoreFs from "../layers/ConfigStoreFs.js"
import { RUN_DIR } from "../domain/Paths.js"
import type { HostLockError } from "../services/HostLock.js"
import type { ProgressShape, ProgressWait } from "../services/Progress.js"
import type { SystemdShape } from "../services/Systemd.js"
import { type ConfigError, ConfigStore, type ConfigStoreShape } from "../services/ConfigStore.js"
import { Warnings } from "../services/Warnings.js"

/**
 * A module loaded the first time an effect needs it, once. The host services (systemd, mdev, links,
 * locks, QMP, processes) and their implementations are loaded this way: a command that does not
 * use them does not pay for them at start-up (their modules, error schemas and Node built-ins
 * such as child_process and net), and `args` or `cat` start faster.
 */
export const lazy = <M>(load: () => Promise<M>): Effect.Effect<M> => {
  let loading: Promise<M> | undefined
  return Effect.promise(() => (loading ??= load()))
}

/** A service provided by the caller (simulated host, tests), else the real one built by `fallback`. */
export const serviceOr = <I, S, E, R>(tag: Context.Tag<I, S>, fallback: Effect.Effect<S, E, R>): Effect.Effect<S, E, R> =>
  Effect.flatMap(Effect.serviceOption(tag), Option.match({ onNone: () => fallback, onSome: Effect.succeed }))

/**
 * Where the configuration lives, as the global options said (`--config-dir` or
 * `MACHINA_CONFIG_DIR`). The full CLI provides it from the root command's options, the hook fast
 * path (Hooks.ts) from its own reading of argv; without it the default applies. A service rather
 * than the root command itself, so the programs here do not load @effect/cli.
 */
export class ConfigLocation extends Context.Tag("machina/ConfigLocation")<ConfigLocation, {
  readonly configDir: string | undefined
}>() {}

/**
 * Reports warnings: through the run's Warnings service (each printed once on stderr), or straight
 * to stderr when none is provided (a handler run on its own).
 */
export const warn = (warnings: ReadonlyArray<ConfigWarning>): Effect.Effect<void> =>
  warnings.length === 0
    ? Effect.void
    : Effect.flatMap(Effect.serviceOption(Warnings), Option.match({
      onNone: () => Effect.forEach(warnings, (w) => Console.error(w.toString()), { discard: true }),
      onSome: (w) => w.warn(warnings)
    }))

/**
 * The ConfigStore as configured, whose files' warnings are left to the caller (`check` lists
 * them itself): one provided by the caller (offline simulation, tests) wins; otherwise the
 * directory from `--config-dir` / `MACHINA_CONFIG_DIR` / the default.
 */
export const quietStore = serviceOr(
  ConfigStore,
  Effect.flatMap(Effect.serviceOption(ConfigLocation), (location) =>
    ConfigStoreFs.make({ confDir: Option.isSome(location) ? location.value.configDir : undefined }))
)

/** A store whose loads report the files' warnings (unknown keys, trailing data) once on stderr. */
const reporting = (s: ConfigStoreShape): ConfigStoreShape => ({
  ...s,
  loadHost: Effect.tap(s.loadHost, (h) => warn(h.warnings)),
  loadMachine: (name) => Effect.tap(s.loadMachine(name), (m) => warn(m.warnings))
})

/** The ConfigStore every command but `check` uses: loads report their warnings on stderr. */
export const store = Effect.map(quietStore, reporting)

export const loadHost = Effect.flatMap(store, (s) => s.loadHost)

/** What `list` and `cat` say when the configuration has no machines (`placeholderFile`: a machine file's path). */
export const noMachinesIn = (placeholderFile: string): string =>
  `${placeholderFile.replace(/\/[^/]*$/, "")} has no *.conf.json files (see: machina help new)`

/** Loads and merges machines in argument order; the first failure aborts (nothing is done yet). */
export const composeAll = (
  names: ReadonlyArray<string>,
  /** `false`: without the derived identifiers (Merge.ts `composeUnpopulated`), for what needs none. */
  options: { readonly identities?: boolean } = {}
) =>
  Effect.gen(function*() {
    const s = yield* store
    const host = yield* s.loadHost
    const machines: Array<Composed> = []
    for (const name of names) {
      const machine = yield* s.loadMachine(name)
      const composed = options.identities === false ? composeUnpopulated(host, machine) : compose(host, machine)
      machines.push(yield* Either.match<Composed, ConfigInvalidError, Effect.Effect<Composed, ConfigError>, Effect.Effect<Composed>>(composed, {
        onLeft: (e: ConfigInvalidError) => Effect.fail(e),
        onRight: Effect.succeed
      }))
    }
    return { host, machines: machines as ReadonlyArray<Composed> }
  })

const systemdModules = lazy(() => Promise.all([import("../services/Systemd.js"), import("../layers/SystemdDbus.js")]))

/** The Systemd service: one provided by the caller wins, else the system bus. Needs a Scope. */
export const systemd = Effect.flatMap(systemdModules, ([{ Systemd }, SystemdDbus]) => serviceOr(Systemd, SystemdDbus.make()))

/**
 * Reloads systemd after unit files changed, as `systemctl` does; when systemd cannot be reached
 * it says so (the files are in place) instead of failing. True when the reload happened.
 */
export const reloadUnits = (sd: SystemdShape, what: string) =>
  Effect.flatMap(Effect.either(sd.reload()), (r) =>
    Either.isRight(r)
      ? Effect.succeed(true)
      : Effect.as(Console.error(`machina: warning: ${what} but systemd was not reloaded (${r.left.message}); run: systemctl daemon-reload`), false))



/** `MACHINA_RUN_DIR` (default /run/machina) and `MACHINA_SYSFS_ROOT` (default /sys): host roots. */
export const runDir = (): string => process.env["MACHINA_RUN_DIR"] ?? RUN_DIR
export const sysfsRoot = (): string => process.env["MACHINA_SYSFS_ROOT"] ?? "/sys"

export const mdev = Effect.flatMap(
  lazy(() => Promise.all([import("../services/Mdev.js"), import("../layers/MdevSysfs.js")])),
  ([{ Mdev }, MdevSysfs]) => serviceOr(Mdev, MdevSysfs.make({ root: sysfsRoot() }))
)

/**
 * `MACHINA_SIMULATE_LINKS=kvmbr0:bridge,vm.0,vm.1`: an offline host whose network links are
 * simulated in memory (NetLinksMemory) instead of set with `ip`: the links listed exist, down and
 * without a master, each `name` or `name:kind` (kind `tap` by default; only a `bridge` can be a
 * master). For offline testing and the boot-storm benchmark; changes live as long as the process.
 * Undefined when the variable is not set.
 */
export const simulatedLinks = (): ReadonlyArray<{ readonly name: string; readonly kind: string }> | undefined => {
  const spec = process.env["MACHINA_SIMULATE_LINKS"]
  if (spec === undefined) return undefined
  return spec.split(",").filter((s) => s !== "").map((s) => {
    const at = s.indexOf(":")
    return at === -1 ? { name: s, kind: "tap" } : { name: s.slice(0, at), kind: s.slice(at + 1) }
  })
}

export const netLinks = Effect.flatMap(
  lazy(() => import("../services/NetLinks.js")),
  ({ NetLinks }) =>
    serviceOr(
      NetLinks,
      Effect.suspend(() => {
        const simulated = simulatedLinks()
        return simulated === undefined
          ? Effect.flatMap(lazy(() => import("../layers/NetLinksIproute2.js")), (NetLinksIproute2) => NetLinksIproute2.make())
          : Effect.flatMap(lazy(() => import("../layers/NetLinksMemory.js")), (m) => Effect.map(m.make({ links: simulated }), (s) => s.netLinks))
      })
    )
)

/** The QemuInfo service: one provided by the caller wins, else the installed QEMU. */
export const qemuInfo = Effect.flatMap(
  lazy(() => Promise.all([import("../services/QemuInfo.js"), import("../layers/QemuInfoNode.js")])),
  ([{ QemuInfo }, QemuInfoNode]) => serviceOr(QemuInfo, Effect.sync(() => QemuInfoNode.make()))
)

const hostLockModules = lazy(() => Promise.all([import("../services/HostLock.js"), import("../layers/HostLockFs.js")]))

/**
 * Runs `effect` holding the host lock of `machine` (config.md: one machina at a time prepares or
 * tears down a machine): the caller's HostLock service, else lock files under the run directory.
 */
export const withHostLock = <A, E, R>(machine: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | HostLockError, R> =>
  Effect.flatMap(hostLockModules, ([{ HostLock, withLock }, HostLockFs]) =>
    Effect.flatMap(serviceOr(HostLock, HostLockFs.make({ runtimeDir: runDir() })), (lock) =>
      withLock(machine, effect).pipe(Effect.provideService(HostLock, lock))))

/** The PID of another live machina holding the machine's lock, if any. */
export const lockHolder = (machine: string) =>
  Effect.flatMap(hostLockModules, ([{ HostLock }, HostLockFs]) =>
    Effect.flatMap(serviceOr(HostLock, HostLockFs.make({ runtimeDir: runDir() })), (lock) => lock.holder(machine)))

const processesModules = lazy(() => Promise.all([import("../services/Processes.js"), import("../layers/ProcessesNode.js")]))

/** The Processes service: one provided by the caller (simulated host, tests) wins, else /proc and child_process. */
export const processes = Effect.flatMap(processesModules, ([{ Processes }, ProcessesNode]) => serviceOr(Processes, Effect.succeed(ProcessesNode.make)))

export const hostUsers = Effect.flatMap(
  lazy(() => Promise.all([import("../services/HostUsers.js"), import("../layers/HostUsersGetent.js")])),
  ([{ HostUsers }, HostUsersGetent]) => serviceOr(HostUsers, HostUsersGetent.make())
)

/** The unit model, loaded when first needed: the hooks that never ask for swtpm units do not pay for it. */
const swtpmModule = lazy(() => import("./SwtpmUnits.js"))

/**
 * The swtpm unit of each named machine that has one (TPM enabled, merged with its tags), or
 * undefined; machines that do not compose (reported by other commands) have none here.
 */
export const swtpmUnitsOf = (names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { tpmStateOf, swtpmUnitName } = yield* swtpmModule
    const s = yield* store
    const host = yield* Effect.either(s.loadHost)
    if (Either.isLeft(host)) return names.map(() => undefined)
    return yield* Effect.forEach(names, (name) =>
      Effect.map(Effect.either(s.loadMachine(name)), (m) => {
        if (Either.isLeft(m)) return undefined
        const c = compose(host.right, m.right)
        return Either.isRight(c) && c.right.definition.attrs.tpm.enabled && tpmStateOf(host.right, c.right) !== undefined
          ? swtpmUnitName(name)
          : undefined
      }))
  })

/**
 * Progress of long waits: one provided by the caller (tests, simulation) wins, else a line on
 * stderr when it is a terminal (quiet otherwise).
 */
export const progress = Effect.flatMap(
  lazy(() => Promise.all([import("../services/Progress.js"), import("../layers/ProgressTerminal.js")])),
  ([{ Progress }, ProgressTerminal]) => serviceOr(Progress, Effect.sync(() => (terminalProgress ??= ProgressTerminal.make())))
)
/** One line for the whole process: concurrent waits share it. */
let terminalProgress: ProgressShape | undefined

/** Runs `effect` showing `wait` as progress (see services/Progress.ts). */
export const during = <A, E, R>(wait: ProgressWait, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(progress, (p) => p.during(wait, effect))

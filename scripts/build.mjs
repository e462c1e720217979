// Bundles the CLI into one CommonJS file so start-up stays fast (see STYLE.md, "Measured start-up").
//
// `dist/machina.cjs` is one self-contained file (install copies just this file): a small loader,
// then a comment holding the minified bundle and a V8 code cache of it. The loader compiles the
// bundle with `vm.Script` and the cache, so V8 does not parse or compile it again; the cache is
// made at build time by running the bundle once (`args` on examples/seed) and taking
// `script.createCachedData()` at exit, so it also holds the functions that run on a typical
// command. On another Node (V8 version or flags), V8 rejects the cache and compiles the source as
// usual: slower, same behaviour. The bundle runs with the
// loader's own `module`, `require`, `__filename` and `__dirname`, so `require.main.filename`,
// `process.argv` and `__filename` are what they would be for a plain bundle.
//
// The default build holds two bundles: the full CLI (src/bin.ts) and the hook bundle
// (src/hook.ts: the commands systemd and QEMU run for every machine start and stop, without
// @effect/cli), each with its own code cache. The loader runs src/programs/HookArgv.ts (tiny,
// import-free, inlined in the loader) on argv, reads again only the part of this file that bundle
// needs, and compiles only it. The hook bundle's code cache, hooks.cache (670 KB), is trained in
// a process of its own on examples/seed's test-vm, with simulated links and a temp sysfs and run
// directory, on the hooks that run most: ifup, shutdown --system of a stopped machine, ifdown.
// V8 reads the whole cache it is given (about 8-9 ms for 700 KB here, deserialising), so the tap
// hooks had a second cache trained on them alone while shutdown loaded the QMP client and
// Effect's streams (924 KB against 761 KB then: ifup and ifdown about 3 ms faster). Since shutdown
// of a stopped machine no longer does, that cache was 5% smaller (636 KB) and measured no faster
// (two interleaved rounds of 41), so there is one again.
// A cache trained on shutdown alone (885 KB then, against 924 KB) measured no better than
// hooks.cache for shutdown (within noise).
// prepare and teardown are not trained: on a build host they are outside their unit and would put
// the D-Bus client (the occupancy check) in the cache, which their real runs under systemd, inside
// the unit, do not load; what they share with the trained hooks (configuration, Effect's runtime)
// is in hooks.cache, and it does not hold their own program's functions.
// The hook bundle leaves dbus-next out: the file holds it once more, compressed, and the loader's
// require for the hook bundle unpacks it on first use (see dbusApart below).
// MACHINA_BUNDLE=full (force the full CLI) and MACHINA_BUNDLE=report (say on stderr which bundle
// runs, then which code cache it was compiled with and whether V8 took it: `accepted`, `rejected`,
// or `none` when an installed cache file is missing) are diagnostics for tests and by hand.
//
// `node scripts/build.mjs --plain` writes the plain bundle instead (readable stack traces,
// profiling). `--entry FILE --outfile FILE --train ARG,ARG...` builds another entry the same way
// (the start-up benchmark's reference program, bench/floor.ts).
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { brotliCompressSync, brotliDecompressSync, constants as zlib, createBrotliCompress } from "node:zlib"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const flag = (name) => {
  const at = process.argv.indexOf(name)
  return at === -1 ? undefined : process.argv[at + 1]
}
const entry = flag("--entry") ?? "src/bin.ts"
const outfile = resolve(root, flag("--outfile") ?? "dist/machina.cjs")
const trainArgs = flag("--train")?.split(",") ?? ["--config-dir", join(root, "examples/seed"), "args", "test-vm"]
const plain = process.argv.includes("--plain")

// The front end of `machina ui` (src/web, Preact): bundled for the browser first, then embedded in
// the CLI bundle as the string MACHINA_UI_SCRIPT, so the one file serves it offline.
const web = await build({
  absWorkingDir: root,
  entryPoints: ["src/web/main.tsx"],
  bundle: true,
  platform: "browser",
  target: "es2020",
  format: "iife",
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  legalComments: "none",
  charset: "ascii",
  write: false,
  logLevel: "warning"
})

/**
 * Whether this build carries the hook bundle and keeps dbus-next apart (the machina entry; not the
 * benchmark's floor, not the plain bundle).
 */
const withHooks = entry === "src/bin.ts" && !plain

// dbus-next and its dependencies (an XML parser and builder, big-integer libraries: about 190 KB
// minified, a third of the hook bundle's source) are used only by the hooks that talk to systemd
// (prepare and teardown, for the occupancy check), which load it on first use
// (layers/SystemdDbus.ts). Node reads every byte of the file on every run, so the hook bundle
// leaves it out and the file holds it compressed; the loader's require for the hook bundle
// unpacks and runs it on first use. The full CLI keeps its own copy: taking it out of the full
// CLI too made `args` slower in interleaved runs (its bundle's own run took longer; not explained).
// An external import() would stay import(), which vm.Script cannot run: the import resolves to a
// module of the bundle whose require of dbus-next is the external one.
const dbusApart = {
  name: "dbus-next-apart",
  setup(build) {
    build.onResolve({ filter: /^dbus-next$/ }, (args) =>
      args.namespace === "dbus-next-apart" ? { path: "dbus-next", external: true } : { path: "dbus-next", namespace: "dbus-next-apart" })
    build.onLoad({ filter: /.*/, namespace: "dbus-next-apart" }, () => ({ contents: 'module.exports = require("dbus-next")', loader: "js" }))
  }
}
// Three probes of the environment that Effect's modules run when they load, taken out of machina's
// bundles (esbuild substitutes the text; the build fails if Effect's text is no longer what is
// replaced, so an upgrade of Effect makes someone look again):
// - internal/clock.js reads the global `performance` to align its nanosecond clock with the wall
//   clock. Node creates `performance` on first use, loading its perf_hooks modules (about 1.3 ms
//   here), and a hook never asks the clock for nanoseconds (src/hook.ts runs spans untimed). The
//   same functions are now made on their first call: same values.
// - internal/logger.js reads `process.stdout` (and its `isTTY`) to choose colours for the pretty
//   logger. Reading it creates Node's stdout stream: 2.5 ms, 4.5 ms for a pipe or a socket (the
//   journal's), for commands that write with layers/ConsoleFd.ts and need no stream. Both entry
//   points run without the pretty logger (runMain's disablePrettyLogger), which is all the value
//   is for: it now never colours.
// - Utils.js formats a stack trace (`new Error().stack`) to learn whether V8 names a function in
//   its traces, which it does (the answer only chooses between two wrappers that both call their
//   argument; with traces disabled both are the same). The first stack formatted in a process
//   costs 1-2 ms; with this and layers/Traced.ts, a hook that succeeds formats none.
const effectProbes = {
  name: "effect-probes",
  setup(build) {
    build.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]esm[\\/](internal[\\/](clock|logger)|Utils)\.js$/ }, (args) => {
      let text = readFileSync(args.path, "utf8")
      const missing = (what) =>
        new Error(`${args.path}: the text machina's build replaces is not there once (${JSON.stringify(what.slice(0, 60))}); see effectProbes in scripts/build.mjs`)
      const replace = (from, to) => {
        const at = text.indexOf(from)
        if (at === -1 || text.indexOf(from, at + 1) !== -1) throw missing(from)
        text = text.slice(0, at) + to + text.slice(at + from.length)
      }
      if (args.path.endsWith("clock.js")) {
        // `const NAME = function () { ... }();` becomes `const NAME = firstCall(function () { ... });`
        for (const name of ["performanceNowNanos", "processOrPerformanceNow"]) {
          const head = `const ${name} = /*#__PURE__*/function () {`
          const at = text.indexOf(head)
          const end = at === -1 ? -1 : text.indexOf("\n}();", at)
          if (end === -1 || text.indexOf(head, at + 1) !== -1) throw missing(head)
          text = text.slice(0, at) + `const ${name} = /*#__PURE__*/firstCall(function () {` + text.slice(at + head.length, end) + "\n});" + text.slice(end + "\n}();".length)
        }
        text += "\nfunction firstCall(make) {\n  let f;\n  return () => (f ??= make())();\n}\n"
      } else if (args.path.endsWith("Utils.js")) {
        replace(
          `const isNotOptimizedAway = /*#__PURE__*/standard.effect_internal_function(() => new Error().stack)?.includes("effect_internal_function") === true;`,
          `const isNotOptimizedAway = true;`
        )
      } else {
        replace(
          `const hasProcessStdout = typeof process === "object" && process !== null && typeof process.stdout === "object" && process.stdout !== null;
const processStdoutIsTTY = hasProcessStdout && process.stdout.isTTY === true;`,
          `const hasProcessStdout = typeof process === "object" && process !== null;
const processStdoutIsTTY = false;`
        )
      }
      return { contents: text, loader: "js" }
    })
  }
}
// src/domain/SchemaModule.ts hands the part of effect/Schema and effect/ParseResult they use to the
// modules every hook loads, which need it only when something fails or a schema is asked for.
// Imported as it is written, it would initialise Schema with it; in machina's bundles it is this
// module instead, which require()s that file (as a module of its own, in the namespace
// `schema-eager`) on the first call: esbuild makes that require the lazy initialisation of the
// same bundled modules (one instance, as any static import of them gets), and the named imports
// of the file keep Schema's unused parts out of the bundles. A hook that succeeds never
// initialises Schema (about 1 ms and 400 KB of objects, and its share of the code cache).
// HookBundle's test checks that a successful hook leaves Schema unloaded.
const schemaOnDemand = {
  name: "schema-on-demand",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]domain[\\/]SchemaModule\.ts$/, namespace: "file" }, (args) => ({
      contents: `let eager
const load = () => (eager ??= require(${JSON.stringify(`schema-eager:${args.path}`)}))
export const schemaModule = () => load().schemaModule()
export const parseResultModule = () => load().parseResultModule()
`,
      loader: "js",
      resolveDir: dirname(args.path)
    }))
    build.onResolve({ filter: /^schema-eager:/ }, (args) => ({ path: args.path.slice("schema-eager:".length), namespace: "schema-eager" }))
    build.onLoad({ filter: /.*/, namespace: "schema-eager" }, (args) => ({
      contents: readFileSync(args.path, "utf8"),
      loader: "ts",
      resolveDir: dirname(args.path)
    }))
  }
}

const bundleOf = async (entryPoint, { withoutDbus = false, probes = false, stdin } = {}) => {
  const result = await build({
    absWorkingDir: root,
    ...(stdin === undefined ? { entryPoints: [entryPoint] } : { stdin: { contents: stdin, resolveDir: root, loader: "js" } }),
    define: { MACHINA_UI_SCRIPT: JSON.stringify(web.outputFiles[0].text) },
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    write: false,
    outfile: outfile,
    // Less source for V8 to read, hash and (for functions outside the cache) compile.
    minify: !plain,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    // Optional transports of dbus-next that machina never uses (X11 session buses, native sockets).
    external: ["x11", "usocket", "abstract-socket"],
    plugins: [...(probes ? [effectProbes, schemaOnDemand] : []), ...(withoutDbus ? [dbusApart] : [])]
  })
  return result.outputFiles[0].text
}
// machina's own entries only: the benchmark's floor program stays the stack as published.
const bundle = await bundleOf(entry, { probes: entry === "src/bin.ts" })

/** Replaces the output atomically: a running machina reads its own file again after Node did. */
const writeExecutable = (text) => {
  mkdirSync(dirname(outfile), { recursive: true })
  const temporary = `${outfile}.${process.pid}.tmp`
  writeFileSync(temporary, text, { mode: 0o755 })
  chmodSync(temporary, 0o755)
  renameSync(temporary, outfile)
}

if (plain) {
  writeExecutable("#!/usr/bin/env node\n" + bundle)
  process.exit(0)
}

// vm.Script is given no dynamic-import hook: every import() must have become a require.
const wrap = (text) => {
  if (text.includes("import(")) throw new Error("the bundle contains import(), which the loader's vm.Script cannot run")
  // The bundle as Node itself would wrap a CommonJS module.
  return "(function (exports, require, module, __filename, __dirname) { " + text + "\n})"
}
const source = wrap(bundle)

// Training and checking run in fresh Nodes without NODE_OPTIONS: V8 flags are part of what a code
// cache must match, and `node dist/machina.cjs` normally runs without any.
const { NODE_OPTIONS: _, ...cleanEnv } = process.env
const node = (script, args, env = {}) => {
  // stderr is shown only when the run fails (training runs include hooks that report failures).
  const run = spawnSync(process.execPath, ["-e", script, ...args], { cwd: root, env: { ...cleanEnv, ...env }, stdio: ["ignore", "ignore", "pipe"] })
  if (run.status !== 0) process.stderr.write(run.stderr)
  return run.status ?? run.signal
}

/**
 * Runs a bundle once (`machina ARGS`, as `program` when given: argv[1] is then that name beside
 * the output) from `source` and returns the code cache V8 holds at exit.
 */
const train = (source, args, { program, env } = {}) => {
  const work = mkdtempSync(join(tmpdir(), "machina-build-"))
  try {
    const sourceFile = join(work, "bundle.js")
    const cacheFile = join(work, "bundle.cache")
    writeFileSync(sourceFile, source)
    const trainer = `
      const { readFileSync, writeFileSync } = require("node:fs")
      const Module = require("node:module")
      const { dirname } = require("node:path")
      const { Script } = require("node:vm")
      const [sourceFile, cacheFile, file, program, ...args] = process.argv.slice(1)
      const script = new Script(readFileSync(sourceFile, "utf8"), { filename: file })
      const fn = script.runInThisContext()
      const module = new Module(file, null)
      module.filename = file
      module.paths = Module._nodeModulePaths(dirname(file))
      const runAs = (program, args) => {
        process.argv = [process.argv[0], program === "" ? file : require("node:path").join(dirname(file), program), ...args]
        fn.call(module.exports, module.exports, Module.createRequire(file), module, file, dirname(file))
      }
      // Later runs (each [program, ...args]) start when the previous one is done, in the same
      // script, so the cache also holds their functions; only the first run's status counts.
      // A run ends either by draining the event loop (beforeExit) or by process.exit(), as
      // machina's entry points do once their output is written (src/programs/EarlyExit.ts): that
      // starts the next run instead while runs remain (the caller goes on as if exit returned; its
      // runtime is done by then).
      const more = JSON.parse(process.env.MACHINA_TRAIN_MORE ?? "[]")
      let status
      const next = () => {
        status ??= process.exitCode ?? 0
        const run = more.shift()
        if (run !== undefined) runAs(run[0], run.slice(1))
      }
      process.on("beforeExit", next)
      const exit = process.exit
      process.exit = (code) => {
        if (code !== undefined) process.exitCode = code
        if (more.length === 0) return exit.call(process)
        status ??= process.exitCode ?? 0
        process.exitCode = 0
        setImmediate(next)
      }
      process.on("exit", () => {
        writeFileSync(cacheFile, script.createCachedData())
        process.exitCode = status ?? process.exitCode
      })
      runAs(program, args)
    `
    const status = node(trainer, [sourceFile, cacheFile, outfile, program ?? "", ...args], env)
    if (status !== 0) throw new Error(`training run of the bundle failed (${status}): machina ${args.join(" ")}`)
    const cache = readFileSync(cacheFile)
    const check = `
      const { readFileSync } = require("node:fs")
      const { Script } = require("node:vm")
      const [sourceFile, cacheFile] = process.argv.slice(1)
      const script = new Script(readFileSync(sourceFile, "utf8"), { cachedData: readFileSync(cacheFile) })
      process.exitCode = script.cachedDataRejected === false ? 0 : 1
    `
    if (node(check, [sourceFile, cacheFile]) !== 0) throw new Error("V8 rejects the code cache it just made")
    return cache
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

const trainProgram = flag("--train-program")
const cache = train(source, trainArgs, trainProgram === undefined ? {} : { program: trainProgram })

/**
 * Compresses code caches (brotli, quality 9: decompressing quality 11 took longer than its
 * smaller size saved) as ONE stream, flushed after each cache but the last: a later cache is stored
 * as what differs from the earlier ones (within the 4 MB window; caches of the same source share
 * much of their contents: the hook bundle's second cache adds about 80 KB to the first's 320 KB),
 * and the first `k` caches are the output of the stream's first `points[k - 1][0]` bytes alone,
 * so a reader decompresses no further than the one it needs (decompressing costs about 12 ms per
 * MB of output here). `points[i]`: [compressed bytes to decompress, start, end of cache i in that
 * output].
 */
const compressCaches = (caches) =>
  new Promise((done, fail) => {
    const total = caches.reduce((n, c) => n + c.length, 0)
    const stream = createBrotliCompress({
      params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: total }
    })
    const chunks = []
    let size = 0
    const points = []
    stream.on("data", (chunk) => {
      chunks.push(chunk)
      size += chunk.length
    })
    stream.on("error", fail)
    stream.on("end", () => {
      points.push([size, total - caches.at(-1).length, total])
      done({ packed: Buffer.concat(chunks), points })
    })
    const write = (i, from) => {
      if (i === caches.length - 1) return void stream.end(caches[i])
      stream.write(caches[i])
      // The flushed output has been emitted once the callback's turn of the event loop is over.
      stream.flush(zlib.BROTLI_OPERATION_FLUSH, () => setImmediate(() => {
        points.push([size, from, from + caches[i].length])
        write(i + 1, from + caches[i].length)
      }))
    }
    write(0, 0)
  })

/** A bundle's source (stored raw) and its caches (one brotli stream, base64), as one stretch of the comment. */
const pack = async (source, caches) => {
  const sourceBytes = Buffer.from(source, "latin1")
  // esbuild escapes non-ASCII by default; the loader decodes the source as latin1, so it must be ASCII.
  if (sourceBytes.length !== source.length || /[^\x00-\x7f]/.test(source)) throw new Error("the bundle is not ASCII")
  // Node reads the whole file as UTF-8 and scans it as JavaScript before the loader runs, at about
  // 10 ms per MB, and a file with non-ASCII bytes costs more again. So the source, ASCII already,
  // is stored raw (no decoding at start-up) and the binary caches brotli-compressed in base64
  // (a third of their size; decompressing costs less than scanning them raw or in plain base64).
  // Both sit in one block comment at the end of the file. A comment ends at the first "*/", so
  // every "/" that follows a "*" in the source is stored as a NUL and its offset listed for the
  // loader. Base64 has no "*", so the caches need no such care.
  const stored = Buffer.from(sourceBytes)
  const restored = []
  for (let at = stored.indexOf("*/"); at !== -1; at = stored.indexOf("*/", at + 1)) {
    restored.push(at + 1)
    stored[at + 1] = 0
  }
  const { packed, points } = await compressCaches(caches)
  const packedCache = Buffer.from(packed.toString("base64"), "latin1")
  return { sourceBytes, caches, points, restored, sourceLength: stored.length, bytes: Buffer.concat([stored, Buffer.from(" "), packedCache]) }
}

const parts = [await pack(source, [cache])]
let chooser = ""
/** dbus-next's source, stored apart from both bundles (withHooks). */
let extra
if (withHooks) {
  // The hook bundle, with two code caches, each trained in its own process against examples/seed
  // (links simulated, a temp sysfs and run directory). V8 reads the whole cache it is given, so a
  // hook should not pay for the functions only other hooks run: the installed machina-ifup and
  // machina-ifdown take a cache of their own (see the comment at the top).
  const hookSource = wrap(await bundleOf("src/hook.ts", { withoutDbus: true, probes: true }))
  const host = mkdtempSync(join(tmpdir(), "machina-build-host-"))
  const hookCaches = []
  try {
    const type = join(host, "sys/bus/pci/devices/0000:c1:00.0/mdev_supported_types/nvidia-428")
    mkdirSync(type, { recursive: true })
    writeFileSync(join(type, "name"), "GRID RTX8000-6Q\n")
    writeFileSync(join(type, "create"), "")
    mkdirSync(join(host, "run"))
    const env = {
      MACHINA_CONFIG_DIR: join(root, "examples/seed"),
      MACHINA_SIMULATE_LINKS: "kvmbr0:bridge,test-vm.0",
      MACHINA_RUN_DIR: join(host, "run"),
      MACHINA_SYSFS_ROOT: join(host, "sys")
    }
    // hooks.cache: the hooks that run most, in one process (machina-ifup, then shutdown --system
    // of the stopped machine, then machina-ifdown), for every hook.
    hookCaches.push(train(hookSource, ["test-vm.0"], {
      program: "machina-ifup",
      env: {
        ...env,
        MACHINA_TRAIN_MORE: JSON.stringify([["machina", "shutdown", "--system", "--timeout", "1m25s", "test-vm"], ["machina-ifdown", "test-vm.0"]])
      }
    }))
  } finally {
    rmSync(host, { recursive: true, force: true })
  }
  parts.push(await pack(hookSource, hookCaches))
  // dbus-next, compressed (brotli, base64: no "*" to end the comment); no code cache, as it is
  // loaded only by commands that then wait on systemd.
  const dbusSource = Buffer.from(wrap(await bundleOf(undefined, { stdin: 'module.exports = require("dbus-next")' })), "latin1")
  if (dbusSource.some((byte) => byte > 0x7f)) throw new Error("dbus-next's bundle is not ASCII")
  extra = {
    sourceBytes: dbusSource,
    bytes: Buffer.from(
      brotliCompressSync(dbusSource, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: dbusSource.length } }).toString("base64"),
      "latin1"
    )
  }
  // HookArgv.ts, inlined: the loader's choice costs no more than the few functions it holds.
  const recogniser = await bundleOf("src/programs/HookArgv.ts")
  chooser = `
  const hookArgv = (() => { const module = { exports: {} }, exports = module.exports; ${recogniser.trim()}
    return module.exports.hookArgv })()
  // MACHINA_BUNDLE=full forces the full CLI (to compare both paths); MACHINA_BUNDLE=report says
  // on stderr which bundle runs, then which code cache and whether V8 took it (see run).
  // Diagnostics, for tests and by hand.
  const choice = process.env.MACHINA_BUNDLE
  const hook = choice === "full" ? undefined : hookArgv(process.argv)
  if (hook !== undefined) {
    if (choice === "report") process.stderr.write("machina: bundle: hooks\\n")
    // The hook bundle leaves what it cannot take as given to the full CLI (see src/hook.ts).
    globalThis.__machinaFullCli = () => run(0, require, 0)
    run(1, hookRequire, cacheOf(hook))
  } else {
    if (choice === "report") process.stderr.write("machina: bundle: full\\n")
    run(0, require, 0)
  }`
} else chooser = `
  run(0, require, 0)`

// Offsets of each part from the start of the payload, which ends the file (the loader finds it
// from the end, by its length).
const payload = Buffer.concat([
  ...parts.flatMap((p, i) => (i === 0 ? [p.bytes] : [Buffer.from(" "), p.bytes])),
  ...(extra === undefined ? [] : [Buffer.from(" "), extra.bytes])
])
const tail = "*/\n"
const layout = []
for (let i = 0, at = 0; i < parts.length; at += parts[i].bytes.length + 1, i++) {
  layout.push([at, parts[i].sourceLength, at + parts[i].bytes.length, parts[i].restored, parts[i].points])
}
const extraAt = layout.length === 0 ? 0 : layout[layout.length - 1][2] + 1
const extraLayout = extra === undefined ? undefined : [extraAt, extraAt + extra.bytes.length]

/**
 * Both loaders' `require` for the hook bundle: dbus-next, kept apart from it, is run from
 * `sourceBytes` (an expression giving its source as a Buffer) on first use.
 */
const hookRequireOf = (sourceBytes) => `  // dbus-next, kept apart from the hook bundle: run on first use.
  let dbusNext
  const loadDbusNext = () => {
    const module = { exports: {} }
    new (require("node:vm").Script)(${sourceBytes}.latin1Slice(), { filename: __filename }).runInThisContext()
      .call(module.exports, module.exports, require, module, __filename, __dirname)
    return module.exports
  }
  const hookRequire = Object.assign((id) => (id === "dbus-next" ? (dbusNext ??= loadDbusNext()) : require(id)), require)`

// The code caches' names, by bundle (0: the full CLI, 1: the hook bundle) and, for the hook
// bundle, by family in training order: the files `machina install` writes, and what
// MACHINA_BUNDLE=report names.
const cacheNames = withHooks ? [["cli.cache"], ["hooks.cache"]] : [["cli.cache"]]
/** Both loaders' MACHINA_BUNDLE=report line: the code cache a bundle was compiled with, and whether V8 took it. */
const reportCache = `    if (process.env.MACHINA_BUNDLE === "report") {
      process.stderr.write(\`machina: code cache: \${cacheNames[which][k]}: \${cachedData === undefined ? "none" : script.cachedDataRejected ? "rejected" : "accepted"}\\n\`)
    }`

// The installed form (`machina install`, src/programs/Install.ts): Node reads every byte of the
// file it runs, about 10 ms per MB here, before any of it runs, and this file holds every bundle.
// So install writes a small loader as `<prefix>/bin/machina` and the bundles, raw, with their
// code caches uncompressed, into `<prefix>/lib/machina/<id>/` (`<id>`: a hash of them all). That
// loader reads only the bundle it runs. This file carries that loader's text and gives the parts
// to install through `globalThis.__machinaInstallable`; the installed loader gives its own, so an
// installed machina installs itself again the same way.
let installable = ""
let installedLoader
if (withHooks) {
  const { createHash } = await import("node:crypto")
  const files = [
    ["cli.js", parts[0].sourceBytes], ["cli.cache", parts[0].caches[0]],
    ["hooks.js", parts[1].sourceBytes], ...cacheNames[1].map((name, k) => [name, parts[1].caches[k]]),
    ["dbus-next.js", extra.sourceBytes]
  ]
  const largest = parts.map((p) => Math.max(p.sourceBytes.length, ...p.caches.map((c) => c.length)))
  const hash = createHash("sha256")
  for (const [name, bytes] of files) hash.update(`${name}\0${bytes.length}\0`).update(bytes)
  const id = hash.digest("hex").slice(0, 16)
  installedLoader = `#!/usr/bin/env node
"use strict";
// machina, as \`machina install\` writes it: this loader runs the bundles installed in
// ../lib/machina/${id}/ beside this file's directory (cli.js, hooks.js and dbus-next.js, the first
// two with their V8 code caches, cli.cache and hooks.cache). See scripts/build.mjs in the machina
// sources.
{
  const fs = require("node:fs")
  const { join } = require("node:path")
  const id = "${id}"
  const dir = join(__dirname, "..", "lib", "machina", id)
  // A file's bytes; into \`buffer\` (a view of it) when given and the file fits, else a new buffer.
  const read = (file, optional = false, buffer) => {
    try {
      if (buffer === undefined) return fs.readFileSync(join(dir, file))
      const fd = fs.openSync(join(dir, file), "r")
      try {
        const size = fs.fstatSync(fd).size
        if (size > buffer.length) return fs.readFileSync(fd)
        let at = 0
        for (let n = -1; at < size && n !== 0; at += n) n = fs.readSync(fd, buffer, at, size - at, at)
        return buffer.subarray(0, at)
      } finally {
        fs.closeSync(fd)
      }
    } catch (e) {
      if (optional && e.code === "ENOENT") return undefined
      process.stderr.write(\`machina: cannot read \${join(dir, file)} (\${e.code ?? e.message}): this installation of machina is incomplete; install it again\\n\`)
      process.exit(70)
    }
  }
  const cacheNames = ${JSON.stringify(cacheNames)}
  // The largest of each bundle's source and caches, as installed (see run).
  const largest = ${JSON.stringify(largest)}
  // The hook bundle's code cache for a hook: its one, hooks.cache.
  const cacheOf = () => 0
  // Runs bundle \`which\` (0: cli.js, 1: hooks.js) compiled with its code cache \`k\`, when there is one.
  // The source is copied into a string before the cache is read, so both are read into one buffer:
  // each page of fresh memory costs a fault to touch, and faults are slow on virtual machines
  // (about 10 us here, where this saved the hooks 1.5-2 ms and \`args\` 4-5 ms).
  const run = (which, require, k) => {
    const buffer = Buffer.allocUnsafeSlow(largest[which])
    const source = read(which === 0 ? "cli.js" : "hooks.js", false, buffer).latin1Slice()
    const cachedData = read(cacheNames[which][k], true, buffer)
    const script = new (require("node:vm").Script)(source, { filename: __filename, cachedData })
${reportCache}
    script.runInThisContext().call(exports, exports, require, module, __filename, __dirname)
  }
${hookRequireOf('read("dbus-next.js")')}
  globalThis.__machinaInstallable = {
    id,
    loader: () => fs.readFileSync(__filename),
    files: () => ${JSON.stringify(files.map(([name]) => name))}.map((name) => [name, read(name)])
  }${chooser}
}
`
  if (installedLoader.includes("*/")) throw new Error("the installed loader would end the comment it is stored before")
  installable = `
  // What \`machina install\` writes: the installed loader, and the bundles with their caches, raw.
  globalThis.__machinaInstallable = {
    id: "${id}",
    loader: () => Buffer.from(${JSON.stringify(installedLoader)}, "latin1"),
    files: () => [
      ["cli.js", source(0)], ["cli.cache", cache(0, 0)], ["hooks.js", source(1)],
      ...cacheNames[1].map((name, k) => [name, cache(1, k)]), ["dbus-next.js", dbusSourceBytes()]
    ]
  }`
}

const loader = `#!/usr/bin/env node
"use strict";
// machina: a loader, then the bundle(s) and their V8 code caches in the comment at the end (see
// scripts/build.mjs in the machina sources).
{
  // Node has read this whole file once already; read again only the part the chosen bundle needs.
  const fs = require("node:fs")
  const layout = ${JSON.stringify(layout)}
  const read = (at, end) => {
    const fd = fs.openSync(__filename, "r")
    const base = fs.fstatSync(fd).size - ${payload.length + tail.length}
    const part = Buffer.allocUnsafe(end - at)
    for (let got = 0, n = 1; got < part.length && n > 0; got += n) n = fs.readSync(fd, part, got, part.length - got, base + at + got)
    fs.closeSync(fd)
    return part
  }
  /**
   * A bundle's part of the file: its source (restored) and its compressed code caches, as far as
   * cache \`k\` needs (all when omitted).
   */
  const partOf = (which, k) => {
    const [at, length, end, restored, points] = layout[which]
    const part = read(at, k === undefined ? end : Math.min(end, at + length + 1 + Math.ceil(points[k][0] / 3) * 4))
    for (const r of restored) part[r] = 0x2f
    return { part, length, points }
  }
  const cacheNames = ${JSON.stringify(cacheNames)}
  // Every hook takes hooks.cache, the one cache of its stream.
  const cacheOf = () => 0
  /** Code cache \`k\` of a part: its one stream, decoded and decompressed no further than that cache (compressCaches). */
  const cacheIn = ({ part, length, points }, k) => {
    const zlib = require("node:zlib")
    const [upTo, from, to] = points[k]
    const packed = Buffer.from(part.latin1Slice(length + 1, Math.min(part.length, length + 1 + Math.ceil(upTo / 3) * 4)), "base64")
    return zlib.brotliDecompressSync(packed.subarray(0, upTo), { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }).subarray(from, to)
  }
  const source = (which) => { const { part, length } = partOf(which); return part.subarray(0, length) }
  const cache = (which, k) => cacheIn(partOf(which), k)${extraLayout === undefined ? `
  const hookRequire = require` : `
  const dbusSourceBytes = () => require("node:zlib").brotliDecompressSync(Buffer.from(read(${extraLayout[0]}, ${extraLayout[1]}).latin1Slice(), "base64"))
${hookRequireOf("dbusSourceBytes()")}`}
  /** Runs bundle \`which\` (0: the full CLI, 1: the hook bundle) compiled with its code cache \`k\`. */
  const run = (which, require, k) => {
    const found = partOf(which, k)
    const cachedData = cacheIn(found, k)
    const script = new (require("node:vm").Script)(found.part.latin1Slice(0, found.length), { filename: __filename, cachedData })
${reportCache}
    script.runInThisContext().call(exports, exports, require, module, __filename, __dirname)
  }${installable}${chooser}
}
/*`
const file = Buffer.concat([Buffer.from(loader, "latin1"), payload, Buffer.from(tail, "latin1")])

// With a cache V8 never reads the source of the functions the cache holds, so a wrongly restored
// source would only fail later, in a function outside the cache. Check the round trip here.
{
  const copy = Buffer.from(file)
  const base = copy.length - payload.length - tail.length
  parts.forEach((p, i) => {
    const [at, length, end, restored, points] = layout[i]
    for (const r of restored) copy[base + at + r] = 0x2f
    if (!copy.subarray(base + at, base + at + length).equals(p.sourceBytes)) throw new Error("the loader would not restore a bundle's source")
    // As the loader's cacheIn: each cache from the stream's prefix alone.
    p.caches.forEach((c, k) => {
      const [upTo, from, to] = points[k]
      const text = copy.latin1Slice(base + at + length + 1, Math.min(base + end, base + at + length + 1 + Math.ceil(upTo / 3) * 4))
      const packed = Buffer.from(text, "base64").subarray(0, upTo)
      if (!brotliDecompressSync(packed, { finishFlush: zlib.BROTLI_OPERATION_FLUSH }).subarray(from, to).equals(c)) {
        throw new Error("the loader would not restore a code cache")
      }
    })
  })
  if (extra !== undefined) {
    const text = copy.latin1Slice(base + extraLayout[0], base + extraLayout[1])
    if (!brotliDecompressSync(Buffer.from(text, "base64")).equals(extra.sourceBytes)) throw new Error("the loader would not restore dbus-next")
  }
  if (file.indexOf("*/", loader.length) !== file.length - tail.length) throw new Error("the payload would end the comment early")
}
writeExecutable(file)

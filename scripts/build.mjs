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
// `node scripts/build.mjs --plain` writes the plain bundle instead (readable stack traces,
// profiling). `--entry FILE --outfile FILE --train ARG,ARG...` builds another entry the same way
// (the start-up benchmark's reference program, bench/floor.ts).
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from "node:zlib"
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

const result = await build({
  absWorkingDir: root,
  entryPoints: [entry],
  define: { MACHINA_UI_SCRIPT: JSON.stringify(web.outputFiles[0].text) },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  outfile,
  write: false,
  // Less source for V8 to read, hash and (for functions outside the cache) compile.
  minify: !plain,
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
  // Optional transports of dbus-next that machina never uses (X11 session buses, native sockets).
  external: ["x11", "usocket", "abstract-socket"]
})
const bundle = result.outputFiles[0].text

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
if (bundle.includes("import(")) throw new Error("the bundle contains import(), which the loader's vm.Script cannot run")

// The bundle as Node itself would wrap a CommonJS module.
const source = "(function (exports, require, module, __filename, __dirname) { " + bundle + "\n})"

// Training and checking run in fresh Nodes without NODE_OPTIONS: V8 flags are part of what a code
// cache must match, and `node dist/machina.cjs` normally runs without any.
const { NODE_OPTIONS: _, ...cleanEnv } = process.env
const node = (script, args) => {
  const run = spawnSync(process.execPath, ["-e", script, ...args], { cwd: root, env: cleanEnv, stdio: ["ignore", "ignore", "inherit"] })
  return run.status ?? run.signal
}

/** Runs the bundle once (`machina ARGS`) from `source` and returns the code cache V8 holds at exit. */
const train = (args) => {
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
      const [sourceFile, cacheFile, file, ...args] = process.argv.slice(1)
      const script = new Script(readFileSync(sourceFile, "utf8"), { filename: file })
      const fn = script.runInThisContext()
      const module = new Module(file, null)
      module.filename = file
      module.paths = Module._nodeModulePaths(dirname(file))
      process.argv = [process.argv[0], file, ...args]
      process.on("exit", () => writeFileSync(cacheFile, script.createCachedData()))
      fn.call(module.exports, module.exports, Module.createRequire(file), module, file, dirname(file))
    `
    const status = node(trainer, [sourceFile, cacheFile, outfile, ...args])
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

const cache = train(trainArgs)

const sourceBytes = Buffer.from(source, "latin1")
// esbuild escapes non-ASCII by default; the loader decodes the source as latin1, so it must be ASCII.
if (sourceBytes.length !== source.length || /[^\x00-\x7f]/.test(source)) throw new Error("the bundle is not ASCII")

// Node reads the whole file as UTF-8 and scans it as JavaScript before the loader runs, at about
// 10 ms per MB, and a file with non-ASCII bytes costs more again. So the source, ASCII already,
// is stored raw (no decoding at start-up) and the binary cache brotli-compressed in base64
// (a third of its size; decompressing costs less than scanning it raw or in plain base64).
// Both sit in one block comment at the end of the file. A comment ends at the first "*/", so
// every "/" that follows a "*" in the source is stored as a NUL and its offset listed for the
// loader. Base64 has no "*", so the cache needs no such care.
const stored = Buffer.from(sourceBytes)
const restored = []
for (let at = stored.indexOf("*/"); at !== -1; at = stored.indexOf("*/", at + 1)) {
  restored.push(at + 1)
  stored[at + 1] = 0
}
const packedCache = Buffer.from(
  brotliCompressSync(cache, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: cache.length } }).toString("base64"),
  "latin1"
)
const payload = Buffer.concat([stored, Buffer.from(" "), packedCache])
const tail = "*/\n"

// The payload ends the file: the loader finds it from the end, by its length.
const loader = `#!/usr/bin/env node
"use strict";
// machina: a loader, then the bundle and its V8 code cache in the comment at the end (see
// scripts/build.mjs in the machina sources).
{
  const self = require("node:fs").readFileSync(__filename)
  const start = self.length - ${payload.length + tail.length}
  for (const at of ${JSON.stringify(restored)}) self[start + at] = 0x2f
  const script = new (require("node:vm").Script)(self.latin1Slice(start, start + ${stored.length}), {
    filename: __filename,
    cachedData: require("node:zlib").brotliDecompressSync(Buffer.from(self.latin1Slice(start + ${stored.length + 1}, self.length - ${tail.length}), "base64"))
  })
  script.runInThisContext().call(exports, exports, require, module, __filename, __dirname)
}
/*`
const file = Buffer.concat([Buffer.from(loader, "latin1"), payload, Buffer.from(tail, "latin1")])

// With a cache V8 never reads the source of the functions the cache holds, so a wrongly restored
// source would only fail later, in a function outside the cache. Check the round trip here.
{
  const copy = Buffer.from(file)
  const start = copy.length - payload.length - tail.length
  for (const at of restored) copy[start + at] = 0x2f
  if (!copy.subarray(start, start + stored.length).equals(sourceBytes)) throw new Error("the loader would not restore the bundle's source")
  if (!brotliDecompressSync(Buffer.from(copy.latin1Slice(start + stored.length + 1, copy.length - tail.length), "base64")).equals(cache)) {
    throw new Error("the loader would not restore the code cache")
  }
  if (file.indexOf("*/", loader.length) !== file.length - tail.length) throw new Error("the payload would end the comment early")
}
writeExecutable(file)

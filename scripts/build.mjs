// Bundles the CLI into one CommonJS file so start-up stays fast (see STYLE.md, "Measured start-up").
//
// `dist/machina.cjs` is one self-contained file (install copies just this file): a small loader,
// then a comment holding the minified bundle and a V8 code cache of it, both brotli-compressed
// and base64-encoded. The loader compiles the bundle with `vm.Script` and the cache, so V8 does
// not parse or compile it again; the cache is made at build time by running the bundle once
// (`args` on examples/seed) and taking `script.createCachedData()` at exit, so it also holds the
// functions that run on a typical command. On another Node (V8 version or flags), V8 rejects the
// cache and compiles the source as usual: slower, same behaviour. The bundle runs with the
// loader's own `module`, `require`, `__filename` and `__dirname`, so `require.main.filename`,
// `process.argv` and `__filename` are what they would be for a plain bundle.
//
// `node scripts/build.mjs --plain` writes the plain bundle instead (readable stack traces,
// profiling).
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { brotliCompressSync, constants as zlib } from "node:zlib"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const outfile = join(root, "dist/machina.cjs")
const plain = process.argv.includes("--plain")

const result = await build({
  absWorkingDir: root,
  entryPoints: ["src/bin.ts"],
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

const cache = train(["--config-dir", join(root, "examples/seed"), "args", "test-vm"])

const pack = (data) =>
  brotliCompressSync(data, {
    params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length }
  }).toString("base64")

const sourceBytes = Buffer.from(source)
// An ASCII source (esbuild escapes non-ASCII by default) decodes faster as latin1.
const sourceEncoding = sourceBytes.length === source.length ? "latin1" : "utf8"

// Base64 has neither "*" nor spaces: the payload is everything between the last "/*" and the
// last "*/" of the file, source and cache separated by one space.
const loader = `#!/usr/bin/env node
"use strict";
// machina: a loader, then the bundle and its V8 code cache in the comment at the end (see
// scripts/build.mjs in the machina sources).
{
  const self = require("node:fs").readFileSync(__filename)
  const start = self.lastIndexOf("/*") + 2
  const end = self.lastIndexOf("*/")
  const middle = self.indexOf(" ", start)
  const { brotliDecompressSync } = require("node:zlib")
  const unpack = (from, to) => brotliDecompressSync(Buffer.from(self.toString("latin1", from, to), "base64"))
  const script = new (require("node:vm").Script)(unpack(start, middle).toString("${sourceEncoding}"), {
    filename: __filename,
    cachedData: unpack(middle + 1, end)
  })
  script.runInThisContext().call(exports, exports, require, module, __filename, __dirname)
}
`
writeExecutable(`${loader}/*${pack(sourceBytes)} ${pack(cache)}*/\n`)

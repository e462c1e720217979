/**
 * `quote` and the machine unit round-trip through systemd's own parser.
 *
 * One sandboxed systemd 252 (test/support/Sandbox.ts) serves the whole file. Inside it,
 * `/usr/local/bin/argv-dump` (a bash script) appends one record per call to
 * `/run/argv-dump/<its unit>` (the unit is read from the cgroup2 line of `/proc/self/cgroup`): its program name,
 * `$RUNTIME_DIRECTORY`, the argument count and the arguments, each NUL-terminated, so any argument
 * survives byte for byte. The same script is installed as `/usr/local/bin/qemu-system-x86_64` and
 * `/usr/local/bin/machina`, which systemd's default PATH finds before `/usr/bin`.
 *
 * For a batch of generated token lists, one oneshot unit per sample runs
 * `ExecStart=/usr/local/bin/argv-dump quote(t1) quote(t2) ...` (sometimes one token per continuation
 * line) with `Environment=` set, so an unescaped `$X`/`${X}` or `%n` would visibly expand; one
 * `daemon-reload` and one `systemctl start` per batch, then every dump is compared with its sample.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as fs from "node:fs"
import { isValidName } from "../../src/domain/Names.js"
import {
  directive,
  type Directive,
  machineUnit,
  multiLineDirective,
  type QemuOption,
  quote,
  renderUnit,
  unitName
} from "../../src/domain/Unit.js"
import type { Sandbox } from "../support/Sandbox.js"
import { startSandbox } from "../support/Sandbox.js"

const DUMPER = "/usr/local/bin/argv-dump"
const DUMP_DIR = "/run/argv-dump"
const UNIT_DIR = "/etc/systemd/system"
const ENV_X = "expanded-x"

const DUMPER_SCRIPT = `#!/bin/bash
while IFS= read -r line; do case $line in 0::*) cg=$line;; esac; done < /proc/self/cgroup
unit=\${cg##*/}
printf '%s\\0' "\${0##*/}" "\${RUNTIME_DIRECTORY-}" "$#" "$@" >> "${DUMP_DIR}/$unit"
`

interface Call {
  readonly program: string
  readonly runtimeDirectory: string
  readonly args: ReadonlyArray<string>
}

/** Parses a dump file: records of program, runtime directory, count, arguments (NUL-terminated). */
const parseDump = (text: string): ReadonlyArray<Call> => {
  const parts = text.split("\0")
  const calls: Array<Call> = []
  let i = 0
  while (i + 2 < parts.length) {
    const count = Number(parts[i + 2])
    calls.push({ program: parts[i]!, runtimeDirectory: parts[i + 1]!, args: parts.slice(i + 3, i + 3 + count) })
    i += 3 + count
  }
  return calls
}

let sandbox: Sandbox
let counter = 0

const readCalls = async (unit: string): Promise<ReadonlyArray<Call> | undefined> => {
  try {
    return parseDump(await sandbox.readFile(`${DUMP_DIR}/${unit}`))
  } catch {
    return undefined
  }
}

/** Writes the units, reloads once, starts them all; removes unit files afterwards. */
const withUnits = async <A>(
  units: ReadonlyArray<{ readonly name: string; readonly text: string }>,
  start: (names: ReadonlyArray<string>) => Promise<A>
): Promise<A> => {
  for (const unit of units) fs.writeFileSync(sandbox.hostPathOf(`${UNIT_DIR}/${unit.name}`), unit.text)
  try {
    await sandbox.execOk(["systemctl", "daemon-reload"])
    return await start(units.map((u) => u.name))
  } finally {
    for (const unit of units) fs.rmSync(sandbox.hostPathOf(`${UNIT_DIR}/${unit.name}`), { force: true })
  }
}

const journalOf = async (unit: string) =>
  (await sandbox.journal()).split("\n").filter((line) => line.includes(unit)).slice(-5).join("\n")

interface Sample {
  readonly tokens: ReadonlyArray<string>
  /** One token per continuation line instead of one line. */
  readonly continued: boolean
}

const tokenUnit = (sample: Sample): string => {
  const exec: Directive = sample.continued
    ? multiLineDirective("ExecStart", DUMPER, ...sample.tokens.map(quote))
    : directive("ExecStart", [DUMPER, ...sample.tokens.map(quote)].join(" "))
  return renderUnit({
    sections: [
      { name: "Unit", directives: [directive("Description", "quoting sample")] },
      {
        name: "Service",
        directives: [directive("Type", "oneshot"), directive("Environment", `X=${ENV_X} "Y=two words"`), exec]
      }
    ]
  })
}

/** Runs one oneshot unit per sample; returns a description of every sample that did not round-trip. */
const roundTrip = async (samples: ReadonlyArray<Sample>): Promise<ReadonlyArray<string>> => {
  const units = samples.map((sample) => ({ name: `quoting-${++counter}.service`, text: tokenUnit(sample) }))
  return withUnits(units, async (names) => {
    // Oneshot units: `start` returns when every ExecStart has finished.
    const started = await sandbox.exec(["systemctl", "start", ...names], { timeoutMs: 60_000 })
    const failures: Array<string> = []
    for (const [i, sample] of samples.entries()) {
      const name = names[i]!
      const calls = await readCalls(name)
      const got = calls?.[0]?.args
      if (calls?.length !== 1 || JSON.stringify(got) !== JSON.stringify(sample.tokens)) {
        failures.push(
          `tokens ${JSON.stringify(sample.tokens)}\n  unit line: ${JSON.stringify(units[i]!.text.split("ExecStart=")[1])}\n` +
            `  systemd gave: ${JSON.stringify(calls)}\n  start: ${started.code} ${started.stderr.trim()}\n` +
            `  journal: ${await journalOf(name)}`
        )
      }
    }
    return failures
  })
}

// Tokens: printable ASCII, the characters systemd treats specially, whitespace, control characters,
// non-ASCII (up to astral), and whole words systemd would take as specifiers, variables or separators.
const special = fc.constantFrom(
  " ", "  ", "\t", "\"", "'", "\\", "%", "$", ";", "{", "}", "#", "`", "~", "*", "?", "!", "&", "|", "<", ">",
  "\n", "\r", "\u0001", "\u001b", "\u007f", "\u000b", "\u000c", "\u00a0", "é", "日", "😀", "\u2028", "\ufeff",
  "\ufdd0", "\ufffe", "\uffff", "\u{10fffe}", "\u{1ffff}"
)
const noNul = fc.fullUnicode().filter((c) => c !== "\0")
const words = fc.constantFrom(
  "", " ", "$", "$$", "$X", "${X}", "$Y", "$$X", "%", "%%", "%n", "%i", "%%n", "%q", ";", "\\;", "\\", "\"",
  "'", "-", "--", "@", "+", "!", "!!", ":", "50%", "a=b,c", "\\x25n", "\\n", "'quoted'", "\"dq\""
)
const token = fc.oneof(
  { weight: 2, arbitrary: fc.stringOf(fc.oneof(fc.char(), special), { maxLength: 16 }) },
  { weight: 1, arbitrary: fc.stringOf(noNul, { maxLength: 8 }) },
  { weight: 1, arbitrary: words },
  { weight: 1, arbitrary: fc.array(words, { minLength: 2, maxLength: 4 }).map((w) => w.join("")) }
)
const sample: fc.Arbitrary<Sample> = fc.record({
  tokens: fc.array(token, { maxLength: 6 }),
  continued: fc.boolean()
})

describe("quote round-trips through systemd 252", () => {
  beforeAll(async () => {
    // A machine unit wants network-online.target: keep whatever the host image would pull in for it
    // from starting inside the sandbox.
    sandbox = await startSandbox({
      mask: ["networking.service", "systemd-networkd-wait-online.service", "NetworkManager-wait-online.service"]
    })
    await sandbox.execOk(["mkdir", "-p", DUMP_DIR])
    await sandbox.writeFile(DUMPER, DUMPER_SCRIPT, 0o755)
    await sandbox.execOk(["ln", "-s", DUMPER, "/usr/local/bin/qemu-system-x86_64"])
    await sandbox.execOk(["ln", "-s", DUMPER, "/usr/local/bin/machina"])
  })

  afterAll(async () => {
    await sandbox?.stop()
  })

  it("hand-picked tokens", async () => {
    const edge: ReadonlyArray<ReadonlyArray<string>> = [
      ["test-vm", "my vm", "a\"b'c\\d", "50%", "driver=file,filename=~/img.raw"],
      ["$", "$$", "$X", "${X}", "$$X", "a$Xb", "${X}${X}", "$Y", "\\$"],
      ["%", "%%", "%n", "%i", "%q", "%%n", "100%", "%\\"],
      [";", "\\;", ";;", "a;", "; b"],
      ["", " ", "\t", "  x  ", "\u00a0"],
      ["\\", "\\\\", "\\x41", "\\n", "\"", "'", "\"'\"", "'\"'"],
      ["é", "日本語", "😀", "\u2028", "\u007f", "\u0001\u001b[0m"],
      ["line\nbreak", "carriage\rreturn", "\r\n", "\n"],
      ["-", "@", "+", "!", ":", "--", "-enable-kvm"],
      ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\u{1fffe}", "\u{10ffff}", "a\ufffeb c"],
      []
    ]
    const failures = await roundTrip(
      edge.flatMap((tokens) => [{ tokens, continued: false }, { tokens, continued: true }])
    )
    expect(failures).toEqual([])
  })

  it("generated token lists (batches of 80 units per daemon-reload)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(sample, { minLength: 80, maxLength: 80 }), async (batch) => {
        const failures = await roundTrip(batch)
        if (failures.length > 0) throw new Error(`${failures.length} samples did not round-trip:\n${failures.join("\n")}`)
      }),
      { numRuns: 5, endOnFailure: true }
    )
  }, 120_000)

  it("a NUL cannot be an argument: it arrives as the literal text \\x00, nothing is split", async () => {
    const name = `quoting-${++counter}.service`
    const text = tokenUnit({ tokens: ["before", "a\0b", "after"], continued: false })
    expect(text).toContain(" before \"a\\x00b\" after\n")
    await withUnits([{ name, text }], async () => {
      await sandbox.execOk(["systemctl", "start", name])
      expect((await readCalls(name))?.map((c) => c.args)).toEqual([["before", "a\\x00b", "after"]])
      expect(await journalOf(name)).toContain("Ignoring unknown escape sequences")
    })
  })

  // Machine units exactly as generated, with stand-ins for QEMU and machina: every command line of
  // the unit (ExecStartPre, ExecStart, ExecStop, ExecStopPost) and the RuntimeDirectory.
  const machineName = fc
    .stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,40}$/)
    .filter((n) => isValidName("machine", n))
  const option: fc.Arbitrary<QemuOption> = fc.record({
    type: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), token),
    params: fc.oneof(fc.constant(""), fc.stringMatching(/^[a-z0-9=,.\/-]{1,30}$/), token)
  })
  const machine = fc.record({ name: machineName, options: fc.array(option, { maxLength: 8 }) })

  it("generated machine units run their commands with the intended arguments", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(machine, { minLength: 25, maxLength: 25 }), async (machines) => {
        const named = machines.map((m) => ({ ...m, name: `m${++counter}-${m.name}` }))
        const units = named.map((m) => ({ name: unitName(m.name), text: renderUnit(machineUnit(m)) }))
        const failures = await withUnits(units, async (names) => {
          const started = await sandbox.exec(["systemctl", "start", ...names], { timeoutMs: 60_000 })
          expect(started.stderr).toBe("")
          // The stand-in QEMU exits at once; systemd then runs ExecStop and ExecStopPost.
          const deadline = Date.now() + 30_000
          const found: Array<ReadonlyArray<Call> | undefined> = []
          for (;;) {
            found.length = 0
            for (const name of names) found.push(await readCalls(name))
            if (found.every((calls) => calls?.length === 4) || Date.now() > deadline) break
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
          const out: Array<string> = []
          for (const [i, m] of named.entries()) {
            const runtimeDirectory = `/run/machina/${m.name}`
            const expected: ReadonlyArray<Call> = [
              { program: "machina", runtimeDirectory, args: ["prepare", m.name] },
              {
                program: "qemu-system-x86_64",
                runtimeDirectory,
                args: m.options.flatMap((o) => (o.params === "" ? [`-${o.type}`] : [`-${o.type}`, o.params]))
              },
              { program: "machina", runtimeDirectory, args: ["shutdown", "--system", "--timeout", "1m25s", m.name] },
              { program: "machina", runtimeDirectory, args: ["teardown", m.name] }
            ]
            if (JSON.stringify(found[i]) !== JSON.stringify(expected)) {
              out.push(
                `machine ${JSON.stringify(m)}\n  expected ${JSON.stringify(expected)}\n  got ${JSON.stringify(found[i])}\n` +
                  `  journal: ${await journalOf(names[i]!)}`
              )
            }
          }
          return out
        })
        if (failures.length > 0) throw new Error(`${failures.length} machine units misbehaved:\n${failures.join("\n")}`)
      }),
      { numRuns: 2, endOnFailure: true }
    )
  }, 120_000)

  it("systemd-analyze verify accepts the seed's machine unit", async () => {
    const expected = fs.readFileSync("test/golden/cases/seed-example/expected/generate-preview.unit", "utf8")
    const lines = expected.split("\n")
    const first = lines.indexOf("ExecStart=qemu-system-x86_64 \\")
    const options: Array<QemuOption> = []
    for (const line of lines.slice(first + 1)) {
      const text = line.endsWith(" \\") ? line.slice(0, -2) : line
      const space = text.indexOf(" ")
      options.push(space < 0 ? { type: text.slice(1), params: "" } : { type: text.slice(1, space), params: text.slice(space + 1) })
      if (!line.endsWith(" \\")) break
    }
    const text = renderUnit(machineUnit({ name: "test-vm", options }))
    expect(text).toBe(expected)
    const path = `${UNIT_DIR}/${unitName("test-vm")}`
    await sandbox.writeFile(path, text)
    // verify loads the unit and its dependencies offline and checks that every Exec* executable
    // resolves through PATH: the machina stand-in installed above serves (without it: "Command
    // machina is not executable"); qemu-system-x86_64 resolves to the stand-in too.
    const result = await sandbox.exec(["systemd-analyze", "verify", path])
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" })
    // And it does complain about a broken one, so the check above means something.
    await sandbox.writeFile(path, text.replace("Restart=on-failure", "Restart=sometimes"))
    const broken = await sandbox.exec(["systemd-analyze", "verify", path])
    expect(broken.stderr).toContain("Failed to parse service restart specifier")
    fs.rmSync(sandbox.hostPathOf(path), { force: true })
  })

  it("systemd-analyze verify accepts every unit of the golden cases", async () => {
    const units = new Map<string, string>()
    for (const c of fs.readdirSync("test/golden/cases")) {
      const dir = `test/golden/cases/${c}/expected`
      if (!fs.existsSync(dir)) continue
      for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".unit"))) {
        // several machines print as "----<name>----" blocks separated by a blank line
        const text = fs.readFileSync(`${dir}/${file}`, "utf8")
        const blocks = text.startsWith("----") ? text.split(/\n?^----(.+)----\n/m).slice(1) : ["", text]
        for (let i = 0; i < blocks.length; i += 2) {
          const body = blocks[i + 1]!.replace(/\n\n$/, "\n")
          // A TPM machine's preview heads its two units with their names (they refer to each
          // other): those keep their names; other units are renamed per case.
          if (blocks[i]!.endsWith(".service")) {
            units.set(blocks[i]!, body)
            continue
          }
          const machine = /^Description=machina KVM (.+)$/m.exec(body)![1]!
          units.set(`${c}-${machine}`, body)
        }
      }
    }
    expect(units.size).toBeGreaterThanOrEqual(5)
    const paths: Array<string> = []
    for (const [key, body] of units) {
      const path = key.endsWith(".service") ? `${UNIT_DIR}/${key}` : `${UNIT_DIR}/${unitName(key.replace(/[^A-Za-z0-9_.-]/g, "_"))}`
      await sandbox.writeFile(path, body)
      paths.push(path)
    }
    const result = await sandbox.exec(["systemd-analyze", "verify", ...paths], { timeoutMs: 60_000 })
    for (const path of paths) fs.rmSync(sandbox.hostPathOf(path), { force: true })
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" })
  }, 90_000)
})

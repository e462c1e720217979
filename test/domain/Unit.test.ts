import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as fc from "effect/FastCheck"
import * as fs from "node:fs"
import { isValidName } from "../../src/domain/Names.js"
import {
  checkUnitFileName,
  directive,
  execStartLines,
  machineUnit,
  multiLineDirective,
  type QemuOption,
  quote,
  renderMachineUnit,
  renderUnit,
  unitName
} from "../../src/domain/Unit.js"

const FIXTURES = "test/golden/cases"

/** The ExecStart options of an expected unit file: one `-type params` per continuation line. */
const optionsOfExpectedUnit = (text: string): ReadonlyArray<QemuOption> => {
  const lines = text.split("\n")
  const start = lines.indexOf("ExecStart=qemu-system-x86_64 \\")
  if (start < 0) throw new Error("no ExecStart line")
  const options: Array<QemuOption> = []
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!
    const continued = line.endsWith(" \\")
    const option = continued ? line.slice(0, -2) : line
    if (!option.startsWith("-") || option.includes("\"")) throw new Error(`unexpected option line: ${line}`)
    const space = option.indexOf(" ")
    options.push(
      space < 0
        ? { type: option.slice(1), params: "" }
        : { type: option.slice(1, space), params: option.slice(space + 1) }
    )
    if (!continued) return options
  }
  throw new Error("unterminated ExecStart")
}

describe("machineUnit: expected fixtures byte for byte", () => {
  for (const fixture of ["seed-example", "seed-page-2023.04"]) {
    it(fixture, () => {
      const expected = fs.readFileSync(`${FIXTURES}/${fixture}/expected/generate-preview.unit`, "utf8")
      const options = optionsOfExpectedUnit(expected)
      assert.isAbove(options.length, 50)
      assert.strictEqual(renderMachineUnit({ name: "test-vm", options }), expected)
    })
  }

  it("the fixture's options survive parsing (flags without parameters included)", () => {
    const expected = fs.readFileSync(`${FIXTURES}/seed-example/expected/generate-preview.unit`, "utf8")
    const options = optionsOfExpectedUnit(expected)
    assert.deepStrictEqual(options.slice(0, 5), [
      { type: "uuid", params: "8b18191a-234f-45ce-b43c-b46e28cd2f70" },
      { type: "name", params: "test-vm" },
      { type: "enable-kvm", params: "" },
      { type: "nodefaults", params: "" },
      { type: "nographic", params: "" }
    ])
  })
})

describe("quote (systemd.md §5 with the % and $ fixes)", () => {
  const rows: ReadonlyArray<readonly [string, string]> = [
    // The spec's table, unchanged where no % or $ is involved.
    ["test-vm", "test-vm"],
    ["my vm", "\"my vm\""],
    ["driver=file,node-name=x,filename=~/img.raw", "\"driver=file,node-name=x,filename=~/img.raw\""],
    ["a\"b'c\\d", "\"a\\\"b\\'c\\\\d\""],
    // Fix: % is a specifier in systemd, escaped in both forms.
    ["50%", "50%%"],
    ["%n", "%%n"],
    ["%%", "%%%%"],
    ["50% off", "\"50%% off\""],
    // Fix: $ is environment expansion in systemd; it forces quoting and is doubled.
    ["$", "\"$$\""],
    ["$HOME", "\"$$HOME\""],
    ["${HOME}", "\"$${HOME}\""],
    ["a$b", "\"a$$b\""],
    ["100% $X", "\"100%% $$X\""],
    // The whole safe set stays unquoted.
    ["AZaz09_@%+=:,./-", "AZaz09_@%%+=:,./-"],
    // Everything else is quoted.
    ["", "\"\""],
    [" ", "\" \""],
    [";", "\";\""],
    ["\\;", "\"\\\\;\""],
    ["~", "\"~\""],
    ["é", "\"é\""],
    ["日本", "\"日本\""],
    ["a\tb", "\"a\tb\""],
    ["#x", "\"#x\""],
    // Line breaks and NUL become C escapes (they would end the unit-file line).
    ["a\nb", "\"a\\nb\""],
    ["a\rb", "\"a\\rb\""],
    ["a\0b", "\"a\\x00b\""],
    // Unicode noncharacters become byte escapes (systemd refuses them raw as "not UTF-8 clean").
    ["\ufdd0", "\"\\xef\\xb7\\x90\""],
    ["x\u{10ffff}", "\"x\\xf4\\x8f\\xbf\\xbf\""]
  ]
  for (const [input, output] of rows) {
    it(`${JSON.stringify(input)} -> ${output}`, () => assert.strictEqual(quote(input), output))
  }

  it.prop("never emits a line break or NUL", [fc.fullUnicodeString({ maxLength: 30 })], ([s]) => {
    assert.isFalse(/[\n\r\0]/.test(quote(s)))
  })

  it.prop("safe tokens without % are unchanged", [fc.stringMatching(/^[A-Za-z0-9_@+=:,./-]+$/)], ([s]) => {
    assert.strictEqual(quote(s), s)
  })
})

describe("machineUnit: directives", () => {
  const options: ReadonlyArray<QemuOption> = [
    { type: "name", params: "vm" },
    { type: "enable-kvm", params: "" },
    { type: "drive", params: "file=/a b/c.img" }
  ]

  it("Go durations: default stop timeout 1m30s, shutdown 5 s less", () => {
    const text = renderMachineUnit({ name: "vm", options })
    assert.include(text, "StartLimitIntervalSec=1m0s\n")
    assert.include(text, "RestartSec=10s\n")
    assert.include(text, "TimeoutStopSec=1m30s\n")
    assert.include(text, "ExecStop=machina shutdown --system --timeout 1m25s vm\n")
  })

  const timeouts: ReadonlyArray<readonly [Duration.DurationInput, string, string]> = [
    [Duration.minutes(2), "2m0s", "1m55s"],
    ["10 seconds", "10s", "5s"],
    [Duration.millis(7500), "7.5s", "2.5s"],
    [Duration.hours(2), "2h0m0s", "1h59m55s"],
    [Duration.seconds(3), "3s", "0s"]
  ]
  for (const [input, stop, shutdown] of timeouts) {
    it(`stopTimeout ${String(input)}: TimeoutStopSec=${stop}, --timeout ${shutdown}`, () => {
      const text = renderMachineUnit({ name: "vm", options, stopTimeout: input })
      assert.include(text, `\nTimeoutStopSec=${stop}\n`)
      assert.include(text, `\nExecStop=machina shutdown --system --timeout ${shutdown} vm\n`)
    })
  }

  it("exact directive order, ExecStart before ExecStartPre", () => {
    const unit = machineUnit({ name: "vm", options })
    assert.deepStrictEqual(
      unit.sections.map((s) => [s.name, s.directives.map((d) => d.key)]),
      [
        ["Unit", ["Description", "Wants", "After", "StartLimitIntervalSec", "StartLimitBurst"]],
        [
          "Service",
          [
            "Type",
            "ExecStart",
            "ExecStartPre",
            "ExecStop",
            "ExecStopPost",
            "RestartSec",
            "TimeoutStopSec",
            "Restart",
            "RuntimeDirectory"
          ]
        ],
        ["Install", ["WantedBy"]]
      ]
    )
  })

  it("ExecStart: one option per line, tokens quoted separately", () => {
    assert.deepStrictEqual(execStartLines(options), [
      "qemu-system-x86_64",
      "-name vm",
      "-enable-kvm",
      "-drive \"file=/a b/c.img\""
    ])
    assert.deepStrictEqual(execStartLines([{ type: "x y", params: "50%" }]), ["qemu-system-x86_64", "\"-x y\" 50%%"])
    assert.deepStrictEqual(execStartLines([]), ["qemu-system-x86_64"])
    assert.include(
      renderMachineUnit({ name: "vm", options }),
      "ExecStart=qemu-system-x86_64 \\\n-name vm \\\n-enable-kvm \\\n-drive \"file=/a b/c.img\"\nExecStartPre="
    )
  })

  it("the name: raw in Description and RuntimeDirectory, quoted in the machina commands", () => {
    // Not a valid machine name: shows which directives quote it.
    const text = renderMachineUnit({ name: "my vm", options: [] })
    assert.include(text, "Description=machina KVM my vm\n")
    assert.include(text, "ExecStartPre=machina prepare \"my vm\"\n")
    assert.include(text, "ExecStop=machina shutdown --system --timeout 1m25s \"my vm\"\n")
    assert.include(text, "ExecStopPost=machina teardown \"my vm\"\n")
    assert.include(text, "RuntimeDirectory=machina/my vm\n")
  })
})

describe("renderUnit: layout", () => {
  it("headers, one blank line between sections, continuation lines, no trailing blank line", () => {
    const text = renderUnit({
      sections: [
        { name: "A", directives: [directive("K", "V"), directive("Empty", "")] },
        { name: "B", directives: [multiLineDirective("X", "one", "two", "three")] },
        { name: "C", directives: [] },
        { name: "D", directives: [directive("Last", "1")] }
      ]
    })
    assert.strictEqual(text, "[A]\nK=V\nEmpty=\n\n[B]\nX=one \\\ntwo \\\nthree\n\n[C]\n\n[D]\nLast=1\n")
  })

  it("a unit without sections is empty", () => assert.strictEqual(renderUnit({ sections: [] }), ""))

  it("the machine unit: every line ends with a newline, ends with WantedBy=multi-user.target", () => {
    const text = renderMachineUnit({ name: "vm", options: [{ type: "enable-kvm", params: "" }] })
    assert.isTrue(text.endsWith("\n[Install]\nWantedBy=multi-user.target\n"))
    assert.isFalse(text.includes("\n\n\n"))
    assert.strictEqual(text.split("\n\n").length, 3)
  })
})

describe("unit names", () => {
  it("machina-<name>.service", () => {
    assert.strictEqual(unitName("test-vm"), "machina-test-vm.service")
  })

  // Names are validated elsewhere (Names.ts); every valid machine name gives a valid unit name
  // without escaping, and the directives that use the raw name need no quoting either.
  const machineName = fc
    .stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/)
    .filter((n) => isValidName("machine", n))
  it.prop("a valid machine name is a valid unit name, used unescaped", [machineName], ([name]) => {
    const unit = unitName(name)
    assert.strictEqual(checkUnitFileName(unit), undefined)
    assert.match(unit, /^[A-Za-z0-9:_.\\@-]{1,255}$/)
    assert.strictEqual(quote(name), name)
    const text = renderMachineUnit({ name, options: [] })
    assert.include(text, `\nRuntimeDirectory=machina/${name}\n`)
    assert.include(text, `\nExecStartPre=machina prepare ${name}\n`)
  })

  const refused: ReadonlyArray<string> = [
    "",
    ".service",
    "machina-vm",
    "machina-vm.service.bak",
    "machina-vm.timer",
    "a/b.service",
    "../x.service",
    "/etc/x.service",
    "my vm.service",
    "é.service",
    "a\0.service",
    `${"a".repeat(248)}.service`
  ]
  for (const name of refused) {
    it(`refuses ${JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}...` : name)}`, () => {
      assert.isString(checkUnitFileName(name))
    })
  }
  it("accepts the longest and the unusual valid names", () => {
    assert.isUndefined(checkUnitFileName(`${"a".repeat(247)}.service`))
    assert.isUndefined(checkUnitFileName("a:b\\x2d@c.service"))
  })
})

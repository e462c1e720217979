import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Either from "effect/Either"
import {
  checkPattern,
  effectivePort,
  expand,
  expandPattern,
  expandPort,
  firstWinsVars,
  goAtoi,
  lookupIn,
  plainReferences,
  expressionReferences,
  storageScope,
  volumeFileName
} from "../../src/domain/Pattern.js"
import type { AtoiFailure } from "../../src/domain/Pattern.js"
import { goQuote, posixClean, posixJoin } from "../../src/domain/GoText.js"

const vars = new Map<string, string>([
  ["machine", "M"],
  ["machine-name", "test-vm"],
  ["employee-id", "9000"],
  ["a", "A"],
  ["abc", "ABC"],
  ["_x1", "X"],
  ["*", "STAR"],
  ["#", "HASH"],
  ["$", "DOLLAR"],
  ["@", "AT"],
  ["!", "BANG"],
  ["?", "QUESTION"],
  ["-", "DASH"],
  ["0", "ZERO"],
  ["1", "ONE"],
  ["9", "NINE"],
  ["1x", "ONE-X"],
  ["{", "BRACE"],
  ["a b", "SPACED"]
])
const lookup = lookupIn(vars)

const leftMessage = <A, E extends { readonly message: string }>(either: Either.Either<A, E>): string =>
  Either.match(either, { onLeft: (e) => e.message, onRight: (a) => `unexpected success: ${String(a)}` })

describe("expand (Go os.Expand, config.md §5.1)", () => {
  const rows: ReadonlyArray<readonly [string, string, string]> = [
    ["no references", "plain/text", "plain/text"],
    ["empty pattern", "", ""],
    ["${*} special in braces", "${*}", "STAR"],
    ["${#} special in braces", "${#}", "HASH"],
    ["${$} special in braces", "${$}", "DOLLAR"],
    ["${@} special in braces", "${@}", "AT"],
    ["${!} special in braces", "${!}", "BANG"],
    ["${?} special in braces", "${?}", "QUESTION"],
    ["${-} special in braces", "${-}", "DASH"],
    ["${0} digit in braces", "${0}", "ZERO"],
    ["${9} digit in braces", "${9}", "NINE"],
    ["${name} with a hyphen", "x${employee-id}y", "x9000y"],
    ["${name} with any characters but }", "${a b}", "SPACED"],
    ["${1x} is a braced name, not a special", "${1x}", "ONE-X"],
    ["${{} names the variable {", "${{}", "BRACE"],
    ["first } closes", "${a}}", "A}"],
    ["${} is deleted", "a${}b", "ab"],
    ["${ without } deletes only ${", "a${bc", "abc"],
    ["${ at the end", "a${", "a"],
    ["$* consumes 2 chars", "$*x", "STARx"],
    ["$# consumes 2 chars", "$#", "HASH"],
    ["$$ is the special variable $", "$$", "DOLLAR"],
    ["$@", "$@", "AT"],
    ["$!", "$!", "BANG"],
    ["$?", "$?", "QUESTION"],
    ["$-", "$-", "DASH"],
    ["$1 digit then literal", "$1abc", "ONEabc"],
    ["$0", "$0", "ZERO"],
    ["alphanumeric run", "$abc", "ABC"],
    ["run stops at -", "$machine-name", "M-name"],
    ["underscore and digits in a run", "$_x1.", "X."],
    ["$ before space kept", "$ x", "$ x"],
    ["$ before . kept", "$.x", "$.x"],
    ["$ before / kept", "a/$/b", "a/$/b"],
    ["$ before non-ASCII kept", "$é", "$é"],
    ["trailing lone $ kept", "cost$", "cost$"],
    ["lone $", "$", "$"],
    ["unknown braced variable is empty", "a${nope}b", "ab"],
    ["unknown plain variable is empty", "a$nope/b", "a/b"],
    ["several references", "${machine-name}/os/${machine-name}-${a}.raw", "test-vm/os/test-vm-A.raw"],
    ["no escape for a literal ${", "$${a}", "DOLLAR{a}"]
  ]
  for (const [name, pattern, expected] of rows) {
    it(`${name}: ${JSON.stringify(pattern)}`, () => {
      assert.strictEqual(expand(pattern, lookup), expected)
    })
  }

  it("passes names to the lookup verbatim", () => {
    const seen: Array<string> = []
    expand("${a}$b${c-d}$*", (name) => {
      seen.push(name)
      return undefined
    })
    assert.deepStrictEqual(seen, ["a", "b", "c-d", "*"])
  })

  it("expands with a record too (own properties only)", () => {
    assert.strictEqual(expand("${x}${toString}", lookupIn({ x: "1" })), "1")
  })
})

describe("firstWinsVars", () => {
  it("keeps the first definition of each name", () => {
    const merged = firstWinsVars({ "machine-name": "vm", volume: "os" }, new Map([["volume", "evil"], ["x", "1"]]), {
      x: "2",
      y: "3"
    })
    assert.deepStrictEqual([...merged.entries()], [["machine-name", "vm"], ["volume", "os"], ["x", "1"], ["y", "3"]])
  })

  it("of nothing is empty", () => {
    assert.strictEqual(firstWinsVars().size, 0)
  })
})

describe("goQuote (Go strconv.Quote)", () => {
  it("quotes plain text", () => assert.strictEqual(goQuote("abc"), "\"abc\""))
  it("escapes quote and backslash", () => assert.strictEqual(goQuote("a\"b\\c"), "\"a\\\"b\\\\c\""))
  it("uses short escapes", () => assert.strictEqual(goQuote("\x07\b\f\n\r\t\v"), "\"\\a\\b\\f\\n\\r\\t\\v\""))
  it("uses \\x for other control bytes", () => assert.strictEqual(goQuote("\x00\x1f\x7f"), "\"\\x00\\x1f\\x7f\""))
  it("keeps printable Unicode", () => assert.strictEqual(goQuote("héllo µ 日本"), "\"héllo µ 日本\""))
  it("uses \\u for non-printable runes", () => assert.strictEqual(goQuote("\u00a0\u00ad\u2028"), "\"\\u00a0\\u00ad\\u2028\""))
  it("uses \\U for non-printable astral runes", () => assert.strictEqual(goQuote("\u{e0001}"), "\"\\U000e0001\""))
})

describe("goAtoi (Go strconv.Atoi)", () => {
  const ok: ReadonlyArray<readonly [string, bigint]> = [
    ["0", 0n],
    ["80", 80n],
    ["+80", 80n],
    ["-80", -80n],
    ["0080", 80n],
    ["-0", 0n],
    ["9223372036854775807", 9223372036854775807n],
    ["-9223372036854775808", -9223372036854775808n]
  ]
  for (const [text, value] of ok) {
    it(`parses ${JSON.stringify(text)}`, () => assert.deepStrictEqual(goAtoi(text), Either.right(value)))
  }
  const bad: ReadonlyArray<readonly [string, AtoiFailure]> = [
    ["", "invalid syntax"],
    ["+", "invalid syntax"],
    ["-", "invalid syntax"],
    [" 80", "invalid syntax"],
    ["80 ", "invalid syntax"],
    ["8_0", "invalid syntax"],
    ["0x50", "invalid syntax"],
    ["١٢", "invalid syntax"],
    ["++1", "invalid syntax"],
    ["9223372036854775808", "value out of range"],
    ["-9223372036854775809", "value out of range"],
    ["18446744073709551616", "value out of range"],
    ["99999999999999999999x", "value out of range"],
    ["1x99999999999999999999", "invalid syntax"],
    ["18446744073709551615x", "invalid syntax"]
  ]
  for (const [text, failure] of bad) {
    it(`rejects ${JSON.stringify(text)} with ${failure}`, () => assert.deepStrictEqual(goAtoi(text), Either.left(failure)))
  }
})

describe("expandPort (config.md §5.3)", () => {
  const employee = { "employee-id": "9000" }

  it("seed example 5${employee-id} gives 59000", () => {
    assert.deepStrictEqual(expandPort("5${employee-id}", employee), Either.right(59000))
  })
  it("seed example 4${employee-id} gives 49000", () => {
    assert.deepStrictEqual(expandPort("4${employee-id}", employee), Either.right(49000))
  })
  it("accepts a sign and leading zeros", () => {
    assert.deepStrictEqual(expandPort("+0${employee-id}", employee), Either.right(9000))
  })
  it("accepts the bounds 1 and 65535", () => {
    assert.deepStrictEqual(expandPort("1", {}), Either.right(1))
    assert.deepStrictEqual(expandPort("65535", {}), Either.right(65535))
  })

  const errors: ReadonlyArray<readonly [string, Record<string, string>, string]> = [
    ["", {}, "port pattern \"\": strconv.Atoi: parsing \"\": invalid syntax"],
    [
      "${nope}",
      { a: "1" },
      "port pattern \"${nope}\": unknown variable \"nope\" (port patterns see only vars; defined: a)"
    ],
    [
      "${machine-name}",
      {},
      "port pattern \"${machine-name}\": strconv.Atoi: parsing \"\": invalid syntax"
    ],
    ["59 000", {}, "port pattern \"59 000\": strconv.Atoi: parsing \"59 000\": invalid syntax"],
    ["${v}", { v: "a\"b\n" }, "port pattern \"${v}\": strconv.Atoi: parsing \"a\\\"b\\n\": invalid syntax"],
    [
      "${v}",
      { v: "99999999999999999999" },
      "port pattern \"${v}\": strconv.Atoi: parsing \"99999999999999999999\": value out of range"
    ],
    ["0", {}, "port pattern \"0\": invalid resulting port number 0"],
    ["-1", {}, "port pattern \"-1\": invalid resulting port number -1"],
    ["65536", {}, "port pattern \"65536\": invalid resulting port number 65536"],
    [
      "9${employee-id}9999999",
      { "employee-id": "9000" },
      "port pattern \"9${employee-id}9999999\": invalid resulting port number 990009999999"
    ],
    [
      "-9223372036854775808",
      {},
      "port pattern \"-9223372036854775808\": invalid resulting port number -9223372036854775808"
    ]
  ]
  for (const [pattern, vars, message] of errors) {
    it(`error: ${message}`, () => assert.strictEqual(leftMessage(expandPort(pattern, vars)), message))
  }

  it("the error is tagged and carries its data", () => {
    const error = Either.getLeft(expandPort("x${a}", { a: "1" }))
    assert.strictEqual(error._tag === "Some" ? error.value._tag : "none", "PortPatternError")
    if (error._tag === "Some" && error.value._tag === "PortPatternError") {
      assert.strictEqual(error.value._tag, "PortPatternError")
      assert.strictEqual(error.value.pattern, "x${a}")
      assert.strictEqual(error.value.expanded, "x1")
      assert.strictEqual(error.value.problem, "invalid syntax")
    }
  })

  it("effectivePort: a non-zero port wins, unchecked", () => {
    assert.deepStrictEqual(effectivePort(5900, "garbage", {}), Either.right(5900))
    assert.deepStrictEqual(effectivePort(70000, "", {}), Either.right(70000))
  })
  it("effectivePort: port 0 uses the pattern", () => {
    assert.deepStrictEqual(effectivePort(0, "5${employee-id}", employee), Either.right(59000))
  })
  it("effectivePort: neither port nor pattern fails", () => {
    assert.strictEqual(
      leftMessage(effectivePort(0, "", {})),
      "port pattern \"\": strconv.Atoi: parsing \"\": invalid syntax"
    )
  })
})

describe("posixJoin / posixClean (Go path.Join, path.Clean)", () => {
  const joins: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [[], ""],
    [[""], ""],
    [["", ""], ""],
    [["a"], "a"],
    [["", "a"], "a"],
    [["a", ""], "a"],
    [["a", "b"], "a/b"],
    [["/zfs-tank/", "/x"], "/zfs-tank/x"],
    [["/zfs-tank/", "test-vm/os/test-vm-os.raw"], "/zfs-tank/test-vm/os/test-vm-os.raw"],
    [["a", "b/"], "a/b"],
    [["a//b", "c"], "a/b/c"],
    [["/a/./b//c/", ""], "/a/b/c"],
    [["a", "."], "a"],
    [["", "."], "."],
    [["a", ".."], "."],
    [["a/b", "../c"], "a/c"],
    [["a/b", "../../.."], ".."],
    [["..", "x"], "../x"],
    [["../..", "x"], "../../x"],
    [["/", ".."], "/"],
    [["/..", "x"], "/x"],
    [["/a", "../../b"], "/b"],
    [["/"], "/"],
    [["//"], "/"],
    [["a", "/"], "a"],
    [["./a", "./b"], "a/b"]
  ]
  for (const [parts, expected] of joins) {
    it(`join(${parts.map((p) => JSON.stringify(p)).join(", ")}) = ${JSON.stringify(expected)}`, () => {
      assert.strictEqual(posixJoin(...parts), expected)
    })
  }
  it("clean of empty is .", () => assert.strictEqual(posixClean(""), "."))
  it("clean keeps leading .. of a relative path", () => assert.strictEqual(posixClean("../a/.."), ".."))

  /** Go's Clean rules, segment by segment: the oracle for the fast path that returns clean paths unchanged. */
  const cleanOracle = (path: string): string => {
    const rooted = path.startsWith("/")
    const out: Array<string> = []
    for (const segment of path.split("/")) {
      if (segment === "" || segment === ".") continue
      if (segment !== "..") out.push(segment)
      else if (out.length > 0 && out[out.length - 1] !== "..") out.pop()
      else if (!rooted) out.push("..")
    }
    const joined = out.join("/")
    return rooted ? `/${joined}` : joined === "" ? "." : joined
  }

  it.prop("clean agrees with Go's rules and is idempotent, clean input or not", [
    fc.stringMatching(/^[a./]{0,12}$/)
  ], ([path]) => {
    const cleaned = posixClean(path)
    assert.strictEqual(cleaned, cleanOracle(path))
    assert.strictEqual(posixClean(cleaned), cleaned)
  }, { fastCheck: { numRuns: 2000 } })
})

describe("volumeFileName (config.md §3.2 volume path rule)", () => {
  const fileOf = (...args: Parameters<typeof volumeFileName>): string => Either.getOrThrow(volumeFileName(...args))
  const storageLookup = lookupIn(firstWinsVars({ "machine-name": "test-vm", volume: "os" }, { volume: "ignored" }))

  it("seed example: pattern expanded and joined", () => {
    assert.strictEqual(
      fileOf(
        { path: "/zfs-tank/", pattern: "${machine-name}/os/${machine-name}-${volume}.raw", type: "raw" },
        storageLookup,
        "os"
      ),
      "/zfs-tank/test-vm/os/test-vm-os.raw"
    )
  })
  it("no pattern: <volume>.<type>", () => {
    assert.strictEqual(
      fileOf({ path: "/isos", pattern: "", type: "iso-scsi" }, storageLookup, "win10"),
      "/isos/win10.iso-scsi"
    )
  })
  it("no pattern, no type: <volume>.raw", () => {
    assert.strictEqual(fileOf({ path: "/data/", pattern: "", type: "" }, storageLookup, "data"), "/data/data.raw")
  })
  it("an empty path yields a relative path", () => {
    assert.strictEqual(fileOf({ path: "", pattern: "", type: "raw" }, storageLookup, "os"), "os.raw")
  })
  it("a pattern starting with / does not reset the base", () => {
    assert.strictEqual(
      fileOf({ path: "/zfs-tank/", pattern: "/${volume}.img", type: "" }, storageLookup, "os"),
      "/zfs-tank/os.img"
    )
  })
  it("a pattern with .. is resolved lexically", () => {
    assert.strictEqual(
      fileOf({ path: "/pool/sub", pattern: "../${volume}", type: "" }, storageLookup, "os"),
      "/pool/os"
    )
  })
  it("empty path and a pattern expanding to nothing give an empty path", () => {
    assert.strictEqual(fileOf({ path: "", pattern: "${nope}", type: "raw" }, storageLookup, "os"), "")
  })
})

describe("malformed patterns (issue 9)", () => {
  const rows: ReadonlyArray<readonly [string, string]> = [
    [
      "${machine-name/${volume}.raw",
      "storage pattern \"${machine-name/${volume}.raw\": \"${\" at column 1 is opened inside the variable name " +
      "\"machine-name/${volume\" (close each \"${\" with \"}\" before opening the next)"
    ],
    [
      "ok/${a${b}}",
      "storage pattern \"ok/${a${b}}\": \"${\" at column 4 is opened inside the variable name \"a${b\" " +
      "(close each \"${\" with \"}\" before opening the next)"
    ],
    ["${volume.raw", "storage pattern \"${volume.raw\": \"${\" at column 1 is never closed by \"}\""],
    ["x/${", "storage pattern \"x/${\": \"${\" at column 3 is never closed by \"}\""],
    [
      "${5900 + }",
      "storage pattern \"${5900 + }\": syntax error in ${5900 + } at column 8: expected a number, a variable or \"(\" but found the end"
    ],
    [
      "${1 + 99999999999999999}",
      "storage pattern \"${1 + 99999999999999999}\": in ${1 + 99999999999999999}, literal = 99999999999999999 overflows " +
      "(values must stay within ±9007199254740991, 2^53 − 1)"
    ]
  ]
  for (const [pattern, message] of rows) {
    it(JSON.stringify(pattern), () => {
      assert.strictEqual(leftMessage(checkPattern("storage", pattern)), message)
      assert.strictEqual(leftMessage(expandPattern(pattern, storageScope(lookup))), message)
    })
  }
  it("port patterns are refused the same way", () => {
    assert.strictEqual(
      leftMessage(expandPort("5${seat", { seat: "1" })),
      "port pattern \"5${seat\": \"${\" at column 2 is never closed by \"}\""
    )
  })
  it("what Go reads without complaint and is not malformed stays as Go reads it", () => {
    for (const pattern of ["${}", "${{}", "$${a}", "${a}}", "$", "a$", "${*}", "${-}", "${1x}", "$machine-name"]) {
      assert.deepStrictEqual(expandPattern(pattern, storageScope(lookup)), Either.right(expand(pattern, lookup)), pattern)
    }
  })
})

describe("expressions in patterns (issue 12)", () => {
  const numbers = { seat: "3", "employee-id": "9000", word: "abc", zero: "0" }
  it("in port patterns", () => {
    assert.deepStrictEqual(expandPort("${5900 + seat}", numbers), Either.right(5903))
    assert.deepStrictEqual(expandPort("${4000 + employee-id * 2}", numbers), Either.right(22000))
    assert.deepStrictEqual(expandPort("5${(seat)}0", numbers), Either.right(530))
    assert.deepStrictEqual(expandPort("${employee-id}", numbers), Either.right(9000))
  })
  it("in storage patterns, beside plain references", () => {
    const scope = storageScope(lookupIn({ "machine-name": "vm", volume: "os", seat: "3" }))
    assert.deepStrictEqual(expandPattern("${machine-name}/disk-${seat * 10 + 1}-${volume}.raw", scope), Either.right("vm/disk-31-os.raw"))
    assert.deepStrictEqual(expandPattern("${ seat }", scope), Either.right("3"))
  })
  const errors: ReadonlyArray<readonly [string, string]> = [
    ["${5900 + seat / zero}", "port pattern \"${5900 + seat / zero}\": in ${5900 + seat / zero}, division by zero (3 / 0)"],
    ["${seat % (zero)}", "port pattern \"${seat % (zero)}\": in ${seat % (zero)}, division by zero (3 % 0)"],
    ["${5900 + word}", "port pattern \"${5900 + word}\": in ${5900 + word}, variable \"word\" is \"abc\", not a decimal integer"],
    [
      "${employee-id * 9007199254740991}",
      "port pattern \"${employee-id * 9007199254740991}\": in ${employee-id * 9007199254740991}, " +
      "9000 * 9007199254740991 = 81064793292668919000 overflows (values must stay within ±9007199254740991, 2^53 − 1)"
    ],
    [
      "${5900 + sea-t}",
      "port pattern \"${5900 + sea-t}\": unknown variable \"sea-t\" in ${5900 + sea-t} " +
      "(port patterns see only vars; defined: employee-id, seat, word, zero); to subtract, put spaces around \"-\" (a - b)"
    ],
    ["${5900 +* seat}", "port pattern \"${5900 +* seat}\": syntax error in ${5900 +* seat} at column 7: expected a number, a variable or \"(\" but found \"*\""],
    ["${70000 + seat}", "port pattern \"${70000 + seat}\": invalid resulting port number 70003"]
  ]
  for (const [pattern, message] of errors) {
    it(`error: ${pattern}`, () => assert.strictEqual(leftMessage(expandPort(pattern, numbers)), message))
  }
  it("an unknown variable in a storage expression is an error, a plain one expands to nothing", () => {
    const scope = storageScope(lookupIn({ volume: "os", rack: "r1" }), () => ["rack (vm.conf.json: $.vars.rack)"])
    assert.deepStrictEqual(expandPattern("${nope}/${volume}", scope), Either.right("/os"))
    assert.strictEqual(
      leftMessage(expandPattern("${nope + 1}", scope)),
      "storage pattern \"${nope + 1}\": unknown variable \"nope\" in ${nope + 1} " +
        "(storage patterns see the built-ins machine-name, machine-description, machine-id, volume and vars; " +
        "vars defined: rack (vm.conf.json: $.vars.rack))"
    )
  })
  it("lists references", () => {
    const parsed = Either.getOrThrow(checkPattern("storage", "$a/${b}/${c + d * c}/${a}"))
    assert.deepStrictEqual(plainReferences(parsed), ["a", "b"])
    assert.deepStrictEqual(expressionReferences(parsed), ["c", "d"])
  })
})

describe("unknown variables in port patterns (issue 9)", () => {
  it("names the variable, the vars that exist and where each is defined", () => {
    const origins = {
      "employee-id": { file: "/etc/machina/machina.conf.json", path: "$.tag.staff.vars.employee-id" },
      slot: { file: "/etc/machina/machine.conf.d/vm.conf.json", path: "$.vars.slot" }
    }
    assert.strictEqual(
      leftMessage(expandPort("5${seat}", { slot: "1", "employee-id": "9000" }, { origins })),
      "port pattern \"5${seat}\": unknown variable \"seat\" (port patterns see only vars; defined: " +
        "employee-id (/etc/machina/machina.conf.json: $.tag.staff.vars.employee-id), slot (/etc/machina/machine.conf.d/vm.conf.json: $.vars.slot))"
    )
  })
  it("says when no variable is defined", () => {
    assert.strictEqual(
      leftMessage(expandPort("5$seat", {})),
      "port pattern \"5$seat\": unknown variable \"seat\" (port patterns see only vars; none is defined for this machine)"
    )
  })
  it("storage built-ins still expand to nothing there (the original's behaviour)", () => {
    assert.deepStrictEqual(expandPort("59${slot}${machine-id}", { slot: "01" }), Either.right(5901))
  })
  it("expand to nothing when asked (a tag's pattern shown on its own)", () => {
    assert.deepStrictEqual(expandPort("5${employee-id}", {}, { unknown: "empty" }), Either.right(5))
  })
})

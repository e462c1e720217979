import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import {
  classify,
  compactJson,
  decodeGreeting,
  encodeCommand,
  formatCapabilities,
  formatConnectedBanner,
  formatEventJsonLine,
  formatEventLine,
  formatMessageId,
  formatVersion,
  indentJson,
  JsonSplitter,
  MAX_U64,
  memberText,
  parseMessageId,
  renderQmpError,
  type Scanned,
  splitAll
} from "../../src/domain/QmpMessage.js"

const texts = (values: ReadonlyArray<Scanned>) => values.map((v) => `${v._tag}:${v.text}`)

const SHUTDOWN =
  `{"timestamp": {"seconds": 1700000000, "microseconds": 123456}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}`

describe("JsonSplitter", () => {
  it("finds several values in one chunk, skipping QEMU's CRLF", () => {
    const values = splitAll(`{"return": {}, "id": "machina.1.1"}\r\n${SHUTDOWN}\r\n[1, 2]\r\n"s" 12 true null\n`)
    assert.deepStrictEqual(texts(values), [
      `Json:{"return": {}, "id": "machina.1.1"}`,
      `Json:${SHUTDOWN}`,
      "Json:[1, 2]",
      `Json:"s"`,
      "Json:12",
      "Json:true",
      "Json:null"
    ])
  })

  it("joins a value split at every possible position", () => {
    const text = `{"a": "x\\"}{\\u00e9", "b": [1.5e-3, -0, {"c": null}]}\r\n`
    for (let cut = 0; cut <= text.length; cut++) {
      const s = new JsonSplitter()
      const values = [...s.feed(text.slice(0, cut)), ...s.feed(text.slice(cut)), ...s.end()]
      assert.deepStrictEqual(texts(values), [`Json:${text.trimEnd()}`], `cut at ${cut}`)
    }
  })

  it("feeds one character at a time", () => {
    const text = `${SHUTDOWN}\r\n{"return": [], "id": 7}\r\n`
    const s = new JsonSplitter()
    const values: Array<Scanned> = []
    for (const ch of text) values.push(...s.feed(ch))
    assert.strictEqual(values.length, 2)
    assert.isTrue(s.idle)
  })

  it("keeps the raw text of members of a top-level object", () => {
    const [v] = splitAll(SHUTDOWN)
    assert(v?._tag === "Json")
    assert.strictEqual(memberText(v, "data"), `{"guest": true, "reason": "guest-shutdown"}`)
    assert.strictEqual(memberText(v, "event"), `"SHUTDOWN"`)
    assert.strictEqual(memberText(v, "missing"), undefined)
    const [w] = splitAll(`{"return" :  [ {"x":1} , 2 ] , "id":"i"}`)
    assert(w?._tag === "Json")
    assert.strictEqual(memberText(w, "return"), `[ {"x":1} , 2 ]`)
    assert.strictEqual(memberText(w, "id"), `"i"`)
  })

  it("decodes escaped keys and keeps the last duplicate", () => {
    const [v] = splitAll(`{"d\\u0061ta": 1, "data": 2}`)
    assert(v?._tag === "Json")
    assert.strictEqual(memberText(v, "data"), "2")
  })

  it("reports garbage lines and resynchronises on the next line", () => {
    const values = splitAll(`hello world\n{"return": {}}\n{garbage\n}\n{"a": tru}\n{"event": "X"}\n`)
    assert.deepStrictEqual(values.map((v) => v._tag), ["Garbage", "Json", "Garbage", "Garbage", "Garbage", "Json"])
    assert.strictEqual(values[0]?.text, "hello world")
  })

  it("recovers when a truncated value is followed by a new line starting a value", () => {
    const values = splitAll(`{"return": {}, "id": 1\n{"event": "RESET"}\n{"id": "cut\n{"event": "STOP"}\n`)
    assert.deepStrictEqual(texts(values), [
      `Garbage:{"return": {}, "id": 1`,
      `Json:{"event": "RESET"}`,
      `Garbage:{"id": "cut`,
      `Json:{"event": "STOP"}`
    ])
  })

  it("discards garbage split across chunks until the line ends", () => {
    const s = new JsonSplitter()
    assert.deepStrictEqual(s.feed("xx").map((v) => v._tag), ["Garbage"])
    assert.deepStrictEqual(s.feed(`yy {"not": "read"}`), [])
    assert.deepStrictEqual(texts(s.feed(`zz\n{"a": 1}\n`)), [`Json:{"a": 1}`])
  })

  it("rejects what JSON.parse rejects", () => {
    for (
      const bad of [
        `{"a": 01}`,
        `{"a": 1.}`,
        `{"a": .5}`,
        `{"a": -}`,
        `{"a": 1e}`,
        `{"a": "\u0001"}`,
        `{"a": "\\x"}`,
        `{"a": "\\u12g4"}`,
        `{"a" 1}`,
        `{"a": 1,}`,
        `[1,]`,
        `{1: 2}`,
        `[1 2]`,
        `{"a": [}`,
        `nul`,
        `12x`
      ]
    ) {
      const values = splitAll(bad + "\n")
      assert.isTrue(values.length >= 1 && values[0]!._tag === "Garbage", bad)
    }
  })

  it("reports a truncated value at end of input and completes a pending number", () => {
    assert.deepStrictEqual(splitAll(`{"a": [1, 2`).map((v) => v._tag), ["Garbage"])
    assert.deepStrictEqual(texts(splitAll("-12.5e+3")), ["Json:-12.5e+3"])
  })

  it("bounds the size of one value", () => {
    const s = new JsonSplitter(50)
    const values = s.feed(`{"a": "${"x".repeat(100)}"}\n{"b": 1}\n`)
    assert.deepStrictEqual(values.map((v) => v._tag), ["Garbage", "Json"])
  })

  it.prop("agrees with JSON.parse on generated JSON, however it is chunked", [
    FastCheck.jsonValue(),
    FastCheck.array(FastCheck.nat(40), { maxLength: 6 })
  ], ([value, cuts]) => {
    const text = JSON.stringify(value, null, cuts.length % 2 === 0 ? undefined : 1) + "\r\n"
    const s = new JsonSplitter()
    const values: Array<Scanned> = []
    let at = 0
    for (const c of cuts) {
      values.push(...s.feed(text.slice(at, at + c)))
      at += c
    }
    values.push(...s.feed(text.slice(at)), ...s.end())
    assert.strictEqual(values.length, 1)
    assert(values[0]?._tag === "Json")
    assert.deepStrictEqual(JSON.parse(values[0].text), JSON.parse(text))
  })
})

describe("classify", () => {
  const one = (text: string) => classify(splitAll(text)[0]!)

  it("classifies events with raw data and timestamp", () => {
    const m = one(SHUTDOWN)
    assert(m._tag === "Event")
    assert.deepStrictEqual(m.event, {
      event: "SHUTDOWN",
      data: `{"guest": true, "reason": "guest-shutdown"}`,
      timestamp: { seconds: 1700000000, microseconds: 123456 }
    })
    const p = one(`{"event": "POWERDOWN"}`)
    assert(p._tag === "Event")
    assert.strictEqual(p.event.data, "")
    assert.strictEqual(p.event.timestamp, undefined)
  })

  it("prefers event over return", () => {
    assert.strictEqual(one(`{"return": {}, "event": "X"}`)._tag, "Event")
  })

  it("classifies replies with id, return text and error", () => {
    const ok = one(`{"return": {"status": "running"}, "id": "machina.42.7"}`)
    assert(ok._tag === "Reply")
    assert.deepStrictEqual(ok.id, Option.some({ client: 42n, sequence: 7n }))
    assert.strictEqual(ok.returnRaw, `{"status": "running"}`)
    assert.strictEqual(ok.error, undefined)
    const err = one(`{"id": "machina.1.2", "error": {"class": "GenericError", "desc": "nope"}}`)
    assert(err._tag === "Reply")
    assert.deepStrictEqual(err.error, { errorClass: "GenericError", desc: "nope" })
    const emptyError = one(`{"error": {}, "id": "machina.1.3"}`)
    assert(emptyError._tag === "Reply")
    assert.strictEqual(emptyError.error, undefined)
    const foreign = one(`{"return": {}, "id": 5}`)
    assert(foreign._tag === "Reply")
    assert.isTrue(Option.isNone(foreign.id))
  })

  it("ignores other objects and rejects non-objects", () => {
    assert.strictEqual(one(`{"QMP": {}}`)._tag, "Other")
    assert.strictEqual(one(`[1]`)._tag, "Invalid")
    assert.strictEqual(one(`"x"`)._tag, "Invalid")
    assert.strictEqual(one(`{"event": 5}`)._tag, "Invalid")
    assert.strictEqual(one(`{"error": "bad"}`)._tag, "Invalid")
    assert.strictEqual(classify({ _tag: "Garbage", text: "zz", reason: "r" })._tag, "Invalid")
  })
})

describe("message ids", () => {
  it("formats machina.<client>.<seq>", () => {
    assert.strictEqual(formatMessageId(0n, 1), "machina.0.1")
    assert.strictEqual(formatMessageId(MAX_U64, 2n), "machina.18446744073709551615.2")
  })

  it("parses with a prefix pattern within u64", () => {
    assert.deepStrictEqual(parseMessageId("machina.0.1"), Option.some({ client: 0n, sequence: 1n }))
    assert.deepStrictEqual(parseMessageId("machina.3.4-suffix"), Option.some({ client: 3n, sequence: 4n }))
    assert.deepStrictEqual(
      parseMessageId("machina.18446744073709551615.18446744073709551615"),
      Option.some({ client: MAX_U64, sequence: MAX_U64 })
    )
    assert.isTrue(Option.isNone(parseMessageId("machina.18446744073709551616.1")))
    assert.isTrue(Option.isNone(parseMessageId("machina.1.18446744073709551616")))
    assert.isTrue(Option.isNone(parseMessageId("libvirt-1")))
    assert.isTrue(Option.isNone(parseMessageId(" machina.1.1")))
    assert.isTrue(Option.isNone(parseMessageId("machina.x.1")))
    assert.isTrue(Option.isNone(parseMessageId(12)))
    assert.isTrue(Option.isNone(parseMessageId(undefined)))
  })

  it.prop("round-trips", [FastCheck.bigUintN(64), FastCheck.bigUintN(64)], ([client, seq]) => {
    assert.deepStrictEqual(parseMessageId(formatMessageId(client, seq)), Option.some({ client, sequence: seq }))
  })
})

describe("commands", () => {
  it("encodes execute, arguments, id in that order, newline-terminated", () => {
    assert.deepStrictEqual(
      encodeCommand("system_powerdown", undefined, "machina.0.2"),
      Either.right(`{"execute":"system_powerdown","id":"machina.0.2"}\n`)
    )
    assert.deepStrictEqual(
      encodeCommand("qmp_capabilities", { enable: ["oob"] }, "machina.0.1"),
      Either.right(`{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":"machina.0.1"}\n`)
    )
    assert.isTrue(Either.isLeft(encodeCommand("x", { n: 1n }, "i")))
  })
})

describe("errors", () => {
  it("renders class and description", () => {
    assert.strictEqual(
      renderQmpError("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'"),
      "CommandNotFound error: Expecting capabilities negotiation with 'qmp_capabilities'"
    )
    assert.strictEqual(renderQmpError("GenericError", ""), "GenericError")
    assert.strictEqual(renderQmpError("", "just text"), "just text")
    assert.strictEqual(renderQmpError("", ""), "unspecified qmp error")
  })
})

describe("greeting", () => {
  const greeting = (text: string) => decodeGreeting(splitAll(text)[0]!)

  it("decodes QEMU's greeting and formats the banner", () => {
    const g = greeting(
      `{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}`
    )
    assert(Either.isRight(g))
    assert.strictEqual(formatVersion(g.right.version), "qemu 7.2.0 / Debian 1:7.2+dfsg-7")
    assert.strictEqual(formatCapabilities(g.right.capabilities), "[oob]")
    assert.strictEqual(
      formatConnectedBanner("test-vm", g.right),
      "Connected to test-vm (qemu 7.2.0 / Debian 1:7.2+dfsg-7, capabilities: [oob])"
    )
  })

  it("accepts any object, zero-filling, and rejects non-objects", () => {
    const g = greeting(`{}`)
    assert(Either.isRight(g))
    assert.strictEqual(formatVersion(g.right.version), "qemu 0.0.0 / ")
    assert.strictEqual(formatCapabilities(["a", "b"]), "[a b]")
    assert.isTrue(Either.isLeft(greeting(`[1]`)))
    assert.isTrue(Either.isLeft(greeting(`nonsense\n`)))
  })
})

describe("event lines", () => {
  const data = `{"guest": true, "reason": "guest-shutdown"}`
  it("prints data exactly as received", () => {
    assert.strictEqual(formatEventLine("test-vm", { event: "POWERDOWN", data: "", timestamp: undefined }), "test-vm: POWERDOWN")
    assert.strictEqual(
      formatEventLine("test-vm", { event: "SHUTDOWN", data, timestamp: undefined }),
      `test-vm: SHUTDOWN: {"guest": true, "reason": "guest-shutdown"}`
    )
  })

  it("prints one JSON object per line", () => {
    const line = formatEventJsonLine("vm", {
      event: "SHUTDOWN",
      data: `{"b": 1.50,\n "a": true}`,
      timestamp: { seconds: 5, microseconds: 6 }
    })
    assert.strictEqual(
      line,
      `{"name":"vm","event":"SHUTDOWN","data":{"b":1.50,"a":true},"timestamp":"1970-01-01T00:00:05.000006Z"}`
    )
    // No data and no timestamp: both omitted, never null.
    assert.deepStrictEqual(JSON.parse(formatEventJsonLine("vm", { event: "X", data: "", timestamp: undefined })), { name: "vm", event: "X" })
    // QEMU's "no time" (-1) is omitted too; whole seconds have no fraction.
    assert.deepStrictEqual(JSON.parse(formatEventJsonLine("vm", { event: "X", data: "", timestamp: { seconds: -1, microseconds: -1 } })), { name: "vm", event: "X" })
    assert.strictEqual(JSON.parse(formatEventJsonLine("vm", { event: "X", data: "", timestamp: { seconds: 1764798598, microseconds: 0 } })).timestamp, "2025-12-03T21:49:58Z")
  })
})

describe("indentJson (Go json.Indent)", () => {
  // Expected texts are what Go's json.Indent(&buf, src, "", "\t") produces.
  const cases: ReadonlyArray<readonly [string, string]> = [
    [`{}`, `{}`],
    [`[]`, `[]`],
    [`[ ]`, `[]`],
    [`{ }`, `{}`],
    [`1`, `1`],
    [`"a"`, `"a"`],
    [`  \n[1,2]`, "[\n\t1,\n\t2\n]"],
    [`[1,2]  \n`, "[\n\t1,\n\t2\n]  \n"],
    [
      `{"a":[],"b":{},"c":[1,{"d":1.50e+3}], "e" : "x:,{\\"}"}`,
      "{\n\t\"a\": [],\n\t\"b\": {},\n\t\"c\": [\n\t\t1,\n\t\t{\n\t\t\t\"d\": 1.50e+3\n\t\t}\n\t],\n\t\"e\": \"x:,{\\\"}\"\n}"
    ],
    [`{"10":1,"2":2}`, "{\n\t\"10\": 1,\n\t\"2\": 2\n}"],
    [`[[[]],[{}]]`, "[\n\t[\n\t\t[]\n\t],\n\t[\n\t\t{}\n\t]\n]"],
    [`{"n":-0.000,"big":123456789012345678901234567890,"u":"\\u00e9\\n"}`, "{\n\t\"n\": -0.000,\n\t\"big\": 123456789012345678901234567890,\n\t\"u\": \"\\u00e9\\n\"\n}"],
    [`[true,false,null]`, "[\n\ttrue,\n\tfalse,\n\tnull\n]"]
  ]
  for (const [src, expected] of cases) {
    it(`indents ${JSON.stringify(src)}`, () => {
      assert.deepStrictEqual(indentJson(src), Either.right(expected))
    })
  }

  it("indents QEMU's query-cpus-fast answer", () => {
    const raw =
      `[{"thread-id": 4242, "props": {"core-id": 0, "thread-id": 0, "node-id": 0, "socket-id": 0}, "qom-path": "/machine/unattached/device[0]", "cpu-index": 0, "target": "x86_64"}]`
    assert.deepStrictEqual(
      indentJson(raw),
      Either.right(
        `[
	{
		"thread-id": 4242,
		"props": {
			"core-id": 0,
			"thread-id": 0,
			"node-id": 0,
			"socket-id": 0
		},
		"qom-path": "/machine/unattached/device[0]",
		"cpu-index": 0,
		"target": "x86_64"
	}
]`
      )
    )
  })

  it("supports other indents and a prefix", () => {
    assert.deepStrictEqual(indentJson(`{"a":[1]}`, "  ", ">"), Either.right("{\n>  \"a\": [\n>    1\n>  ]\n>}"))
  })

  it("rejects invalid JSON", () => {
    assert.isTrue(Either.isLeft(indentJson(`{"a":}`)))
    assert.isTrue(Either.isLeft(indentJson(`[1] [2]`)))
    assert.isTrue(Either.isLeft(indentJson(``)))
  })

  it.prop("preserves the value", [FastCheck.jsonValue()], ([value]) => {
    const text = JSON.stringify(value)
    const out = indentJson(text)
    assert(Either.isRight(out))
    assert.deepStrictEqual(JSON.parse(out.right), JSON.parse(text))
  })

  it("compacts", () => {
    assert.strictEqual(compactJson(`{ "a" : [ 1 , "x y" ] }`), `{"a":[1,"x y"]}`)
  })
})

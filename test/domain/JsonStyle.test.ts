import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { defaultStyle, detectStyle, formatLike, stringifyStyled } from "../../src/domain/JsonStyle.js"

describe("JSON style", () => {
  it("writes the seed machine back byte for byte", () => {
    const text = readFileSync("examples/seed/machine.conf.d/test-vm.conf.json", "utf8")
    expect(formatLike(text, JSON.parse(text))).toBe(text)
  })

  it("detects tabs, spaces, inline lists and the final newline", () => {
    expect(detectStyle("{\n\t\"a\": 1\n}\n")).toMatchObject({ indent: "\t", finalNewline: true })
    expect(detectStyle("{\n    \"a\": {\n        \"b\": 1\n    }\n}")).toMatchObject({ indent: "    ", finalNewline: false })
    expect(detectStyle("{\n  \"tags\": [\n    \"a\"\n  ]\n}\n").inlineScalarArrays).toBe(false)
    expect(detectStyle("{\n  \"tags\": [\"a\"]\n}\n").inlineScalarArrays).toBe(true)
    expect(detectStyle("")).toEqual(defaultStyle)
  })

  it("keeps key order and appends new keys", () => {
    const text = "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    2\n  ]\n}"
    const value = { ...JSON.parse(text), m: { x: true } }
    expect(formatLike(text, value)).toBe("{\n  \"z\": 1,\n  \"a\": [\n    1,\n    2\n  ],\n  \"m\": {\n    \"x\": true\n  }\n}")
  })

  it("round-trips any JSON value", () => {
    const values = [{}, [], { a: [{ b: [] }, { c: {} }], "k\"ey": "v\n" }, { n: null, f: 1.5, s: ["x", 1, false] }]
    for (const v of values) for (const style of [defaultStyle, detectStyle("{\n  \"a\": {\"b\": 1}\n}")]) {
      expect(JSON.parse(stringifyStyled(v, style))).toEqual(v)
    }
  })
})

import { describe, expect, it } from "@effect/vitest"
import { hostAllowed, judge, type Listen, parseListen, type RequestFacts } from "../../src/programs/ui/Security.js"

const loopback: Listen = { _tag: "tcp", address: "127.0.0.1", port: 0 }
const token = "t".repeat(43)
const facts = (over: Partial<RequestFacts>): RequestFacts => ({
  method: "GET",
  host: "127.0.0.1:8080",
  origin: undefined,
  secFetchSite: undefined,
  cookieToken: undefined,
  queryToken: undefined,
  bearerToken: undefined,
  ...over
})

describe("machina ui access checks", () => {
  it("parses --listen and refuses an address left out", () => {
    expect(parseListen("127.0.0.1:8080")).toEqual({ address: "127.0.0.1", port: 8080 })
    expect(parseListen("[::1]:9")).toEqual({ address: "::1", port: 9 })
    expect(parseListen("0.0.0.0:80")).toEqual({ address: "0.0.0.0", port: 80 })
    expect(parseListen(":8080")).toMatch(/name the address to listen on/)
    expect(parseListen("8080")).toMatch(/expected ADDR:PORT/)
    expect(parseListen("127.0.0.1:70000")).toMatch(/out of range/)
  })

  it("answers only to its own Host names", () => {
    expect(hostAllowed(loopback, 8080, "127.0.0.1:8080")).toBe(true)
    expect(hostAllowed(loopback, 8080, "localhost:8080")).toBe(true)
    expect(hostAllowed(loopback, 8080, "LOCALHOST:8080")).toBe(true)
    expect(hostAllowed(loopback, 8080, "evil.example:8080")).toBe(false)
    expect(hostAllowed(loopback, 8080, "127.0.0.1:8081")).toBe(false)
    expect(hostAllowed(loopback, 8080, undefined)).toBe(false)
    const lan: Listen = { _tag: "tcp", address: "192.0.2.7", port: 8080 }
    expect(hostAllowed(lan, 8080, "192.0.2.7:8080")).toBe(true)
    expect(hostAllowed(lan, 8080, "localhost:8080")).toBe(false)
    // A wildcard address accepts IP literals only: a name could be rebound.
    const any: Listen = { _tag: "tcp", address: "0.0.0.0", port: 8080 }
    expect(hostAllowed(any, 8080, "198.51.100.1:8080")).toBe(true)
    expect(hostAllowed(any, 8080, "evil.example:8080")).toBe(false)
  })

  it("needs the token, refuses foreign origins before looking at it", () => {
    expect(judge(loopback, 8080, token, facts({}))).toMatchObject({ _tag: "deny", status: 401 })
    expect(judge(loopback, 8080, token, facts({ cookieToken: "x" }))).toMatchObject({ _tag: "deny", status: 401 })
    expect(judge(loopback, 8080, token, facts({ cookieToken: token }))).toEqual({ _tag: "allow", viaQuery: false })
    expect(judge(loopback, 8080, token, facts({ bearerToken: token }))).toEqual({ _tag: "allow", viaQuery: false })
    expect(judge(loopback, 8080, token, facts({ queryToken: token, secFetchSite: "none" }))).toEqual({ _tag: "allow", viaQuery: true })
    expect(judge(loopback, 8080, token, facts({ method: "PUT", cookieToken: token, origin: "http://127.0.0.1:8080" }))).toMatchObject({ _tag: "allow" })
    expect(judge(loopback, 8080, token, facts({ method: "PUT", cookieToken: token, origin: "http://evil.example" }))).toMatchObject({ _tag: "deny", status: 403 })
    expect(judge(loopback, 8080, token, facts({ method: "PUT", cookieToken: token, origin: "null" }))).toMatchObject({ _tag: "deny", status: 403 })
    expect(judge(loopback, 8080, token, facts({ method: "POST", cookieToken: token, secFetchSite: "same-site" }))).toMatchObject({ _tag: "deny", status: 403 })
    expect(judge(loopback, 8080, token, facts({ cookieToken: token, host: "evil.example:8080" }))).toMatchObject({ _tag: "deny", status: 403 })
  })
})

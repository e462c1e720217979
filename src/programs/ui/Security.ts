/**
 * Who may talk to `machina ui`: pure checks of a request's headers against where the server
 * listens and its access token. Order: Host (DNS rebinding), Origin and Fetch Metadata (cross-site
 * requests), then the token (cookie, `?token=` on the first visit, or `Authorization: Bearer`).
 */
import { nodeCrypto } from "../../domain/NodeBuiltins.js"
import { isIP } from "node:net"

export type Listen =
  | { readonly _tag: "tcp"; readonly address: string; readonly port: number }
  | { readonly _tag: "socket"; readonly path: string }

/** Parses `ADDR:PORT` (`[::1]:8080` for IPv6); the address must be written out. */
export const parseListen = (text: string): { address: string; port: number } | string => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text)
  if (m === null) return `--listen ${JSON.stringify(text)}: expected ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080`
  const address = m[1] ?? m[2] ?? ""
  const port = Number(m[3])
  if (address === "") return `--listen ${JSON.stringify(text)}: name the address to listen on (e.g. 127.0.0.1:${port}); machina ui never picks a non-loopback address by itself`
  if (port > 65535) return `--listen ${JSON.stringify(text)}: port ${port} is out of range (0 to 65535)`
  if (isIP(address) === 0 && !/^[A-Za-z0-9.-]+$/.test(address)) return `--listen ${JSON.stringify(text)}: ${JSON.stringify(address)} is not an IP address or host name`
  return { address, port }
}

export const isLoopback = (address: string): boolean =>
  address === "localhost" || address === "::1" || (isIP(address) === 4 && address.startsWith("127."))

const hostPort = (address: string, port: number) => (isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`)

/** The Host header values this server answers to. Undefined: any (a unix socket). */
export const allowedHosts = (listen: Listen, port: number): ReadonlySet<string> | undefined => {
  if (listen._tag === "socket") return undefined
  const hosts = new Set([hostPort(listen.address, port).toLowerCase()])
  if (isLoopback(listen.address)) for (const h of ["localhost", "127.0.0.1", "::1"]) hosts.add(hostPort(h, port))
  return hosts
}

/** For a wildcard address (0.0.0.0, ::) a host is acceptable when it is an IP literal with our port. */
const wildcard = (listen: Listen) => listen._tag === "tcp" && (listen.address === "0.0.0.0" || listen.address === "::")

export const hostAllowed = (listen: Listen, port: number, host: string | undefined): boolean => {
  const hosts = allowedHosts(listen, port)
  if (hosts === undefined) return true
  if (host === undefined) return false
  const h = host.toLowerCase()
  if (hosts.has(h)) return true
  if (!wildcard(listen)) return false
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(h)
  return m !== null && Number(m[3]) === port && isIP(m[1] ?? m[2] ?? "") !== 0
}

export interface RequestFacts {
  readonly method: string
  readonly host: string | undefined
  readonly origin: string | undefined
  readonly secFetchSite: string | undefined
  readonly cookieToken: string | undefined
  readonly queryToken: string | undefined
  readonly bearerToken: string | undefined
}

export type Verdict =
  | { readonly _tag: "allow"; readonly viaQuery: boolean }
  | { readonly _tag: "deny"; readonly status: 401 | 403; readonly reason: string }

const sameToken = (a: string | undefined, b: string): boolean => {
  if (a === undefined) return false
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && nodeCrypto().timingSafeEqual(x, y)
}

/** Decides whether a request may proceed. */
export const judge = (listen: Listen, port: number, token: string, r: RequestFacts): Verdict => {
  if (!hostAllowed(listen, port, r.host)) return { _tag: "deny", status: 403, reason: `Host ${JSON.stringify(r.host ?? "")} is not this server` }
  if (r.origin !== undefined) {
    // A browser names the page that sent the request: it must be one of ours.
    const m = /^http:\/\/([^/]+)$/.exec(r.origin)
    const ok = m !== null && (listen._tag === "socket" ? m[1]!.toLowerCase() === (r.host ?? "").toLowerCase() : hostAllowed(listen, port, m[1]))
    if (!ok) return { _tag: "deny", status: 403, reason: `cross-origin request from ${r.origin} refused` }
  }
  if (r.secFetchSite !== undefined && r.secFetchSite !== "same-origin" && r.secFetchSite !== "none") {
    return { _tag: "deny", status: 403, reason: `${r.secFetchSite} request refused` }
  }
  if (sameToken(r.cookieToken, token) || sameToken(r.bearerToken, token)) return { _tag: "allow", viaQuery: false }
  if (sameToken(r.queryToken, token)) return { _tag: "allow", viaQuery: true }
  return { _tag: "deny", status: 401, reason: "missing or wrong access token: open the URL machina ui printed" }
}

/** A state-changing method: allowed only from our own pages (checked above) or non-browser clients. */
export const isSafeMethod = (method: string) => method === "GET" || method === "HEAD"

/** The cookie name: per port, since browsers share cookies between ports of one host. */
export const cookieName = (listen: Listen, port: number) => (listen._tag === "socket" ? "machina_ui" : `machina_ui_${port}`)

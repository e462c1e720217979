/**
 * The HTTP side of `machina ui`: Effect's own HTTP server (@effect/platform over Node's http),
 * the access checks of Security.ts in front of every route, the page, its script and style, and
 * the JSON API of Api.ts. Loaded only by `machina ui` (Ui.ts imports it on first use).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { randomBytes } from "../../domain/NodeBuiltins.js"
import { chmod } from "node:fs/promises"
import { createServer } from "node:http"
import * as Api from "./Api.js"
import { cookieName, isLoopback, judge, type Listen } from "./Security.js"
import { pageHtml, STYLE } from "./Page.js"

/** The front end, bundled by scripts/build.mjs (src/web); absent when running from source. */
declare const MACHINA_UI_SCRIPT: string | undefined
const script = (): string =>
  typeof MACHINA_UI_SCRIPT === "string"
    ? MACHINA_UI_SCRIPT
    : `document.body.textContent = "machina ui: the front end is built into dist/machina.cjs by npm run build; run that file."`

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const errorBody = (e: { readonly _tag?: string; readonly message?: string }) => ({ error: e.message ?? String(e), kind: e._tag ?? "Error" })

/** Typed failures of the API as HTTP answers. */
const failure = (e: unknown): HttpServerResponse.HttpServerResponse => {
  const err = e as { readonly _tag?: string; readonly message?: string; readonly problems?: unknown; readonly issues?: ReadonlyArray<{ file: string; path: string; message: string }> }
  switch (err._tag) {
    case "UiNotFoundError":
    case "RouteNotFound":
      return json(errorBody(err), 404)
    case "UiBadRequestError":
    case "MachineNameError":
    case "RequestError":
      return json(errorBody(err), 400)
    case "UiInvalidEditError":
      return json({ ...errorBody(err), problems: err.problems }, 422)
    case "ConfigInvalidError":
      return json({ ...errorBody(err), problems: err.issues?.map((i) => ({ file: i.file, path: i.path, message: i.message })) }, 422)
    case "ConfigConflictError":
      return json(errorBody(err), 409)
    case "SystemdBusUnavailableError":
    case "ShutdownFailedError":
      return json(errorBody(err), 502)
    default:
      return json(errorBody(err), 500)
  }
}

const body = Effect.flatMap(HttpServerRequest.HttpServerRequest, (r) => r.json).pipe(
  Effect.flatMap((b) =>
    typeof b === "object" && b !== null && !Array.isArray(b)
      ? Effect.succeed(b as Record<string, unknown>)
      : Effect.fail(new Api.UiBadRequestError({ reason: "expected a JSON object" }))),
  Effect.mapError((e) => (e._tag === "UiBadRequestError" ? e : new Api.UiBadRequestError({ reason: `request body: ${e.message}` })))
)

const edit = (b: Record<string, unknown>): Api.SaveRequest => ({
  text: typeof b["text"] === "string" ? b["text"] : undefined,
  value: b["value"],
  version: b["version"] === null || typeof b["version"] === "string" ? b["version"] : undefined,
  generate: b["generate"] === true
})

const param = (name: string) => Effect.map(HttpRouter.params, (p) => p[name] ?? "")

const router = HttpRouter.empty.pipe(
  HttpRouter.get("/", Effect.succeed(HttpServerResponse.html(pageHtml))),
  HttpRouter.get("/app.js", Effect.sync(() => HttpServerResponse.text(script(), { contentType: "text/javascript; charset=utf-8" }))),
  HttpRouter.get("/favicon.ico", Effect.succeed(HttpServerResponse.empty({ status: 204 }))),
  HttpRouter.get("/app.css", Effect.succeed(HttpServerResponse.text(STYLE, { contentType: "text/css; charset=utf-8" }))),
  HttpRouter.get("/api/overview", Effect.map(Api.overview, (o) => json(o))),
  HttpRouter.get("/api/host", Effect.map(Api.hostDetail, (o) => json(o))),
  HttpRouter.post("/api/host/preview", Effect.flatMap(body, (b) => Effect.map(Api.evaluateHostEdit(edit(b)), (e) => json(e.evaluation)))),
  HttpRouter.put("/api/host", Effect.flatMap(body, (b) => Effect.map(Api.saveHost(edit(b)), (r) => json(r)))),
  HttpRouter.get("/api/new", Effect.map(Api.newMachine, (o) => json(o))),
  HttpRouter.get("/api/machines/:name", Effect.flatMap(param("name"), (n) => Effect.map(Api.machineDetail(n), (o) => json(o)))),
  HttpRouter.post(
    "/api/machines/:name/preview",
    Effect.flatMap(Effect.zip(param("name"), body), ([n, b]) =>
      Effect.map(Api.evaluateMachineEdit(n, edit(b), b["create"] === true), (e) => json(e.evaluation)))
  ),
  HttpRouter.put("/api/machines/:name", Effect.flatMap(Effect.zip(param("name"), body), ([n, b]) => Effect.map(Api.saveMachine(n, edit(b), false), (r) => json(r)))),
  HttpRouter.post("/api/machines/:name", Effect.flatMap(Effect.zip(param("name"), body), ([n, b]) => Effect.map(Api.saveMachine(n, edit(b), true), (r) => json(r, 201)))),
  HttpRouter.post("/api/machines/:name/:action", Effect.flatMap(Effect.zip(param("name"), param("action")), ([n, a]) => Effect.map(Api.machineAction(n, a), (r) => json(r))))
)

export interface ServeOptions {
  readonly listen: Listen
  /** Fixed token (tests); default 32 random bytes. */
  readonly token?: string | undefined
}

const header = (r: HttpServerRequest.HttpServerRequest, name: string): string | undefined => {
  const v = r.headers[name]
  return typeof v === "string" ? v : undefined
}

/** The application: every request is judged before any route runs. */
const app = (listen: Listen, port: number, token: string) => {
  const cookie = cookieName(listen, port)
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://localhost")
    const authorization = header(request, "authorization")
    const verdict = judge(listen, port, token, {
      method: request.method,
      host: header(request, "host"),
      origin: header(request, "origin"),
      secFetchSite: header(request, "sec-fetch-site"),
      cookieToken: request.cookies[cookie],
      queryToken: url.searchParams.get("token") ?? undefined,
      bearerToken: authorization?.startsWith("Bearer ") ? authorization.slice(7) : undefined
    })
    if (verdict._tag === "deny") {
      return HttpServerResponse.text(`${verdict.status === 401 ? "401 Unauthorized" : "403 Forbidden"}: ${verdict.reason}\n`, { status: verdict.status })
    }
    if (verdict.viaQuery && request.method === "GET" && !url.pathname.startsWith("/api/")) {
      // First visit: trade the token in the URL for a cookie and drop it from the address bar.
      url.searchParams.delete("token")
      return HttpServerResponse.redirect(url.pathname + url.search, { status: 303 }).pipe(
        HttpServerResponse.unsafeSetCookie(cookie, token, { httpOnly: true, sameSite: "strict", path: "/" })
      )
    }
    return yield* Effect.catchAll(router, (e) => Effect.succeed(failure(e)))
  }).pipe(
    Effect.catchAllDefect((d) => Effect.as(Console.error(`machina ui: internal error: ${String(d)}`), json({ error: "internal error", kind: "Defect" }, 500))),
    Effect.map(HttpServerResponse.setHeaders(SECURITY_HEADERS))
  )
}

/**
 * Listens, prints the URL with the token as the first stdout line, and serves until interrupted
 * (Ctrl-C): then stops listening, closes open connections and says so on stderr.
 */
export const serve = (options: ServeOptions) =>
  Effect.gen(function*() {
    const token = options.token ?? randomBytes(32).toString("base64url")
    const listen = options.listen
    const node = createServer()
    // A unix socket is created owner-only (umask while binding, chmod after), never briefly open to all.
    const umask = listen._tag === "socket" ? process.umask(0o177) : undefined
    const server: HttpServer.HttpServer = yield* NodeHttpServer.make(
      () => node,
      listen._tag === "socket" ? { path: listen.path } : { host: listen.address, port: listen.port }
    ).pipe(Effect.ensuring(Effect.sync(() => umask !== undefined && process.umask(umask))))
    yield* Effect.addFinalizer(() => Effect.sync(() => node.closeAllConnections()))
    if (listen._tag === "socket") yield* Effect.promise(() => chmod(listen.path, 0o600))
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    const authority = listen._tag === "socket" ? "localhost" : `${listen.address.includes(":") ? `[${listen.address}]` : listen.address}:${port}`
    yield* Console.log(`http://${authority}/?token=${token}`)
    if (listen._tag === "socket") yield* Console.error(`machina ui: listening on the unix socket ${listen.path} (mode 0600)`)
    if (listen._tag === "tcp" && !isLoopback(listen.address)) {
      yield* Console.error(`machina ui: warning: listening on ${listen.address}, reachable from other hosts; anyone with the token can change the configuration`)
    }
    yield* Console.error("machina ui: serving; press Ctrl-C to stop")
    yield* Effect.addFinalizer(() => Console.error("machina ui: stopped"))
    yield* server.serve(app(listen, port, token))
    return yield* Effect.never
  }).pipe(Effect.scoped)

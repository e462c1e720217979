/**
 * QMP wire messages, pure: splitting a character stream into JSON values,
 * classifying them (`qmp.md` §6), message ids (§5), error rendering, the
 * greeting (§4), event lines (§7) and Go-compatible JSON re-indentation
 * (`cli.md` §3.14).
 *
 * Everything here works on text so that QEMU's own spelling of a value (its
 * spacing, key order, number spelling) can be kept and shown as received.
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { isoFromSeconds } from "./OutputValues.js"

// ---------------------------------------------------------------------------
// Streaming splitter
// ---------------------------------------------------------------------------

/** Offsets of one member's value inside the text of the object holding it. */
export interface MemberSpan {
  readonly start: number
  readonly end: number
}

/**
 * One top-level JSON value found in the stream.
 *
 * `members` is present when the value is an object: for each key (decoded,
 * last occurrence wins) the span of its value's raw text inside `text`.
 */
export interface ScannedJson {
  readonly _tag: "Json"
  readonly text: string
  readonly members: ReadonlyMap<string, MemberSpan> | undefined
}

/** Text that is not valid JSON; the splitter resynchronises at the next line break. */
export interface ScannedGarbage {
  readonly _tag: "Garbage"
  /** The offending text (at most {@link GARBAGE_SAMPLE_LENGTH} characters). */
  readonly text: string
  readonly reason: string
}

export type Scanned = ScannedJson | ScannedGarbage

/** Longest sample of garbage text kept for error messages. */
export const GARBAGE_SAMPLE_LENGTH = 200

/** Default bound on the size of one JSON value (characters). */
export const DEFAULT_MAX_VALUE_LENGTH = 32 * 1024 * 1024

const enum S {
  Top,
  Value,
  ArrayFirst,
  ObjectFirst,
  Key,
  Colon,
  After,
  Str,
  StrEscape,
  StrHex,
  Literal,
  NumMinus,
  NumZero,
  NumInt,
  NumDot,
  NumFrac,
  NumExp,
  NumExpSign,
  NumExpDigits
}

const isWs = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)

const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const NEWLINE = 0x0a

const sample = (text: string): string =>
  text.length > GARBAGE_SAMPLE_LENGTH ? text.slice(0, GARBAGE_SAMPLE_LENGTH) + "…" : text

/**
 * Finds complete top-level JSON values in a stream of text chunks.
 *
 * Values may be split across chunks and several values may arrive in one
 * chunk; whitespace (including QEMU's `\r\n`) between values is skipped. Each
 * character is examined once. On a syntax error the current value is reported
 * as {@link ScannedGarbage} and scanning resumes after the next line break.
 *
 * Mutable by design (it is a parser state); it performs no I/O.
 */
export class JsonSplitter {
  private buf = ""
  private pos = 0
  /** Index in `buf` where the current value starts, -1 between values. */
  private start = -1
  private state: S = S.Top
  private readonly stack: Array<number> = []
  private literal = ""
  private literalIndex = 0
  private hexLeft = 0
  private stringIsKey = false
  private skipping = false
  // Member tracking for a top-level object (offsets relative to `start`).
  private members: Map<string, MemberSpan> | undefined = undefined
  private keyStart = 0
  private currentKey = ""
  private memberStart = 0

  constructor(private readonly maxValueLength: number = DEFAULT_MAX_VALUE_LENGTH) {}

  /** Feeds a chunk, returning the values it completed (in order). */
  feed(chunk: string): Array<Scanned> {
    const out: Array<Scanned> = []
    if (this.start < 0) {
      this.buf = this.buf.slice(this.pos) + chunk
      this.pos = 0
    } else {
      this.buf = this.buf.slice(this.start) + chunk
      this.pos -= this.start
      this.start = 0
    }
    this.scan(out)
    return out
  }

  /** Signals the end of the stream: a pending top-level number completes, anything else is truncated. */
  end(): Array<Scanned> {
    const out: Array<Scanned> = []
    if (this.skipping) {
      this.skipping = false
    } else if (this.start >= 0) {
      if (this.stack.length === 0 && this.isNumberEnd()) {
        this.complete(out, this.pos)
      } else {
        out.push({ _tag: "Garbage", text: sample(this.buf.slice(this.start)), reason: "unexpected end of input" })
      }
    }
    this.buf = ""
    this.pos = 0
    this.start = -1
    this.state = S.Top
    this.stack.length = 0
    this.members = undefined
    return out
  }

  /** True when no partial value is buffered. */
  get idle(): boolean {
    return this.start < 0 && !this.skipping
  }

  private isNumberEnd(): boolean {
    return this.state === S.NumZero || this.state === S.NumInt || this.state === S.NumFrac ||
      this.state === S.NumExpDigits
  }

  private scan(out: Array<Scanned>): void {
    const buf = this.buf
    const n = buf.length
    while (this.pos < n) {
      if (this.skipping) {
        const nl = buf.indexOf("\n", this.pos)
        if (nl < 0) {
          this.pos = n
          return
        }
        this.pos = nl + 1
        this.skipping = false
        continue
      }
      if (this.start >= 0 && this.pos - this.start > this.maxValueLength) {
        this.fail(out, `value longer than ${this.maxValueLength} characters`)
        continue
      }
      const c = buf.charCodeAt(this.pos)
      switch (this.state) {
        case S.Top: {
          if (isWs(c)) {
            this.pos++
            break
          }
          this.start = this.pos
          this.members = undefined
          this.state = S.Value
          break
        }
        case S.Value:
        case S.ArrayFirst: {
          if (isWs(c)) {
            this.pos++
            break
          }
          if (this.state === S.ArrayFirst && c === CLOSE_ARRAY) {
            this.stack.pop()
            this.pos++
            this.valueEnded(out, this.pos)
            break
          }
          this.beginValue(out, c)
          break
        }
        case S.ObjectFirst:
        case S.Key: {
          if (isWs(c)) {
            this.pos++
            break
          }
          if (this.state === S.ObjectFirst && c === CLOSE_OBJECT) {
            this.stack.pop()
            this.pos++
            this.valueEnded(out, this.pos)
            break
          }
          if (c !== QUOTE) {
            this.fail(out, "expected an object key")
            break
          }
          this.stringIsKey = true
          this.keyStart = this.pos - this.start
          this.state = S.Str
          this.pos++
          break
        }
        case S.Colon: {
          if (isWs(c)) {
            this.pos++
            break
          }
          if (c !== COLON) {
            this.fail(out, "expected ':' after an object key")
            break
          }
          this.state = S.Value
          this.pos++
          break
        }
        case S.After: {
          if (isWs(c)) {
            this.pos++
            break
          }
          const top = this.stack[this.stack.length - 1]
          if (c === COMMA) {
            this.state = top === OPEN_OBJECT ? S.Key : S.Value
            this.pos++
          } else if ((c === CLOSE_OBJECT && top === OPEN_OBJECT) || (c === CLOSE_ARRAY && top === OPEN_ARRAY)) {
            this.stack.pop()
            this.pos++
            this.valueEnded(out, this.pos)
          } else {
            this.fail(out, "expected ',' or the end of a container")
          }
          break
        }
        case S.Str: {
          // Fast path: copy over ordinary characters.
          let i = this.pos
          while (i < n) {
            const d = buf.charCodeAt(i)
            if (d === QUOTE || d === BACKSLASH || d < 0x20) break
            i++
          }
          this.pos = i
          if (i >= n) break
          const d = buf.charCodeAt(i)
          if (d < 0x20) {
            this.fail(out, "control character in a string")
          } else if (d === BACKSLASH) {
            this.state = S.StrEscape
            this.pos++
          } else {
            this.pos++
            if (this.stringIsKey) {
              this.stringIsKey = false
              if (this.members !== undefined && this.stack.length === 1) {
                this.currentKey = JSON.parse(buf.slice(this.start + this.keyStart, this.pos)) as string
              }
              this.state = S.Colon
            } else {
              this.valueEnded(out, this.pos)
            }
          }
          break
        }
        case S.StrEscape: {
          if (c === 0x75 /* u */) {
            this.hexLeft = 4
            this.state = S.StrHex
          } else if (
            c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 ||
            c === 0x74
          ) {
            this.state = S.Str
          } else {
            this.fail(out, "invalid escape in a string")
            break
          }
          this.pos++
          break
        }
        case S.StrHex: {
          if (!isHex(c)) {
            this.fail(out, "invalid \\u escape in a string")
            break
          }
          this.pos++
          if (--this.hexLeft === 0) this.state = S.Str
          break
        }
        case S.Literal: {
          if (c !== this.literal.charCodeAt(this.literalIndex)) {
            this.fail(out, "invalid literal")
            break
          }
          this.pos++
          if (++this.literalIndex === this.literal.length) this.valueEnded(out, this.pos)
          break
        }
        case S.NumMinus: {
          if (c === 0x30) {
            this.state = S.NumZero
            this.pos++
          } else if (isDigit(c)) {
            this.state = S.NumInt
            this.pos++
          } else this.fail(out, "invalid number")
          break
        }
        case S.NumZero:
        case S.NumInt: {
          if (this.state === S.NumInt && isDigit(c)) {
            this.pos++
          } else if (c === 0x2e /* . */) {
            this.state = S.NumDot
            this.pos++
          } else if (c === 0x65 || c === 0x45) {
            this.state = S.NumExp
            this.pos++
          } else this.numberEnded(out, c)
          break
        }
        case S.NumDot: {
          if (isDigit(c)) {
            this.state = S.NumFrac
            this.pos++
          } else this.fail(out, "invalid number")
          break
        }
        case S.NumFrac: {
          if (isDigit(c)) {
            this.pos++
          } else if (c === 0x65 || c === 0x45) {
            this.state = S.NumExp
            this.pos++
          } else this.numberEnded(out, c)
          break
        }
        case S.NumExp: {
          if (c === 0x2b || c === 0x2d) {
            this.state = S.NumExpSign
            this.pos++
          } else if (isDigit(c)) {
            this.state = S.NumExpDigits
            this.pos++
          } else this.fail(out, "invalid number")
          break
        }
        case S.NumExpSign: {
          if (isDigit(c)) {
            this.state = S.NumExpDigits
            this.pos++
          } else this.fail(out, "invalid number")
          break
        }
        case S.NumExpDigits: {
          if (isDigit(c)) this.pos++
          else this.numberEnded(out, c)
          break
        }
      }
    }
  }

  /** A number ends at a delimiter, which is then read again in the next state. */
  private numberEnded(out: Array<Scanned>, c: number): void {
    if (this.stack.length === 0 && !isWs(c)) {
      this.fail(out, "invalid character after a number")
      return
    }
    this.valueEnded(out, this.pos)
  }

  private beginValue(out: Array<Scanned>, c: number): void {
    if (this.stack.length === 1 && this.members !== undefined) {
      this.memberStart = this.pos - this.start
    }
    switch (c) {
      case OPEN_OBJECT: {
        if (this.stack.length === 0) this.members = new Map()
        this.stack.push(OPEN_OBJECT)
        this.state = S.ObjectFirst
        this.pos++
        return
      }
      case OPEN_ARRAY: {
        this.stack.push(OPEN_ARRAY)
        this.state = S.ArrayFirst
        this.pos++
        return
      }
      case QUOTE: {
        this.stringIsKey = false
        this.state = S.Str
        this.pos++
        return
      }
      case 0x74: /* t */
      case 0x66: /* f */
      case 0x6e: /* n */ {
        this.literal = c === 0x74 ? "true" : c === 0x66 ? "false" : "null"
        this.literalIndex = 1
        this.state = S.Literal
        this.pos++
        return
      }
      case 0x2d: {
        this.state = S.NumMinus
        this.pos++
        return
      }
      default: {
        if (isDigit(c)) {
          this.state = c === 0x30 ? S.NumZero : S.NumInt
          this.pos++
          return
        }
        this.fail(out, "invalid character at the start of a value")
      }
    }
  }

  /** A value ended at `end` (exclusive, index in `buf`). */
  private valueEnded(out: Array<Scanned>, end: number): void {
    if (this.stack.length === 0) {
      this.complete(out, end)
      return
    }
    if (this.stack.length === 1 && this.members !== undefined) {
      this.members.set(this.currentKey, { start: this.memberStart, end: end - this.start })
    }
    this.state = S.After
  }

  private complete(out: Array<Scanned>, end: number): void {
    out.push({ _tag: "Json", text: this.buf.slice(this.start, end), members: this.members })
    this.members = undefined
    this.start = -1
    this.state = S.Top
  }

  private fail(out: Array<Scanned>, reason: string): void {
    const from = this.start >= 0 ? this.start : this.pos
    // A value cut short by a line break, with a new line starting right here
    // (e.g. a truncated message followed by a good one): report the cut value
    // and read this line afresh instead of discarding it.
    if (this.start >= 0 && this.pos > this.start && this.atLineStart()) {
      out.push({ _tag: "Garbage", text: sample(this.buf.slice(from, this.pos).trimEnd()), reason })
      this.start = -1
      this.state = S.Top
      this.stack.length = 0
      this.members = undefined
      return
    }
    const nl = this.buf.indexOf("\n", this.pos)
    const to = nl < 0 ? this.buf.length : nl
    out.push({ _tag: "Garbage", text: sample(this.buf.slice(from, to).trimEnd()), reason })
    this.start = -1
    this.state = S.Top
    this.stack.length = 0
    this.members = undefined
    if (nl < 0) {
      this.pos = this.buf.length
      this.skipping = true
    } else {
      this.pos = nl + 1
    }
  }

  /** True when only whitespace separates `pos` from a preceding line break inside the current value. */
  private atLineStart(): boolean {
    for (let i = this.pos - 1; i > this.start; i--) {
      const c = this.buf.charCodeAt(i)
      if (c === NEWLINE) return true
      if (!isWs(c)) return false
    }
    return false
  }
}

/** Splits a complete text into values (convenience for tests and one-shot parsing). */
export const splitAll = (text: string): Array<Scanned> => {
  const splitter = new JsonSplitter()
  return [...splitter.feed(text), ...splitter.end()]
}

const NEWLINE_CHAR = String.fromCharCode(NEWLINE)

/** The raw text of one member of a scanned object, if present. */
export const memberText = (value: ScannedJson, key: string): string | undefined => {
  const span = value.members?.get(key)
  return span === undefined ? undefined : value.text.slice(span.start, span.end)
}

const parseText = (text: string): unknown => JSON.parse(text) as unknown

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

// ---------------------------------------------------------------------------
// Message ids
// ---------------------------------------------------------------------------

/** Largest unsigned 64-bit value. */
export const MAX_U64 = (1n << 64n) - 1n

/** A parsed `machina.<client>.<sequence>` id. */
export interface QmpMessageId {
  readonly client: bigint
  readonly sequence: bigint
}

const ID_PATTERN = /^machina\.(\d+)\.(\d+)/

/** `machina.<client>.<sequence>` (decimal). */
export const formatMessageId = (client: bigint, sequence: bigint | number): string =>
  `machina.${client.toString()}.${BigInt(sequence).toString()}`

/**
 * Parses a reply id with the prefix pattern `^machina\.(\d+)\.(\d+)` (not
 * end-anchored); both numbers must fit an unsigned 64-bit integer. Non-string
 * or non-matching ids give `None` (another client's format).
 */
export const parseMessageId = (id: unknown): Option.Option<QmpMessageId> => {
  if (typeof id !== "string") return Option.none()
  const m = ID_PATTERN.exec(id)
  if (m === null) return Option.none()
  const client = BigInt(m[1]!)
  const sequence = BigInt(m[2]!)
  if (client > MAX_U64 || sequence > MAX_U64) return Option.none()
  return Option.some({ client, sequence })
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * Renders a QMP error object: `<class> error: <desc>`, just the class or just
 * the description when the other is empty, else `unspecified qmp error`.
 */
/** What `shutdown` says of a machine whose QEMU has already exited (`how`: see programs/Occupancy.ts `qemuExited`). */
export const exitedLine = (how: string): string => `QEMU has already exited (${how}). Shutdown complete.`

export const renderQmpError = (errorClass: string, desc: string): string =>
  errorClass !== "" && desc !== ""
    ? `${errorClass} error: ${desc}`
    : errorClass !== ""
    ? errorClass
    : desc !== ""
    ? desc
    : "unspecified qmp error"

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

/** QEMU's event timestamp. */
export interface QmpTimestamp {
  readonly seconds: number
  readonly microseconds: number
}

/** An asynchronous event. `data` is the raw JSON text as received, `""` when absent. */
export interface QmpEvent {
  readonly event: string
  readonly data: string
  readonly timestamp: QmpTimestamp | undefined
}

/** The error object of a failed reply. */
export interface QmpErrorInfo {
  readonly errorClass: string
  readonly desc: string
}

export type QmpMessage =
  | { readonly _tag: "Event"; readonly event: QmpEvent }
  | {
    readonly _tag: "Reply"
    /** `None` for a missing, non-string or foreign id. */
    readonly id: Option.Option<QmpMessageId>
    /** Present when the reply carries an error with a non-empty class or description. */
    readonly error: QmpErrorInfo | undefined
    /** Raw text of `return`, `undefined` when absent. */
    readonly returnRaw: string | undefined
  }
  /** A JSON object that is neither an event nor a reply: ignored. */
  | { readonly _tag: "Other" }
  /** Not decodable as a message (garbage, not an object, wrong member types). */
  | { readonly _tag: "Invalid"; readonly text: string; readonly reason: string }

const invalid = (text: string, reason: string): QmpMessage => ({ _tag: "Invalid", text: sample(text), reason })

const decodeTimestamp = (u: unknown): QmpTimestamp | undefined =>
  isRecord(u) && typeof u["seconds"] === "number" && typeof u["microseconds"] === "number"
    ? { seconds: u["seconds"], microseconds: u["microseconds"] }
    : undefined

/**
 * Classifies a scanned value (`qmp.md` §6): an object with `event` is an
 * event; else one with `return` or `error` is a reply; other objects are
 * ignored; anything else is invalid.
 */
export const classify = (scanned: Scanned): QmpMessage => {
  if (scanned._tag === "Garbage") return invalid(scanned.text, scanned.reason)
  if (scanned.members === undefined) return invalid(scanned.text, "not a JSON object")
  const eventText = memberText(scanned, "event")
  if (eventText !== undefined) {
    const name = parseText(eventText)
    if (typeof name !== "string") return invalid(scanned.text, "event name is not a string")
    const tsText = memberText(scanned, "timestamp")
    return {
      _tag: "Event",
      event: {
        event: name,
        data: memberText(scanned, "data") ?? "",
        timestamp: tsText === undefined ? undefined : decodeTimestamp(parseText(tsText))
      }
    }
  }
  const returnRaw = memberText(scanned, "return")
  const errorText = memberText(scanned, "error")
  if (returnRaw === undefined && errorText === undefined) return { _tag: "Other" }
  let error: QmpErrorInfo | undefined = undefined
  if (errorText !== undefined) {
    const e = parseText(errorText)
    if (e !== null) {
      if (!isRecord(e)) return invalid(scanned.text, "error is not an object")
      const errorClass = e["class"] ?? ""
      const desc = e["desc"] ?? ""
      if (typeof errorClass !== "string" || typeof desc !== "string") {
        return invalid(scanned.text, "error class or desc is not a string")
      }
      if (errorClass !== "" || desc !== "") error = { errorClass, desc }
    }
  }
  const idText = memberText(scanned, "id")
  return {
    _tag: "Reply",
    id: idText === undefined ? Option.none() : parseMessageId(parseText(idText)),
    error,
    returnRaw
  }
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/**
 * A request line: compact JSON with keys `execute`, `arguments` (only when
 * given), `id`, terminated by `\n`. Fails when the arguments cannot be
 * serialised (bigint, cycles).
 */
export const encodeCommand = (
  command: string,
  args: Readonly<Record<string, unknown>> | undefined,
  id: string
): Either.Either<string, string> => {
  try {
    const message = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id }
    return Either.right(JSON.stringify(message) + NEWLINE_CHAR)
  } catch (e) {
    return Either.left(`failed to marshal arguments for ${command}: ${e instanceof Error ? e.message : String(e)}`)
  }
}

// ---------------------------------------------------------------------------
// Greeting
// ---------------------------------------------------------------------------

export interface QmpVersion {
  readonly major: number
  readonly minor: number
  readonly micro: number
  readonly package: string
}

export interface QmpGreeting {
  readonly version: QmpVersion
  readonly capabilities: ReadonlyArray<string>
}

const num = (u: unknown): number => (typeof u === "number" && Number.isFinite(u) ? u : 0)

/**
 * Decodes the greeting `{"QMP": {"version": {"qemu": {...}, "package": ...}, "capabilities": [...]}}`.
 * Any JSON object is accepted (missing or mistyped fields stay zero / empty);
 * anything else is an error.
 */
export const decodeGreeting = (scanned: Scanned): Either.Either<QmpGreeting, string> => {
  if (scanned._tag === "Garbage") return Either.left(`invalid greeting: ${scanned.reason}: ${scanned.text}`)
  if (scanned.members === undefined) return Either.left(`invalid greeting: not a JSON object: ${sample(scanned.text)}`)
  const root = parseText(scanned.text) as Record<string, unknown>
  const qmp = isRecord(root["QMP"]) ? root["QMP"] : {}
  const version = isRecord(qmp["version"]) ? qmp["version"] : {}
  const qemu = isRecord(version["qemu"]) ? version["qemu"] : {}
  const caps = Array.isArray(qmp["capabilities"]) ? qmp["capabilities"] : []
  return Either.right({
    version: {
      major: num(qemu["major"]),
      minor: num(qemu["minor"]),
      micro: num(qemu["micro"]),
      package: typeof version["package"] === "string" ? version["package"] : ""
    },
    capabilities: caps.filter((c): c is string => typeof c === "string")
  })
}

/** `qemu <major>.<minor>.<micro> / <package>` */
export const formatVersion = (version: QmpVersion): string =>
  `qemu ${version.major}.${version.minor}.${version.micro} / ${version.package}`

/** `[oob]`: bracketed, space-separated. */
export const formatCapabilities = (capabilities: ReadonlyArray<string>): string => `[${capabilities.join(" ")}]`

/** `Connected to <machine> (<version>, capabilities: [<caps>])` (observe's banner). */
export const formatConnectedBanner = (machine: string, greeting: QmpGreeting): string =>
  `Connected to ${machine} (${formatVersion(greeting.version)}, capabilities: ${
    formatCapabilities(greeting.capabilities)
  })`

// ---------------------------------------------------------------------------
// Event lines
// ---------------------------------------------------------------------------

/** `<machine>: <EVENT>` or `<machine>: <EVENT>: <raw data JSON exactly as received>`. */
export const formatEventLine = (machine: string, event: QmpEvent): string =>
  event.data === "" ? `${machine}: ${event.event}` : `${machine}: ${event.event}: ${event.data}`

/**
 * One JSON object on one line (Output.ts `ObserveEvent`):
 * `{"name":<machine>,"event":…,"data":<data>,"timestamp":"<ISO 8601>"}`, `data` and `timestamp`
 * omitted when the event has none. `data` keeps QEMU's key order and number spelling (compacted
 * to one line).
 */
export const formatEventJsonLine = (machine: string, event: QmpEvent): string => {
  const data = event.data === "" ? "" : `,"data":${compactJson(event.data)}`
  const iso = event.timestamp === undefined ? undefined : isoFromSeconds(event.timestamp.seconds, event.timestamp.microseconds)
  const ts = iso === undefined ? "" : `,"timestamp":${JSON.stringify(iso)}`
  return `{"name":${JSON.stringify(machine)},"event":${JSON.stringify(event.event)}${data}${ts}}`
}

// ---------------------------------------------------------------------------
// Re-indentation (Go json.Indent) and compaction
// ---------------------------------------------------------------------------

/** Checks that `text` holds exactly one JSON value (surrounding whitespace allowed). */
const validateSingle = (text: string): Either.Either<{ readonly start: number; readonly end: number }, string> => {
  const parts = splitAll(text)
  if (parts.length !== 1) {
    return Either.left(parts.length === 0 ? "unexpected end of JSON input" : "invalid JSON: more than one value")
  }
  const only = parts[0]!
  if (only._tag === "Garbage") return Either.left(`invalid JSON: ${only.reason}`)
  let start = 0
  while (start < text.length && isWs(text.charCodeAt(start))) start++
  return Either.right({ start, end: start + only.text.length })
}

/**
 * Equivalent of Go's `json.Indent(dst, src, prefix, indent)`: operates on
 * text, keeps key order, number spelling and string escapes, one element per
 * line, `": "` after keys, empty `[]` / `{}` stay compact, leading whitespace
 * dropped, trailing whitespace kept. Invalid JSON is an error.
 */
export const indentJson = (src: string, indent = "\t", prefix = ""): Either.Either<string, string> => {
  const checked = validateSingle(src)
  if (Either.isLeft(checked)) return Either.left(checked.left)
  const { end, start } = checked.right
  let out = ""
  let depth = 0
  let needIndent = false
  const newline = (d: number) => {
    out += "\n" + prefix + indent.repeat(d)
  }
  let i = start
  while (i < end) {
    const c = src.charCodeAt(i)
    if (isWs(c)) {
      i++
      continue
    }
    if (needIndent && c !== CLOSE_OBJECT && c !== CLOSE_ARRAY) {
      needIndent = false
      depth++
      newline(depth)
    }
    switch (c) {
      case OPEN_OBJECT:
      case OPEN_ARRAY: {
        needIndent = true
        out += src[i]
        i++
        break
      }
      case COMMA: {
        out += ","
        newline(depth)
        i++
        break
      }
      case COLON: {
        out += ": "
        i++
        break
      }
      case CLOSE_OBJECT:
      case CLOSE_ARRAY: {
        if (needIndent) needIndent = false
        else {
          depth--
          newline(depth)
        }
        out += src[i]
        i++
        break
      }
      case QUOTE: {
        const j = stringEnd(src, i)
        out += src.slice(i, j)
        i = j
        break
      }
      default: {
        let j = i + 1
        while (j < end && !isDelimiter(src.charCodeAt(j))) j++
        out += src.slice(i, j)
        i = j
      }
    }
  }
  return Either.right(out + src.slice(end))
}

const isDelimiter = (c: number): boolean =>
  isWs(c) || c === COMMA || c === COLON || c === CLOSE_ARRAY || c === CLOSE_OBJECT || c === OPEN_ARRAY ||
  c === OPEN_OBJECT || c === QUOTE

/** Index just after the string starting at `i` (a validated string). */
const stringEnd = (src: string, i: number): number => {
  let j = i + 1
  while (j < src.length) {
    const c = src.charCodeAt(j)
    if (c === BACKSLASH) j += 2
    else if (c === QUOTE) return j + 1
    else j++
  }
  return j
}

/** Removes insignificant whitespace from a JSON text (strings untouched; no validation). */
export const compactJson = (src: string): string => {
  let out = ""
  let i = 0
  let from = 0
  while (i < src.length) {
    const c = src.charCodeAt(i)
    if (c === QUOTE) {
      i = stringEnd(src, i)
    } else if (isWs(c)) {
      out += src.slice(from, i)
      while (i < src.length && isWs(src.charCodeAt(i))) i++
      from = i
    } else i++
  }
  return out + src.slice(from)
}

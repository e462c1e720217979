import { LazyClass, LazyTaggedError } from "./LazyTaggedError.js"

/**
 * One problem found in the configuration: the file it is in, the JSON path inside that file
 * (`$` is the document root) and what was expected. Rendered as `<file>: <path>: <message>`.
 */
export class ConfigIssue extends LazyClass<ConfigIssue>("ConfigIssue")((S) => ({
  file: S.String,
  path: S.String,
  message: S.String
})) {
  override toString(): string {
    return `${this.file}: ${this.path}: ${this.message}`
  }
}

export const issue = (file: string, path: string, message: string): ConfigIssue =>
  new ConfigIssue({ file, path, message })

/**
 * Something questionable that does not stop machina: an unknown key, data after the JSON value,
 * a collision between machines that may never run together, a machine without a UUID. Pure
 * values, returned beside what was decoded, merged or generated; commands print each once on
 * stderr (`<file>: <path>: <message>`) and `check` lists them apart from errors.
 *
 * A warning about no file in particular has `file` "" and renders as `machina: warning: <message>`.
 */
export class ConfigWarning extends LazyClass<ConfigWarning>("ConfigWarning")((S) => ({
  file: S.String,
  path: S.String,
  message: S.String
})) {
  override toString(): string {
    return this.file === "" ? `machina: warning: ${this.message}` : `${this.file}: ${this.path}: ${this.message}`
  }
}

export const warning = (file: string, path: string, message: string): ConfigWarning =>
  new ConfigWarning({ file, path, message })

/** A warning about no file in particular (`machina: warning: <message>`). */
export const generalWarning = (message: string): ConfigWarning => new ConfigWarning({ file: "", path: "", message })

export const warningAt = (origin: Origin, message: string): ConfigWarning => warning(origin.file, origin.path, message)

/** The same problem as a warning (e.g. a collision `generate` reports but does not refuse). */
export const asWarning = (i: ConfigIssue): ConfigWarning => warning(i.file, i.path, i.message)

/** A key written `.key` in a JSON path; any other key is written `["key"]`. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** Renders a JSON path from property keys and array indexes: `$.volumes[0].name`. */
export const jsonPath = (segments: ReadonlyArray<PropertyKey>): string => {
  let out = "$"
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`
    else {
      const key = String(segment)
      out += PLAIN_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
    }
  }
  return out
}

/** Where a merged value came from: a file and a JSON path inside it. */
export interface Origin {
  readonly file: string
  readonly path: string
}

export const at = (origin: Origin, ...segments: ReadonlyArray<PropertyKey>): Origin => ({
  file: origin.file,
  path: origin.path + jsonPath(segments).slice(1)
})

export const issueAt = (origin: Origin, message: string): ConfigIssue =>
  issue(origin.file, origin.path, message)

/** The configuration is invalid: every problem found, not just the first. */
export class ConfigInvalidError extends LazyTaggedError<ConfigInvalidError>()("ConfigInvalidError", (S) => ({
  issues: S.Array(ConfigIssue)
})) {
  override get message(): string {
    return this.issues.map((i) => i.toString()).join("\n")
  }
}

export const invalid = (issues: ReadonlyArray<ConfigIssue>): ConfigInvalidError =>
  new ConfigInvalidError({ issues })

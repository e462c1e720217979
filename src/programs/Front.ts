/**
 * The first look at the command line, before @effect/cli parses it: global options anywhere (in
 * any order, before or after the command), `help`, `--help` and `--version` at any depth, and
 * usage errors that name the word at fault with a suggestion (`unknown command "lsit"; did you
 * mean "list"?`, unknown options, bad choices). What is left is handed to @effect/cli in the one
 * order it understands: `[--config-dir DIR] COMMAND... OPTIONS... ARGUMENTS...`. Pure.
 */
import { COMPLETE_COMMAND, type CommandSpec, GLOBAL_OPTIONS, type OptionSpec, ROOT, suggest } from "./Help.js"

export interface Globals {
  readonly configDir?: string
  readonly logLevel?: string
  readonly completions?: string
  readonly wizard: boolean
  readonly help: boolean
  readonly version: boolean
}

export type Front =
  | { readonly _tag: "Help"; readonly path: ReadonlyArray<string> }
  | { readonly _tag: "Version" }
  /** `machina __complete WORD...`: the completion scripts asking for candidates (Completion.ts). */
  | { readonly _tag: "Complete"; readonly words: ReadonlyArray<string> }
  | { readonly _tag: "Usage"; readonly message: string; readonly path: ReadonlyArray<string> }
  | {
    readonly _tag: "Run"
    readonly path: ReadonlyArray<string>
    /** Arguments for @effect/cli (without node and script). */
    readonly args: ReadonlyArray<string>
    readonly globals: Globals
  }

const usage = (message: string, path: ReadonlyArray<string>): Front => ({ _tag: "Usage", message, path })

const findOption = (options: ReadonlyArray<OptionSpec>, name: string) => options.find((o) => o.names.includes(name))

const commandWords = (spec: CommandSpec) => (spec.subcommands ?? []).map((c) => c.name)

const unknownCommand = (word: string, path: ReadonlyArray<string>, spec: CommandSpec): Front => {
  const names = commandWords(spec)
  const full = [...path, word].join(" ")
  const guess = suggest(word, names)
  if (guess !== undefined) return usage(`unknown command "${full}"; did you mean "${[...path, guess].join(" ")}"?`, path)
  return usage(`unknown command "${full}"; ${path.length === 0 ? "commands are listed by 'machina --help'" : `expected one of: ${names.join(", ")}`}`, path)
}

const unknownOption = (name: string, path: ReadonlyArray<string>, spec: CommandSpec): Front => {
  const known = [...spec.options, ...GLOBAL_OPTIONS].flatMap((o) => o.names.filter((n) => n.startsWith("--")))
  const guess = suggest(name.replace(/^-+/, ""), known.map((n) => n.slice(2)))
  const where = path.length === 0 ? "machina" : `machina ${path.join(" ")}`
  return usage(`unknown option "${name}" for "${where}"${guess !== undefined ? `; did you mean "--${guess}"?` : ""}`, path)
}

/** Parses the arguments after the program name. */
export const parse = (argv: ReadonlyArray<string>): Front => {
  if (argv[0] === COMPLETE_COMMAND) return { _tag: "Complete", words: argv.slice(1) }
  const globals: { -readonly [K in keyof Globals]: Globals[K] } = { wizard: false, help: false, version: false }
  const path: Array<string> = []
  const options: Array<string> = []
  const positional: Array<string> = []
  let spec: CommandSpec = ROOT
  let positionals = 0
  let helpWords: Array<string> | undefined
  let endOfOptions = false

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (endOfOptions || !token.startsWith("-") || token === "-") {
      if (helpWords !== undefined) {
        helpWords.push(token)
        continue
      }
      if (spec.subcommands !== undefined && positionals === 0) {
        const sub = spec.subcommands.find((c) => c.name === token)
        if (sub === undefined) return unknownCommand(token, path, spec)
        if (path.length === 0 && sub.name === "help") {
          helpWords = []
          continue
        }
        path.push(sub.name)
        spec = sub
        continue
      }
      positionals++
      positional.push(token)
      continue
    }
    if (token === "--") {
      endOfOptions = true
      continue
    }
    const eq = token.indexOf("=")
    const name = token.startsWith("--") && eq > 0 ? token.slice(0, eq) : token
    const inline = token.startsWith("--") && eq > 0 ? token.slice(eq + 1) : undefined
    const option = findOption(spec === ROOT ? [] : spec.options, name) ?? findOption(GLOBAL_OPTIONS, name)
    if (option === undefined) return unknownOption(name, path, spec)
    const long = option.names[0]
    let value: string | undefined
    if (option.value !== undefined) {
      value = inline ?? argv[++i]
      if (value === undefined) return usage(`option ${long} needs a value (${option.value})`, path)
      if (option.choices !== undefined && !option.choices.includes(value)) {
        return usage(`invalid value "${value}" for ${long}; expected one of: ${option.choices.join(", ")}`, path)
      }
    } else if (inline !== undefined) {
      return usage(`option ${long} takes no value`, path)
    }
    if (findOption(GLOBAL_OPTIONS, long) !== undefined && findOption(spec === ROOT ? [] : spec.options, long) === undefined) {
      switch (long) {
        case "--config-dir":
          globals.configDir = value!
          break
        case "--log-level":
          globals.logLevel = value!
          break
        case "--completions":
          globals.completions = value!
          break
        case "--wizard":
          globals.wizard = true
          break
        case "--version":
          globals.version = true
          break
        case "--help":
          globals.help = true
          break
      }
      continue
    }
    options.push(long)
    if (value !== undefined) options.push(value)
  }

  if (helpWords !== undefined) {
    let at: CommandSpec = ROOT
    const helpPath: Array<string> = []
    for (const word of helpWords) {
      const sub = at.subcommands?.find((c) => c.name === word)
      if (sub === undefined) return at.subcommands === undefined ? usage(`"machina ${helpPath.join(" ")}" has no subcommands`, helpPath) : unknownCommand(word, helpPath, at)
      helpPath.push(word)
      at = sub
    }
    return { _tag: "Help", path: helpPath }
  }
  if (globals.help) return { _tag: "Help", path }
  if (globals.version) return { _tag: "Version" }
  if (globals.completions !== undefined || globals.wizard) {
    const args: Array<string> = []
    if (globals.configDir !== undefined) args.push("--config-dir", globals.configDir)
    if (globals.completions !== undefined) args.push("--completions", globals.completions)
    if (globals.wizard) args.push("--wizard")
    return { _tag: "Run", path, args, globals }
  }
  if (path.length === 0) return { _tag: "Help", path }
  if (spec.subcommands !== undefined) {
    return usage(`"machina ${path.join(" ")}" needs a command: ${commandWords(spec).join(", ")}`, path)
  }
  // What @effect/cli would reject, said the same way everywhere (and without parsing twice).
  const where = `machina ${path.join(" ")}`
  const required = spec.args.filter((a) => !a.optional)
  if (positional.length < required.length) {
    return usage(`"${where}" needs ${required.map((a) => a.name + (a.repeated ? "..." : "")).join(" ")}`, path)
  }
  if (!spec.args.some((a) => a.repeated) && positional.length > spec.args.length) {
    return usage(`unexpected argument "${positional[spec.args.length]}" for "${where}"`, path)
  }
  for (let i = 0; i < options.length; i++) {
    const option = findOption(spec.options, options[i]!)
    if (option?.value === undefined) continue
    const value = options[++i]!
    const problem = option.check?.(value)
    if (problem !== undefined) return usage(`${option.names[0]}: ${problem}`, path)
  }
  const args: Array<string> = []
  if (globals.configDir !== undefined) args.push("--config-dir", globals.configDir)
  args.push(...path, ...options, ...positional)
  return { _tag: "Run", path, args, globals }
}

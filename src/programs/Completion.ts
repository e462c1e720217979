/**
 * Shell completion. The scripts for bash, zsh and fish are small: each hands the words of the line
 * (after `machina`, up to the word being completed) to `machina __complete WORD...`, which prints
 * the candidates one per line. What completes where comes from the Help.ts table (commands,
 * options, choices, argument kinds), names from the configuration directory (the line's
 * `--config-dir`, else MACHINA_CONFIG_DIR, else the default). A line `:file` or `:directory`
 * asks the shell to complete paths itself. `__complete` is a protocol between these scripts and
 * machina, not a command: it is not in the help or the parser's tree, and it never fails noisily
 * (a bad configuration only means no names).
 *
 * `analyse` is pure; `candidates` reads the configuration.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { compose } from "../domain/Merge.js"
import type { ConfigStoreShape } from "../services/ConfigStore.js"
import { type ArgSpec, type CommandSpec, COMPLETE_COMMAND, type CompletionKind, GLOBAL_OPTIONS, type OptionSpec, ROOT } from "./Help.js"

export { COMPLETE_COMMAND }

/** Directives: the shell completes paths itself. */
export const FILE_DIRECTIVE = ":file"
export const DIRECTORY_DIRECTIVE = ":directory"

/**
 * A word as the shell hands it over, before its own expansion: `~/x` and `'/etc/my machina'`
 * mean what they will mean when the command runs (only the forms a directory is written in).
 */
export const shellWord = (word: string, home: string | undefined = process.env["HOME"]): string => {
  const quoted = /^(['"])(.*)\1$/.exec(word)
  const unquoted = quoted !== null ? quoted[2]! : word.replace(/\\(.)/g, "$1")
  return home !== undefined && (unquoted === "~" || unquoted.startsWith("~/")) ? home + unquoted.slice(1) : unquoted
}

/** What to offer for the word being completed. */
export interface Request {
  /** The word being completed (for `--opt=VALUE`, the whole word). */
  readonly current: string
  /** Candidates known without reading anything, already with `prefix`. */
  readonly words: ReadonlyArray<string>
  /** What a command or option is, shown beside it by zsh and fish. */
  readonly descriptions: ReadonlyMap<string, string>
  /** Names to read from the configuration (none for `none`). */
  readonly kind: CompletionKind
  /** Put before every candidate: `--opt=` when completing `--opt=VALUE`. */
  readonly prefix: string
  /** Words already given as arguments (not offered again for repeated machine arguments). */
  readonly given: ReadonlyArray<string>
  /** The line's `--config-dir`, if any. */
  readonly configDir: string | undefined
}

const findOption = (options: ReadonlyArray<OptionSpec>, name: string) => options.find((o) => o.names.includes(name))

/** What completes an argument: its declared kind, else what its name says. */
export const argKind = (arg: ArgSpec): CompletionKind => {
  if (arg.complete !== undefined) return arg.complete
  switch (arg.name) {
    case "MACHINE":
      return "machine"
    case "TARGET":
      return "connection"
    case "TAG":
      return "tag"
    case "NETWORK":
      return "network"
    case "COMMAND":
      return "command"
    default:
      return "none"
  }
}

/** What completes an option's value: its declared kind, else its choices, else its placeholder. */
export const optionKind = (option: OptionSpec): CompletionKind => {
  if (option.complete !== undefined) return option.complete
  if (option.choices !== undefined) return "none"
  switch (option.value) {
    case "DIR":
      return "directory"
    case "PATH":
    case "FILE":
      return "file"
    case "TAG":
      return "tag"
    case "NETWORK":
      return "network"
    case "MACHINE":
      return "machine"
    default:
      return "none"
  }
}

/** The first sentence of a description, without its full stop. */
const brief = (text: string): string => text.split(/(?<=\.)\s+(?=[A-Z])/)[0]!.replace(/\.$/, "")

const optionNames = (spec: CommandSpec, root: CommandSpec, current: string): Array<readonly [string, string]> => {
  const options = [...(spec === root ? [] : spec.options), ...GLOBAL_OPTIONS]
  const long = options.map((o) => [o.names[0], brief(o.description)] as const)
  const short = current.startsWith("--") ? [] : options.flatMap((o) => o.names.slice(1).map((n) => [n, brief(o.description)] as const))
  return [...new Map([...long, ...short])]
}

const commandNames = (specs: ReadonlyArray<CommandSpec> | undefined): Array<readonly [string, string]> =>
  (specs ?? []).map((c) => [c.name, brief(c.summary)] as const)

/**
 * Works out what completes the last word of `words` (the words after `machina`; the last one is
 * being completed and may be empty), following the parser's rules (Front.ts): global options
 * anywhere, `--opt VALUE` and `--opt=VALUE`, `--` ends the options, `help COMMAND...`.
 */
export const analyse = (words: ReadonlyArray<string>, root: CommandSpec = ROOT): Request => {
  const current = words.length === 0 ? "" : words[words.length - 1]!
  const before = words.slice(0, -1)
  let spec = root
  let configDir: string | undefined
  let pending: OptionSpec | undefined
  let endOfOptions = false
  let helpPath: Array<string> | undefined
  const given: Array<string> = []
  for (const token of before) {
    if (pending !== undefined) {
      if (pending.names[0] === "--config-dir") configDir = shellWord(token)
      pending = undefined
      continue
    }
    if (!endOfOptions && token === "--") {
      endOfOptions = true
      continue
    }
    if (!endOfOptions && token.startsWith("-") && token !== "-") {
      const eq = token.indexOf("=")
      const name = token.startsWith("--") && eq > 0 ? token.slice(0, eq) : token
      const option = findOption(spec === root ? [] : spec.options, name) ?? findOption(GLOBAL_OPTIONS, name)
      if (option?.value !== undefined) {
        if (eq > 0 && token.startsWith("--")) {
          if (option.names[0] === "--config-dir") configDir = shellWord(token.slice(eq + 1))
        } else pending = option
      }
      continue
    }
    if (helpPath !== undefined) {
      helpPath.push(token)
      continue
    }
    if (spec.subcommands !== undefined && given.length === 0) {
      const sub = spec.subcommands.find((c) => c.name === token)
      if (sub === undefined) return { current, words: [], descriptions: new Map(), kind: "none", prefix: "", given, configDir }
      if (spec === root && sub.name === "help") helpPath = []
      else spec = sub
      continue
    }
    given.push(token)
  }
  const none = (words: ReadonlyArray<string | readonly [string, string]>, kind: CompletionKind = "none", prefix = ""): Request => ({
    current,
    words: words.map((w) => prefix + (typeof w === "string" ? w : w[0])),
    descriptions: new Map(words.flatMap((w) => (typeof w === "string" ? [] : [[prefix + w[0], w[1]] as const]))),
    kind,
    prefix,
    given,
    configDir
  })
  // The value of an option: after `--opt`, or in `--opt=VALUE`.
  const valueOf = (option: OptionSpec | undefined, prefix: string): Request =>
    option === undefined ? none([]) : none([...(option.choices ?? []), ...(option.values ?? [])], optionKind(option), prefix)
  if (pending !== undefined) return valueOf(pending, "")
  if (!endOfOptions && current.startsWith("-")) {
    const eq = current.indexOf("=")
    if (current.startsWith("--") && eq > 0) {
      const name = current.slice(0, eq)
      const option = findOption(spec === root ? [] : spec.options, name) ?? findOption(GLOBAL_OPTIONS, name)
      return valueOf(option?.value === undefined ? undefined : option, current.slice(0, eq + 1))
    }
    return none(optionNames(spec, root, current))
  }
  if (helpPath !== undefined) {
    let at: CommandSpec | undefined = root
    for (const word of helpPath) at = at?.subcommands?.find((c) => c.name === word)
    return none(commandNames(at?.subcommands))
  }
  if (spec.subcommands !== undefined && given.length === 0) return none(commandNames(spec.subcommands))
  const arg = spec.args[Math.min(given.length, spec.args.length - 1)]
  if (arg === undefined || given.length >= spec.args.length && arg.repeated !== true) return none([])
  const kind = argKind(arg)
  // `help` is the one command whose arguments are command names (handled above); elsewhere a
  // "command" argument completes the top-level commands.
  return none([...(arg.values ?? []), ...(kind === "command" ? commandNames(root.subcommands) : [])], kind === "command" ? "none" : kind)
}

/** Where the names come from: the configuration directory, read leniently. */
export interface NameSource {
  readonly machines: Effect.Effect<ReadonlyArray<string>>
  readonly tags: Effect.Effect<ReadonlyArray<string>>
  readonly networks: Effect.Effect<ReadonlyArray<string>>
  /** `MACHINE.CONNECTION` for each named connection of the machine (merged with its tags). */
  readonly connections: (machine: string) => Effect.Effect<ReadonlyArray<string>>
}

/** A NameSource over a ConfigStore: anything that fails to load gives no names. */
export const storeSource = (store: ConfigStoreShape): NameSource => {
  const host = Effect.either(store.loadHost)
  return {
    machines: Effect.orElseSucceed(store.listMachines, () => []),
    tags: Effect.map(host, (h) => (Either.isRight(h) ? Object.keys(h.right.config.tag) : [])),
    networks: Effect.map(host, (h) => (Either.isRight(h) ? Object.keys(h.right.config.network) : [])),
    connections: (machine) =>
      Effect.gen(function*() {
        const h = yield* host
        const m = yield* Effect.either(store.loadMachine(machine))
        if (Either.isLeft(h) || Either.isLeft(m)) return []
        const c = compose(h.right, m.right)
        if (Either.isLeft(c)) return []
        return c.right.definition.connections.filter((x) => x.name !== "").map((x) => `${machine}.${x.name}`)
      })
  }
}

/**
 * The lines for `request`: the candidates starting with the word being completed, each once, in
 * order, a command's or option's description after a tab; then a path directive when the shell
 * should complete paths too.
 */
export const candidates = (request: Request, source: NameSource): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    const { current, prefix } = request
    const value = current.slice(prefix.length)
    let names: ReadonlyArray<string> = []
    switch (request.kind) {
      case "machine":
        names = (yield* source.machines).filter((m) => !request.given.includes(m))
        break
      case "tag":
        names = yield* source.tags
        break
      case "network":
        names = yield* source.networks
        break
      case "connection": {
        const machines = yield* source.machines
        // Connections of the machine already typed in full (`test-vm`, `test-vm.l`): loading
        // every machine for each keystroke would be slow on a big host.
        const typed = machines.filter((m) => value === m || value.startsWith(`${m}.`))
        const connections = yield* Effect.forEach(typed, source.connections)
        names = [...machines, ...connections.flat()]
        break
      }
    }
    const all = [...request.words, ...names.map((n) => prefix + n)].filter((w) => w.startsWith(current))
    const out = [...new Set(all)].map((w) => {
      const description = request.descriptions.get(w)
      return description === undefined ? w : `${w}\t${description}`
    })
    if (request.kind === "file") out.push(FILE_DIRECTIVE)
    if (request.kind === "directory") out.push(DIRECTORY_DIRECTIVE)
    return out
  })

// ---------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------

export const SHELLS = ["bash", "zsh", "fish"] as const
export type Shell = (typeof SHELLS)[number]

/** `text` as one word for bash and zsh: single quotes, a quote as `'\''`. */
const shQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`

/** `text` as one word for fish: single quotes, with `\` and `'` escaped. */
const fishQuote = (text: string): string => `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`

/**
 * The completion script for `shell`. `fallback` is the machina to run when the word typed
 * (`machina`) is not on the user's PATH: the installed one (e.g. /usr/local/bin/machina after
 * `sudo machina install --prefix /usr/local`, for a user whose PATH lacks it).
 */
export const script = (shell: Shell, fallback: string): string => {
  switch (shell) {
    case "bash":
      return `# bash completion for machina                                 -*- shell-script -*-
# Candidates come from \`machina ${COMPLETE_COMMAND} WORD...\` (commands, options, their values, and
# the names of machines, tags and connections in the configuration directory). A function, so
# bash-completion's _sudo completes \`sudo machina ...\` too.
_machina()
{
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        _get_comp_words_by_ref -n = cur words cword
    else
        words=("\${COMP_WORDS[@]}") cword=$COMP_CWORD cur=\${COMP_WORDS[COMP_CWORD]}
    fi
    local bin=\${words[0]}
    if [[ $bin != */* ]]; then
        bin=$(type -P -- "$bin" 2>/dev/null)
    fi
    [[ -n $bin && -x $bin ]] || bin=${shQuote(fallback)}
    [[ -x $bin ]] || return 0
    local line value=$cur strip=
    if [[ $cur == --*=* ]]; then
        value=\${cur#*=}
        # bash replaces only what follows the "=" when "=" breaks words.
        [[ $COMP_WORDBREAKS == *=* ]] && strip=\${cur%%=*}=
    fi
    COMPREPLY=()
    while IFS= read -r line; do
        case $line in
            ${FILE_DIRECTIVE})
                compopt -o filenames 2>/dev/null
                while IFS= read -r line; do COMPREPLY+=("\${line#"$strip"}"); done < <(compgen -f -- "$value")
                ;;
            ${DIRECTORY_DIRECTIVE})
                compopt -o filenames 2>/dev/null
                while IFS= read -r line; do COMPREPLY+=("\${line#"$strip"}"); done < <(compgen -d -- "$value")
                ;;
            '') ;;
            *) line=\${line%%$'\\t'*}; COMPREPLY+=("\${line#"$strip"}") ;;
        esac
    done < <("$bin" ${COMPLETE_COMMAND} "\${words[@]:1:cword}" 2>/dev/null </dev/null)
    return 0
}
complete -F _machina machina
`
    case "zsh":
      return `#compdef machina
# zsh completion for machina. Candidates come from \`machina ${COMPLETE_COMMAND} WORD...\` (commands,
# options, their values, and the names of machines, tags and connections in the configuration
# directory); \`sudo machina ...\` completes through _sudo.
local bin=\${words[1]} line
local -a lines found shown
local paths=
if [[ $bin != */* ]]; then
  bin=\${commands[$bin]:-}
fi
[[ -n $bin && -x $bin ]] || bin=${shQuote(fallback)}
[[ -x $bin ]] || return 1
lines=("\${(@f)$("$bin" ${COMPLETE_COMMAND} "\${(@)words[2,CURRENT]}" 2>/dev/null </dev/null)}")
for line in "\${lines[@]}"; do
  case $line in
    ${FILE_DIRECTIVE}) paths=file ;;
    ${DIRECTORY_DIRECTIVE}) paths=directory ;;
    '') ;;
    *$'\\t'*) found+=("\${line%%$'\\t'*}"); shown+=("\${line%%$'\\t'*}  -- \${line#*$'\\t'}") ;;
    *) found+=("$line"); shown+=("$line") ;;
  esac
done
local ret=1
if (( \${#found} )); then
  # One per line, with its description, when there are descriptions (commands, options).
  if [[ \${(j::)lines} == *$'\\t'* ]]; then compadd -Q -l -d shown -a found && ret=0; else compadd -Q -a found && ret=0; fi
fi
if [[ -n $paths ]]; then
  [[ $PREFIX == --*=* ]] && compset -P '*='
  if [[ $paths == directory ]]; then _files -/ && ret=0; else _files && ret=0; fi
fi
return ret
`
    case "fish":
      return `# fish completion for machina. Candidates come from \`machina ${COMPLETE_COMMAND} WORD...\` (commands,
# options, their values, and the names of machines, tags and connections in the configuration
# directory); \`sudo machina ...\` completes through fish's sudo completion.
function __machina_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l bin $tokens[1]
    if not string match -q -- '*/*' $bin
        set bin (command -s -- $bin)
    end
    if test -z "$bin"; or not test -x "$bin"
        set bin ${fishQuote(fallback)}
    end
    test -x "$bin"; or return 0
    set -l prefix ''
    set -l value $current
    if string match -q -- '--*=*' $current
        set prefix (string replace -r -- '=.*' '=' $current)
        set value (string replace -r -- '^[^=]*=' '' $current)
    end
    for line in ($bin ${COMPLETE_COMMAND} $tokens[2..-1] $current 2>/dev/null </dev/null)
        switch $line
            case ${FILE_DIRECTIVE}
                for p in (__fish_complete_path $value)
                    echo $prefix$p
                end
            case ${DIRECTORY_DIRECTIVE}
                for p in (__fish_complete_directories $value)
                    echo $prefix$p
                end
            case ''
            case '*'
                echo $line
        end
    end
end
complete -c machina -f -a '(__machina_complete)'
`
  }
}

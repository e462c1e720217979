/**
 * Writing a configuration file back in the style it was written in: the indent (tabs or N
 * spaces), whether short lists of plain values sat on one line (`"tags": ["a", "b"]`), the final
 * newline, and the order of keys (kept by the value itself: JSON.parse keeps insertion order, and
 * an edit that changes a value in place keeps its position).
 */

export interface JsonStyle {
  /** One level of indentation: "\t" or some spaces. */
  readonly indent: string
  /** Arrays of strings, numbers and booleans on one line, as the seed writes `tags`. */
  readonly inlineScalarArrays: boolean
  /** Objects holding only scalars, short enough, on one line (`{"sockets": 1, "cores": 4}`). */
  readonly inlineSmallObjects: boolean
  readonly finalNewline: boolean
}

/** The house default for new files: tabs, like the seed examples. */
export const defaultStyle: JsonStyle = { indent: "\t", inlineScalarArrays: true, inlineSmallObjects: false, finalNewline: true }

/** Reads the style of existing JSON text; the default where the text does not tell. */
export const detectStyle = (text: string): JsonStyle => {
  const indented = /\n([ \t]+)\S/.exec(text)
  let indent = defaultStyle.indent
  if (indented !== null) {
    const lead = indented[1]!
    if (lead.startsWith("\t")) indent = "\t"
    else {
      // The smallest positive indentation of any line is one level.
      let smallest = lead.length
      for (const m of text.matchAll(/\n( +)\S/g)) smallest = Math.min(smallest, m[1]!.length)
      indent = " ".repeat(Math.max(1, smallest))
    }
  }
  const hasArrays = /\[/.test(text)
  return {
    indent,
    inlineScalarArrays: hasArrays ? /\[[ \t]*("|-?\d|true|false|null)/.test(text) : defaultStyle.inlineScalarArrays,
    inlineSmallObjects: /:\s*\{[ \t]*"[^\n{}]*\}/.test(text),
    finalNewline: text === "" ? defaultStyle.finalNewline : text.endsWith("\n")
  }
}

const isScalar = (v: unknown): boolean => v === null || typeof v !== "object"

const INLINE_OBJECT_MAX = 60

/** JSON text of `value` in `style`. */
export const stringifyStyled = (value: unknown, style: JsonStyle = defaultStyle): string => {
  const render = (v: unknown, depth: number): string => {
    if (isScalar(v)) return JSON.stringify(v) ?? "null"
    const pad = style.indent.repeat(depth + 1)
    const close = style.indent.repeat(depth)
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]"
      if (style.inlineScalarArrays && v.every(isScalar)) return `[${v.map((x) => JSON.stringify(x)).join(", ")}]`
      return `[\n${v.map((x) => pad + render(x, depth + 1)).join(",\n")}\n${close}]`
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined)
    if (entries.length === 0) return "{}"
    if (style.inlineSmallObjects && depth > 0 && entries.every(([, x]) => isScalar(x))) {
      const line = `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${JSON.stringify(x)}`).join(", ")}}`
      if (line.length <= INLINE_OBJECT_MAX) return line
    }
    return `{\n${entries.map(([k, x]) => `${pad}${JSON.stringify(k)}: ${render(x, depth + 1)}`).join(",\n")}\n${close}}`
  }
  return render(value, 0) + (style.finalNewline ? "\n" : "")
}

/** `value` written in the style of `original` (an existing file's text). */
export const formatLike = (original: string, value: unknown): string => stringifyStyled(value, detectStyle(original))

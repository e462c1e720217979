/**
 * The front end of `machina ui` (Preact, bundled into dist/machina.cjs by scripts/build.mjs and
 * served as /app.js). It only shows what the server computes: every problem, merge, unit and diff
 * comes from machina's domain code through the JSON API.
 */
import { render } from "preact"
import type { ComponentChildren } from "preact"
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks"

// ---------------------------------------------------------------------------------------------
// API

interface Problem { file: string; path: string; message: string }
interface State { load: string; active: string; sub: string }
interface Row {
  name: string; file: string; description: string; tags: string[]; ramMiB: number | null; cpus: number | null
  unit: string; state: State | null; problems: Problem[]
}
interface Overview { location: string; hostFile: string; hostProblems: Problem[]; tags: string[]; systemd: string | null; machines: Row[] }
interface Entry { path: string; value: string | number | boolean; source: { kind: "machine" } | { kind: "tag"; tag: string } | { kind: "derived" }; origin?: { file: string; path: string } }
interface Detail {
  name: string; file: string; text: string; version: string | null; description: string; id: string | null; tags: string[]; hostTags: string[]
  problems: Problem[]; provenance: Entry[]; args: string | null; unitName: string; unit: string | null; state: State | null; systemd: string | null
  identifiers: null | {
    group: { name: string; id: number }
    volumes: Array<{ name: string; storage: string; wwn: string; serial: string }>
    connections: Array<{ name: string; network: string; mac: string }>
    devices: Array<{ name: string; class: string; id: string }>
  }
}
interface GuestChange { kind: string; subject: string; before: string; after: string; text: string }
interface Change { name: string; unitName: string; before: string | null; after: string | null; diff: string; hardware: GuestChange[] }
interface Evaluation { file: string; text: string; problems: Problem[]; changes: Change[] }

interface Answer<A> { status: number; data: A & { error?: string; problems?: Problem[] } }

const api = async <A,>(method: string, path: string, body?: unknown): Promise<Answer<A>> => {
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json" } }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers = { accept: "application/json", "content-type": "application/json" }
  }
  const r = await fetch(path, init)
  const text = await r.text()
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    data = { error: text.trim() || `HTTP ${r.status}` }
  }
  return { status: r.status, data: data as A & { error?: string } }
}

const useLoad = <A,>(path: string, deps: ReadonlyArray<unknown> = []) => {
  const [answer, setAnswer] = useState<Answer<A> | undefined>(undefined)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    api<A>("GET", path).then((a) => live && setAnswer(a), (e) => live && setAnswer({ status: 0, data: { error: String(e) } as A & { error: string } }))
    return () => { live = false }
  }, [path, tick, ...deps])
  return { answer, reload: () => setTick((t) => t + 1) }
}

// ---------------------------------------------------------------------------------------------
// Small pieces

const problemText = (p: Problem) => `${p.file}: ${p.path}: ${p.message}`

const Problems = ({ list, label }: { list: ReadonlyArray<Problem>; label?: string }) =>
  list.length === 0 ? null : (
    <ul class="problems" aria-label={label ?? "problems"} role="list">
      {list.map((p) => <li key={problemText(p)} role="alert">{problemText(p)}</li>)}
    </ul>
  )

const StateText = ({ state }: { state: State | null }) =>
  state === null ? <span class="muted">unknown</span> : (
    <span class={`state-${state.active}`}>{state.active}{state.sub !== "" && state.sub !== state.active ? `/${state.sub}` : ""}</span>
  )

const Tags = ({ tags }: { tags: ReadonlyArray<string> }) => <>{tags.map((t) => <span class="tag" key={t}>{t}</span>)}</>

const Loading = ({ answer, children }: { answer: Answer<unknown> | undefined; children: () => ComponentChildren }) => {
  if (answer === undefined) return <p class="muted" aria-busy="true">Loading…</p>
  if (answer.status !== 200) return <p class="notice bad" role="alert">{answer.data.error ?? `HTTP ${answer.status}`}</p>
  return <>{children()}</>
}

const DiffView = ({ diff }: { diff: string }) => (
  <pre class="diff" aria-label="unit diff">
    {diff.split("\n").filter((l, i, all) => !(l === "" && i === all.length - 1)).map((l, i) => (
      <span key={i} class={l.startsWith("+") ? "add" : l.startsWith("-") ? "del" : "same"}>{l || " "}</span>
    ))}
  </pre>
)

// ---------------------------------------------------------------------------------------------
// Machines

const ListPage = () => {
  const { answer } = useLoad<Overview>("/api/overview")
  const [query, setQuery] = useState("")
  const [tag, setTag] = useState("")
  const [onlyProblems, setOnlyProblems] = useState(false)
  const search = useRef<HTMLInputElement>(null)
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "/" && document.activeElement?.tagName !== "INPUT" && document.activeElement?.tagName !== "TEXTAREA") {
        e.preventDefault()
        search.current?.focus()
      }
    }
    addEventListener("keydown", onKey)
    return () => removeEventListener("keydown", onKey)
  }, [])
  return (
    <Loading answer={answer}>{() => {
      const o = answer!.data
      const q = query.trim().toLowerCase()
      const rows = o.machines.filter((m) =>
        (q === "" || m.name.toLowerCase().includes(q) || m.description.toLowerCase().includes(q) || m.tags.some((t) => t.toLowerCase().includes(q))) &&
        (tag === "" || m.tags.includes(tag)) && (!onlyProblems || m.problems.length > 0))
      return (
        <>
          <h2>Machines <span class="muted">({o.machines.length})</span></h2>
          {o.systemd !== null ? <p class="notice bad">Unit states unknown: {o.systemd}</p> : null}
          <Problems list={o.hostProblems} label="host problems" />
          <div class="toolbar" role="search">
            <input ref={search} type="search" aria-label="Search machines (press / to focus)" placeholder="Search name, description, tag  ( / )" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
            <select aria-label="Filter by tag" value={tag} onChange={(e) => setTag(e.currentTarget.value)}>
              <option value="">all tags</option>
              {o.tags.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
            <label class="checks"><label><input type="checkbox" checked={onlyProblems} onChange={(e) => setOnlyProblems(e.currentTarget.checked)} /> with problems</label></label>
            <a class="button primary" href="#/new">New machine</a>
          </div>
          <table aria-label="machines">
            <thead><tr><th>Name</th><th>State</th><th>Tags</th><th>RAM</th><th>CPUs</th><th>Problems</th></tr></thead>
            <tbody>
              {rows.map((m) => (
                <tr class="row" key={m.name} data-machine={m.name}>
                  <td><a href={`#/m/${encodeURIComponent(m.name)}`}>{m.name}</a>{m.description !== "" ? <div class="muted">{m.description}</div> : null}</td>
                  <td><StateText state={m.state} /></td>
                  <td><Tags tags={m.tags} /></td>
                  <td>{m.ramMiB === null || m.ramMiB === 0 ? "—" : `${m.ramMiB} MiB`}</td>
                  <td>{m.cpus ?? "—"}</td>
                  <td>{m.problems.length === 0 ? <span class="muted">none</span> : <Problems list={m.problems} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 ? <p class="muted">No machine matches.</p> : null}
        </>
      )
    }}</Loading>
  )
}

const sourceLabel = (e: Entry) => (e.source.kind === "tag" ? `tag ${e.source.tag}` : e.source.kind === "machine" ? "machine file" : "derived")

const MachinePage = ({ name }: { name: string }) => {
  const { answer, reload } = useLoad<Detail>(`/api/machines/${encodeURIComponent(name)}`)
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const act = async (action: string) => {
    if (action !== "start" && !confirm(`${action} ${name}?`)) return
    setBusy(true)
    const r = await api<{ result: string }>("POST", `/api/machines/${encodeURIComponent(name)}/${action}`)
    setBusy(false)
    setNotice(r.status === 200 ? { ok: true, text: `${action}: ${r.data.result}` } : { ok: false, text: `${action} failed: ${r.data.error}` })
    reload()
  }
  return (
    <Loading answer={answer}>{() => {
      const d = answer!.data
      return (
        <>
          <h2>{d.name} <span class="muted">{d.description}</span></h2>
          <p>
            <span class="muted">File</span> <code>{d.file}</code> · <span class="muted">ID</span> <code>{d.id}</code> · <span class="muted">Unit</span> <code>{d.unitName}</code> <StateText state={d.state} />
          </p>
          {d.systemd !== null ? <p class="notice bad">Unit state unknown: {d.systemd}</p> : null}
          <div class="toolbar">
            <a class="button primary" href={`#/m/${encodeURIComponent(d.name)}/edit`}>Edit</a>
            <button disabled={busy} onClick={() => act("start")}>Start</button>
            <button disabled={busy} onClick={() => act("shutdown")}>Shut down (ACPI)</button>
            <button disabled={busy} onClick={() => act("stop")}>Stop</button>
          </div>
          {notice !== undefined ? <p class={`notice ${notice.ok ? "ok" : "bad"}`} role="status">{notice.text}</p> : null}
          <Problems list={d.problems} />
          <p>Tags, in merge order: <Tags tags={d.tags} /></p>
          <h3 id="merged">Merged configuration and where each value came from</h3>
          <table aria-labelledby="merged" class="provenance">
            <thead><tr><th>Setting</th><th>Value</th><th>From</th><th>Written at</th></tr></thead>
            <tbody>
              {d.provenance.map((e) => (
                <tr key={e.path} data-path={e.path}>
                  <td><code>{e.path}</code></td>
                  <td class="mono">{String(e.value)}</td>
                  <td class={`source-${e.source.kind}`}>{sourceLabel(e)}</td>
                  <td class="muted mono">{e.origin === undefined ? "from the machine's UUID and name" : e.origin.path}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {d.identifiers !== null ? (
            <>
              <h3>Derived identifiers</h3>
              <table aria-label="identifiers">
                <thead><tr><th>What</th><th>Identifiers</th></tr></thead>
                <tbody>
                  <tr><td>filesystem group</td><td class="mono">{d.identifiers.group.name} ({d.identifiers.group.id})</td></tr>
                  {d.identifiers.volumes.map((v) => <tr key={`v${v.name}`}><td>volume {v.name}</td><td class="mono">WWN {v.wwn} · serial {v.serial}</td></tr>)}
                  {d.identifiers.connections.map((c) => <tr key={`c${c.name}`}><td>connection {c.name} ({c.network})</td><td class="mono">MAC {c.mac}</td></tr>)}
                  {d.identifiers.devices.map((x) => <tr key={`d${x.name}`}><td>device {x.name} ({x.class})</td><td class="mono">{x.id}</td></tr>)}
                </tbody>
              </table>
            </>
          ) : null}
          <div class="grid">
            <section aria-labelledby="args-h"><h3 id="args-h">QEMU arguments</h3><pre>{d.args ?? "(not generated: see the problems)"}</pre></section>
            <section aria-labelledby="unit-h"><h3 id="unit-h">Unit {d.unitName}</h3><pre>{d.unit ?? "(not generated: see the problems)"}</pre></section>
          </div>
        </>
      )
    }}</Loading>
  )
}

// ---------------------------------------------------------------------------------------------
// Editing

type Json = Record<string, unknown>

const parseObject = (text: string): Json | undefined => {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined
  } catch {
    return undefined
  }
}

/** A copy of `obj` with `path` set (undefined deletes); existing keys keep their place. */
const setPath = (obj: Json, path: ReadonlyArray<string>, value: unknown): Json => {
  const [head, ...rest] = path
  const out: Json = { ...obj }
  if (rest.length === 0) {
    if (value === undefined) delete out[head!]
    else out[head!] = value
    return out
  }
  const child = out[head!]
  const next = setPath(typeof child === "object" && child !== null && !Array.isArray(child) ? (child as Json) : {}, rest, value)
  if (Object.keys(next).length === 0) delete out[head!]
  else out[head!] = next
  return out
}

const getPath = (obj: Json | undefined, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Json)[k] : undefined), obj)

const under = (p: Problem, prefix: string) => p.path === prefix || p.path.startsWith(prefix + ".") || p.path.startsWith(prefix + "[")

interface FieldProps { id: string; label: string; problems: ReadonlyArray<Problem>; children: ComponentChildren; hint?: string }

const Field = ({ id, label, problems, children, hint }: FieldProps) => (
  <div class="field">
    <label for={id}>{label}</label>
    {children}
    {hint !== undefined ? <div class="muted">{hint}</div> : null}
    <div id={`${id}-problems`}><Problems list={problems} /></div>
  </div>
)

/** A JSON sub-document (a list or object) edited as text; applied when it parses. */
const JsonField = ({ id, label, value, problems, onChange }: { id: string; label: string; value: unknown; problems: ReadonlyArray<Problem>; onChange: (v: unknown) => void }) => {
  const rendered = value === undefined ? "" : JSON.stringify(value, null, 2)
  const [draft, setDraft] = useState(rendered)
  const [bad, setBad] = useState<string | undefined>(undefined)
  useEffect(() => {
    if (bad === undefined) setDraft(rendered)
  }, [rendered])
  return (
    <Field id={id} label={label} problems={problems}>
      <textarea id={id} style="min-height: 6rem" spellcheck={false} aria-invalid={bad !== undefined || problems.length > 0} value={draft}
        onInput={(e) => {
          const t = e.currentTarget.value
          setDraft(t)
          if (t.trim() === "") {
            setBad(undefined)
            onChange(undefined)
            return
          }
          try {
            const v: unknown = JSON.parse(t)
            setBad(undefined)
            onChange(v)
          } catch (err) {
            setBad(String((err as Error).message))
          }
        }} />
      {bad !== undefined ? <div class="problem">not valid JSON yet: {bad}</div> : null}
    </Field>
  )
}

/** A number field's value: a number when it reads as one, else the text itself (validation says why). */
const numberOrUndefined = (s: string): number | string | undefined =>
  s.trim() === "" ? undefined : /^\s*-?\d+(\.\d+)?\s*$/.test(s) ? Number(s) : s

const varsText = (v: unknown) =>
  typeof v === "object" && v !== null ? Object.entries(v as Json).map(([k, x]) => `${k}=${String(x)}`).join("\n") : ""

const varsValue = (text: string): Json | undefined => {
  const out: Json = {}
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    const at = line.indexOf("=")
    if (at === -1) out[line.trim()] = ""
    else out[line.slice(0, at).trim()] = line.slice(at + 1)
  }
  return Object.keys(out).length === 0 ? undefined : out
}

/** The form over a machine file: common fields; every problem shown next to its field. */
const MachineForm = ({ obj, hostTags, problems, provenance, onChange }: { obj: Json; hostTags: ReadonlyArray<string>; problems: ReadonlyArray<Problem>; provenance: ReadonlyArray<Entry>; onChange: (o: Json) => void }) => {
  /** What a tag gives when the machine leaves the field empty (as loaded), for the placeholder. */
  const inherited = (path: string) => {
    const e = provenance.find((x) => x.path === path && x.source.kind === "tag")
    return e === undefined ? "" : `${String(e.value)} (${sourceLabel(e)})`
  }
  const tags = Array.isArray(obj["tags"]) ? (obj["tags"] as unknown[]).map(String) : []
  const others = hostTags.filter((t) => !tags.includes(t))
  const setTags = (t: string[]) => onChange(setPath(obj, ["tags"], t.length === 0 ? undefined : t))
  const num = (path: string[]) => {
    const v = getPath(obj, path)
    return typeof v === "number" ? String(v) : typeof v === "string" ? v : ""
  }
  const p = (prefix: string) => problems.filter((x) => under(x, prefix))
  const [vars, setVars] = useState(varsText(obj["vars"]))
  useEffect(() => {
    if (JSON.stringify(varsValue(vars) ?? null) !== JSON.stringify(obj["vars"] ?? null)) setVars(varsText(obj["vars"]))
  }, [JSON.stringify(obj["vars"] ?? null)])
  return (
    <div>
      <Field id="f-description" label="Description" problems={p("$.description")}>
        <input id="f-description" style="width: 100%" value={typeof obj["description"] === "string" ? obj["description"] : ""}
          onInput={(e) => onChange(setPath(obj, ["description"], e.currentTarget.value === "" ? undefined : e.currentTarget.value))} />
      </Field>
      <div class="field">
        <label id="f-tags-label">Tags (merge order: earlier wins)</label>
        <ol aria-labelledby="f-tags-label">
          {tags.map((t, i) => (
            <li key={t}>
              <label class="checks" style="display: inline"><label><input type="checkbox" checked onChange={() => setTags(tags.filter((x) => x !== t))} /> {t}</label></label>
              <button aria-label={`move ${t} up`} disabled={i === 0} onClick={() => setTags(tags.map((x, j) => (j === i - 1 ? t : j === i ? tags[i - 1]! : x)))}>↑</button>{" "}
              <button aria-label={`move ${t} down`} disabled={i === tags.length - 1} onClick={() => setTags(tags.map((x, j) => (j === i + 1 ? t : j === i ? tags[i + 1]! : x)))}>↓</button>
            </li>
          ))}
        </ol>
        <div class="checks">
          {others.map((t) => <label key={t}><input type="checkbox" checked={false} onChange={() => setTags([...tags, t])} /> {t}</label>)}
        </div>
        <Problems list={p("$.tags")} />
      </div>
      <div class="grid" style="grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .6rem">
        <Field id="f-ram" label="RAM (MiB)" problems={p("$.attrs.memory")}>
          <input id="f-ram" inputMode="numeric" placeholder={inherited("$.attrs.memory.ram")} value={num(["attrs", "memory", "ram"])} aria-invalid={p("$.attrs.memory").length > 0}
            onInput={(e) => onChange(setPath(obj, ["attrs", "memory", "ram"], numberOrUndefined(e.currentTarget.value) ?? undefined))} />
        </Field>
        {(["sockets", "cores", "threads"] as const).map((k) => (
          <Field key={k} id={`f-cpu-${k}`} label={`CPU ${k}`} problems={p(`$.attrs.cpu.${k}`)}>
            <input id={`f-cpu-${k}`} inputMode="numeric" placeholder={inherited(`$.attrs.cpu.${k}`)} value={num(["attrs", "cpu", k])}
              onInput={(e) => onChange(setPath(obj, ["attrs", "cpu", k], numberOrUndefined(e.currentTarget.value)))} />
          </Field>
        ))}
      </div>
      <Field id="f-vars" label="Variables (one name=value per line)" problems={p("$.vars")}>
        <textarea id="f-vars" style="min-height: 4rem" value={vars} onInput={(e) => {
          setVars(e.currentTarget.value)
          onChange(setPath(obj, ["vars"], varsValue(e.currentTarget.value)))
        }} />
      </Field>
      <JsonField id="f-volumes" label="Volumes (JSON list)" value={obj["volumes"]} problems={p("$.volumes")} onChange={(v) => onChange(setPath(obj, ["volumes"], v))} />
      <JsonField id="f-connections" label="Connections (JSON list)" value={obj["connections"]} problems={p("$.connections")} onChange={(v) => onChange(setPath(obj, ["connections"], v))} />
      <JsonField id="f-devices" label="Devices (JSON list)" value={obj["devices"]} problems={p("$.devices")} onChange={(v) => onChange(setPath(obj, ["devices"], v))} />
      <JsonField id="f-attrs" label="All attributes (JSON object)" value={obj["attrs"]}
        problems={p("$.attrs").filter((x) => !under(x, "$.attrs.memory") && !under(x, "$.attrs.cpu"))} onChange={(v) => onChange(setPath(obj, ["attrs"], v))} />
    </div>
  )
}

type EditKind = { kind: "machine"; name: string } | { kind: "host" } | { kind: "new" }

interface Loaded { file: string; text: string; version: string | null; hostTags: string[]; id?: string; provenance: Entry[] }

const Preview = ({ evaluation }: { evaluation: Evaluation | undefined }) => {
  if (evaluation === undefined) return null
  return (
    <section aria-labelledby="preview-h">
      <h3 id="preview-h">What would change</h3>
      {evaluation.changes.length === 0 ? <p class="muted" id="no-change">No change to any generated unit.</p> : null}
      {evaluation.changes.map((c) => (
        <div key={c.name} data-change={c.name}>
          <h4>Unit {c.unitName}{c.before === null ? " (new)" : ""}</h4>
          <DiffView diff={c.diff} />
          <h4>Guest-visible hardware changes</h4>
          {c.hardware.length === 0 ? <p class="muted">none: the guest sees the same hardware</p> : (
            <ul aria-label={`guest-visible changes of ${c.name}`}>{c.hardware.map((h) => <li key={h.text} class="mono">{h.text}</li>)}</ul>
          )}
        </div>
      ))}
    </section>
  )
}

const Editor = ({ target, loaded, onReload }: { target: EditKind; loaded: Loaded; onReload: () => void }) => {
  const [text, setText] = useState(loaded.text)
  const [version, setVersion] = useState(loaded.version)
  const [baseline, setBaseline] = useState(loaded.text)
  const [name, setName] = useState("")
  const [tab, setTab] = useState<"form" | "raw">(target.kind === "host" ? "raw" : "form")
  const [evaluation, setEvaluation] = useState<Evaluation | undefined>(undefined)
  const [requestError, setRequestError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<{ ok: boolean; text: string; conflict?: boolean } | undefined>(undefined)
  const [generate, setGenerate] = useState(false)
  const [saving, setSaving] = useState(false)
  const sequence = useRef(0)
  const timer = useRef<number | undefined>(undefined)
  const machineName = target.kind === "machine" ? target.name : name
  const previewPath = target.kind === "host" ? "/api/host/preview" : `/api/machines/${encodeURIComponent(machineName)}/preview`

  const evaluate = useCallback((edit: { text: string } | { value: Json }) => {
    const n = ++sequence.current
    window.clearTimeout(timer.current)
    timer.current = window.setTimeout(async () => {
      if (target.kind === "new" && machineName === "") {
        setRequestError("give the machine a name")
        return
      }
      const r = await api<Evaluation>("POST", previewPath, { ...edit, create: target.kind === "new" })
      if (n !== sequence.current) return
      if (r.status === 200) {
        setRequestError(undefined)
        setEvaluation(r.data)
        if ("value" in edit) setText(r.data.text)
      } else setRequestError(r.data.error ?? `HTTP ${r.status}`)
    }, 200)
  }, [previewPath, target.kind, machineName])

  useEffect(() => {
    if (target.kind === "new") {
      const base = parseObject(text) ?? {}
      evaluate({ value: base })
    } else evaluate({ text })
  }, [previewPath])

  const obj = useMemo(() => parseObject(text), [text])
  const problems = evaluation?.problems ?? []
  const dirty = target.kind === "new" || text !== baseline
  const canSave = !saving && dirty && evaluation !== undefined && evaluation.text === text && problems.length === 0 && requestError === undefined

  const save = async () => {
    if (!canSave) return
    setSaving(true)
    const path = target.kind === "host" ? "/api/host" : `/api/machines/${encodeURIComponent(machineName)}`
    const r = await api<{ file: string; version: string; generated: { written: string[]; reloaded: boolean } | null }>(
      target.kind === "new" ? "POST" : "PUT", path, { text, version, generate })
    setSaving(false)
    if (r.status === 200 || r.status === 201) {
      setVersion(r.data.version)
      const gen = r.data.generated === null ? "" : ` · ${r.data.generated.written.join(", ") || "no unit changed"}${r.data.generated.reloaded ? " · systemd reloaded" : ""}`
      setNotice({ ok: true, text: `Saved ${r.data.file}${gen}` })
      if (target.kind === "new") location.hash = `#/m/${encodeURIComponent(machineName)}`
      else setBaseline(text)
    } else if (r.status === 409) {
      setNotice({ ok: false, conflict: true, text: `Not saved: ${r.data.error}` })
    } else {
      setNotice({ ok: false, text: `Not saved: ${r.data.error}` })
      if (r.data.problems !== undefined) setEvaluation((e) => (e === undefined ? e : { ...e, problems: r.data.problems! }))
    }
  }

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault()
        void save()
      }
    }
    addEventListener("keydown", onKey)
    return () => removeEventListener("keydown", onKey)
  })

  const changeValue = (o: Json) => {
    setText(JSON.stringify(o))
    evaluate({ value: o })
  }
  const shown = new Set<string>()
  const fieldPrefixes = ["$.description", "$.tags", "$.attrs", "$.vars", "$.volumes", "$.connections", "$.devices"]
  const general = tab === "raw" ? problems : problems.filter((p) => p.file !== evaluation?.file || !fieldPrefixes.some((f) => under(p, f)))
  general.forEach((p) => shown.add(problemText(p)))

  return (
    <>
      {target.kind === "new" ? (
        <Field id="f-name" label="Name (the file will be machine.conf.d/NAME.conf.json)" problems={[]}>
          <input id="f-name" value={name} aria-invalid={requestError !== undefined} onInput={(e) => {
            setName(e.currentTarget.value.trim())
          }} />
          <div class="muted">ID (generated): <code>{loaded.id}</code></div>
        </Field>
      ) : <p><span class="muted">File</span> <code>{loaded.file}</code></p>}
      {requestError !== undefined ? <p class="notice bad" role="alert" id="request-error">{requestError}</p> : null}
      <div class="tabs" role="tablist">
        {target.kind !== "host" ? <button role="tab" aria-selected={tab === "form"} onClick={() => setTab("form")}>Form</button> : null}
        <button role="tab" aria-selected={tab === "raw"} onClick={() => setTab("raw")}>Raw JSON</button>
      </div>
      <div id="general-problems"><Problems list={general} label="problems" /></div>
      {tab === "form" && target.kind !== "host" ? (
        obj === undefined
          ? <p class="notice bad">The file is not a JSON object right now: fix it in the Raw JSON tab.</p>
          : <MachineForm obj={obj} hostTags={loaded.hostTags} provenance={loaded.provenance} problems={problems.filter((p) => p.file === evaluation?.file)} onChange={changeValue} />
      ) : (
        <Field id="f-raw" label="File contents" problems={[]}>
          <textarea id="f-raw" spellcheck={false} aria-invalid={problems.length > 0} value={text} onInput={(e) => {
            setText(e.currentTarget.value)
            evaluate({ text: e.currentTarget.value })
          }} />
        </Field>
      )}
      <div class="toolbar">
        <button class="primary" id="save" disabled={!canSave} onClick={() => void save()}>{target.kind === "new" ? "Create" : "Save"} (Ctrl+S)</button>
        <label class="checks"><label><input type="checkbox" checked={generate} onChange={(e) => setGenerate(e.currentTarget.checked)} /> generate units and reload systemd after saving</label></label>
        {problems.length > 0 ? <span class="muted">{problems.length} problem(s): fix them to save</span> : null}
      </div>
      {notice !== undefined ? (
        <div class={`notice ${notice.ok ? "ok" : "bad"}`} role="status" id="save-notice">
          {notice.text}
          {notice.conflict === true ? <> <button onClick={onReload}>Load the file from disk (drops this edit)</button></> : null}
        </div>
      ) : null}
      <Preview evaluation={evaluation} />
    </>
  )
}

const EditPage = ({ target }: { target: EditKind }) => {
  const path = target.kind === "host" ? "/api/host" : target.kind === "new" ? "/api/new" : `/api/machines/${encodeURIComponent(target.name)}`
  const { answer, reload } = useLoad<Detail & { id: string; hostTags: string[] }>(path)
  const [generation, setGeneration] = useState(0)
  return (
    <>
      <h2>{target.kind === "host" ? "Host file" : target.kind === "new" ? "New machine" : `Edit ${target.name}`}</h2>
      <Loading answer={answer}>{() => {
        const d = answer!.data
        const loaded: Loaded = target.kind === "new"
          ? { file: "", text: "", version: null, hostTags: d.hostTags, id: d.id, provenance: [] }
          : { file: d.file, text: d.text, version: d.version, hostTags: d.hostTags ?? [], provenance: d.provenance ?? [] }
        if (target.kind === "new") loaded.text = JSON.stringify({ id: d.id, description: "", tags: [] })
        return <Editor key={`${d.version}-${generation}`} target={target} loaded={loaded} onReload={() => { setGeneration((g) => g + 1); reload() }} />
      }}</Loading>
    </>
  )
}

// ---------------------------------------------------------------------------------------------
// Shell

const route = (hash: string) => {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent)
  if (parts[0] === "m" && parts[1] !== undefined && parts[1] !== "") return parts[2] === "edit" ? <EditPage key={`e${parts[1]}`} target={{ kind: "machine", name: parts[1] }} /> : <MachinePage key={parts[1]} name={parts[1]} />
  if (parts[0] === "host") return <EditPage key="host" target={{ kind: "host" }} />
  if (parts[0] === "new") return <EditPage key="new" target={{ kind: "new" }} />
  return <ListPage />
}

const App = () => {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const on = () => {
      setHash(location.hash)
      document.getElementById("main")?.focus()
    }
    addEventListener("hashchange", on)
    // The hash may have changed between the first render and this effect.
    setHash(location.hash)
    return () => removeEventListener("hashchange", on)
  }, [])
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus() }}>Skip to content</a>
      <header class="top">
        <h1>machina</h1>
        <nav aria-label="main">
          <a href="#/">Machines</a>
          <a href="#/host">Host file</a>
          <a href="#/new">New machine</a>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>{route(hash)}</main>
    </>
  )
}

render(<App />, document.getElementById("app")!)

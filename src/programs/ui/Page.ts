/** The HTML shell and the style sheet of `machina ui` (the script is src/web, bundled at build). */

export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>machina</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<noscript>machina ui needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`

/** Light by default, dark when the system prefers it; system fonts; visible focus everywhere. */
export const STYLE = `
:root {
  --bg: #fbfbfa; --fg: #1d1f21; --muted: #5b6168; --line: #d9dcdf; --panel: #ffffff; --accent: #1f5fbf;
  --accent-fg: #ffffff; --bad: #b3261e; --bad-bg: #fdecea; --ok: #1e7b34; --ok-bg: #e7f5ea; --tag: #eef2f8;
  --add: #e6f4ea; --del: #fce8e6; --code: #f3f4f5; --focus: #f2a900;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15171a; --fg: #e6e7e8; --muted: #a1a7ae; --line: #33373c; --panel: #1d2024; --accent: #6ea8ff;
    --accent-fg: #0c1320; --bad: #ff8a80; --bad-bg: #3a1d1b; --ok: #7ed491; --ok-bg: #16301d; --tag: #262b33;
    --add: #15331f; --del: #3d1c1a; --code: #23272c; --focus: #ffcc4d;
  }
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 1rem/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
header.top { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header.top h1 { font-size: 1.15rem; margin: 0; }
header.top nav { display: flex; gap: .8rem; }
header.top .where { margin-left: auto; color: var(--muted); font-size: .9rem; }
main { padding: 1rem 1.2rem 3rem; max-width: 1200px; margin: 0 auto; }
h2 { font-size: 1.3rem; margin: .4rem 0 .8rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: var(--panel); }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .9rem; }
tr.row:hover { background: var(--code); }
code, pre, textarea, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .88rem; }
pre { background: var(--code); padding: .7rem; overflow: auto; border-radius: 4px; margin: 0; max-height: 32rem; }
.tag { display: inline-block; background: var(--tag); border-radius: 3px; padding: 0 .35rem; margin: 0 .25rem .15rem 0; font-size: .85rem; }
.muted { color: var(--muted); }
.state-active { color: var(--ok); font-weight: 600; }
.state-failed { color: var(--bad); font-weight: 600; }
.problems { list-style: none; padding: 0; margin: .3rem 0; }
.problems li, .problem { color: var(--bad); background: var(--bad-bg); padding: .25rem .5rem; border-radius: 3px; margin: .2rem 0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem; }
.notice { padding: .5rem .7rem; border-radius: 4px; margin: .5rem 0; }
.notice.ok { background: var(--ok-bg); color: var(--ok); }
.notice.bad { background: var(--bad-bg); color: var(--bad); }
.toolbar { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .6rem 0; }
.toolbar input[type=search] { flex: 1 1 16rem; }
button, .button { font: inherit; border: 1px solid var(--line); background: var(--panel); color: var(--fg); padding: .35rem .8rem; border-radius: 4px; cursor: pointer; text-decoration: none; }
button.primary, .button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button:disabled { opacity: .5; cursor: not-allowed; }
input, select, textarea { font: inherit; color: var(--fg); background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: .3rem .45rem; }
input[aria-invalid=true], textarea[aria-invalid=true] { border-color: var(--bad); }
textarea { width: 100%; min-height: 24rem; tab-size: 4; }
label { display: block; font-weight: 600; font-size: .9rem; margin: .5rem 0 .15rem; }
.field { margin-bottom: .6rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(28rem, 1fr)); gap: 1.2rem; }
.source-machine { color: var(--accent); }
.source-tag { color: var(--fg); }
.source-derived { color: var(--muted); font-style: italic; }
.diff .add { background: var(--add); display: block; }
.diff .del { background: var(--del); display: block; }
.diff .same { display: block; }
.tabs { display: flex; gap: .3rem; border-bottom: 1px solid var(--line); margin: 1rem 0 .6rem; }
.tabs button { border-bottom: none; border-radius: 4px 4px 0 0; }
.tabs button[aria-selected=true] { background: var(--accent); color: var(--accent-fg); }
.checks label { display: inline-flex; gap: .3rem; font-weight: normal; margin-right: .8rem; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: .5rem; background: var(--panel); padding: .3rem; }
`

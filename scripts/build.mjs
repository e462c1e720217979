// Bundles the CLI into one CommonJS file so start-up stays fast (see STYLE.md).
import { build } from "esbuild"
import { chmodSync } from "node:fs"

const outfile = "dist/machina.cjs"
await build({
  entryPoints: ["src/bin.ts"],
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  outfile,
  banner: { js: "#!/usr/bin/env node" },
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
  // Optional transports of dbus-next that machina never uses (X11 session buses, native sockets).
  external: ["x11", "usocket", "abstract-socket"]
})
chmodSync(outfile, 0o755)

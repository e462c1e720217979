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
  logLevel: "warning"
})
chmodSync(outfile, 0o755)

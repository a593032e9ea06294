// Builds the widget into dist/: widget.js (socket.io-client bundled in, nothing loaded from a CDN),
// widget.css, page.css and index.html. Run by scripts/setup-web.sh after `npm ci`.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");

// Type-check first: a type error stops the build.
execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", root],
  { stdio: "inherit" });

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [join(root, "src", "widget.ts")],
  outfile: join(dist, "widget.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
});
await build({
  entryPoints: [join(root, "src", "widget.css"), join(root, "src", "page.css")],
  outdir: dist,
  minify: true,
  logLevel: "warning",
});
copyFileSync(join(root, "index.html"), join(dist, "index.html"));
console.log(`web widget built in ${dist}`);

/**
 * Bundles the dashboard (dashboard/main.ts and the client library it uses)
 * into public/app.js, which wrangler's `[assets]` serves next to index.html,
 * and the CSS it imports (uPlot's) into public/app.css: a file of the page's
 * own origin, as the CSP's `style-src 'self'` wants (nothing inline).
 *
 * wrangler.toml's `[build] command` runs this before every `wrangler dev`,
 * `wrangler deploy` and `wrangler deploy --dry-run` (so `npm start`,
 * `npm run deploy`, `npm run check` and the test relays all get a fresh
 * bundle); the output is git-ignored. Plain JavaScript so that it runs with
 * nothing but Node, and it imports esbuild itself so it does not depend on
 * node_modules/.bin being on PATH.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ["dashboard/main.ts"],
  outfile: "public/app.js",
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
});

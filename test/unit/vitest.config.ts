import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "../../wrangler.toml" } })],
  test: {
    name: "unit",
    include: ["**/*.test.ts"],
    // mqtt-packet is CommonJS over readable-stream; the pool's per-file CJS
    // loader evaluates readable-stream's stream.js twice, which throws
    // ("Cannot redefine property: Symbol(nodejs.util.promisify.custom)").
    // Pre-bundling it with esbuild, as wrangler does for the real Worker,
    // loads it once.
    deps: { optimizer: { ssr: { enabled: true, include: ["mqtt-packet"] } } },
  },
});

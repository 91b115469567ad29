import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "../../wrangler.toml" } })],
  test: {
    name: "unit",
    include: ["**/*.test.ts"],
    // mqtt-packet is CommonJS over readable-stream, and the pool's per-file
    // CJS loader evaluates readable-stream's stream.js twice ("Cannot redefine
    // property: Symbol(nodejs.util.promisify.custom)"). Pre-bundling it, as
    // wrangler does for the real Worker, loads it once. Node's own modules stay
    // external, again as in wrangler: otherwise the npm polyfills of the same
    // name in node_modules get bundled, and a polyfill Buffer fails
    // mqtt-packet's `instanceof Buffer` checks on the runtime's Buffers.
    deps: {
      optimizer: {
        ssr: { enabled: true, include: ["mqtt-packet"], rolldownOptions: { platform: "node", external: [/^node:/, "buffer", "events"] } },
      },
    },
  },
});

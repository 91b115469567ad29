import { defineConfig } from "vitest/config";

// A newcomer's first minutes: what `npm start`, `npm run cf-typegen` and the
// `roomcast` bin print on a clean checkout. Node, real processes.
export default defineConfig({
  test: {
    name: "setup",
    include: ["**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});

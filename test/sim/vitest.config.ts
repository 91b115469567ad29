import { defineConfig } from "vitest/config";

// The simulator's tests: the counting code on its own, and short simulations
// over real sockets against the embedded relay (built once by ./global-setup.ts).
export default defineConfig({
  test: {
    name: "sim",
    include: ["**/*.test.ts"],
    environment: "node",
    globalSetup: ["./global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});

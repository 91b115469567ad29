import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    include: ["**/*.test.ts"],
    environment: "node",
    globalSetup: ["../support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

import { defineConfig } from "vitest/config";

// Two projects: unit tests inside workerd (the pool), end-to-end tests in Node
// against the real relay over real sockets.
export default defineConfig({
  test: {
    projects: ["./test/unit/vitest.config.ts", "./test/e2e/vitest.config.ts", "./test/client/vitest.config.ts", "./test/dashboard/vitest.config.ts", "./test/sim/vitest.config.ts"],
  },
});

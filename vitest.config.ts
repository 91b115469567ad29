import { defineConfig } from "vitest/config";

// Unit tests inside workerd (the pool); end-to-end, client, dashboard, sim and
// first-minutes (setup) tests in Node against the real relay and processes.
export default defineConfig({
  test: {
    // Two files at a time: the e2e files mostly wait on their relay's sockets,
    // so two of them fit on a 2-core box (the default here was one at a time).
    maxWorkers: 2,
    projects: ["./test/unit/vitest.config.ts", "./test/e2e/vitest.config.ts", "./test/client/vitest.config.ts", "./test/dashboard/vitest.config.ts", "./test/sim/vitest.config.ts", "./test/setup/vitest.config.ts"],
  },
});

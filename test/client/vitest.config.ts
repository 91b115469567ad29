import { defineConfig } from "vitest/config";

// The client's own tests run in Node (not workerd): the library is meant for
// browsers and Node, and the integration tests talk to real sockets.
export default defineConfig({
  test: {
    name: "client",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/client/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});

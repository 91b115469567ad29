import { defineConfig } from "vitest/config";

// The client's own tests run in Node (not workerd): the library is meant for
// browsers and Node, and the integration tests talk to real sockets, against
// the embedded relay (built once by ./global-setup.ts) or a local mock.
export default defineConfig({
  test: {
    name: "client",
    include: ["**/*.test.ts"],
    environment: "node",
    globalSetup: ["./global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});

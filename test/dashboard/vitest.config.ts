import { defineConfig } from "vitest/config";

// The dashboard in a real headless Chromium (@sparticuz/chromium, or the one
// CHROMIUM_PATH names, driven by playwright-core) against the embedded relay,
// which serves the page from public/ like wrangler does.
export default defineConfig({
  test: {
    name: "dashboard",
    include: ["**/*.test.ts"],
    environment: "node",
    globalSetup: ["./global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // The page is polled for what it shows; a loaded CI box may take a while.
    expect: { poll: { timeout: 15_000 } },
  },
});

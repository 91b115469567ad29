/** Builds the deployable bundle once per test run (every test's relay runs it), and the hooks and sinks tests' Workers beside it. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { buildBundle } from "../../tools/local/relay";

declare module "vitest" {
  export interface ProvidedContext {
    bundle: string;
    /** A deployer's Worker with hooks (test/hooks-worker/), and the wrangler.toml it was built from. */
    hooksBundle: string;
    hooksConfig: string;
    /** The relay with a Queue producer (test/sinks-worker/), and the D1 consumer example run beside it. */
    sinksBundle: string;
    sinksConfig: string;
    consumerBundle: string;
    consumerConfig: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  // The first build also writes the dashboard's module (wrangler.toml's [build]) that the second imports.
  const bundle = await buildBundle(join(process.cwd(), "dist", "test-worker"));
  const hooksConfig = fileURLToPath(new URL("../hooks-worker/wrangler.toml", import.meta.url));
  const hooksBundle = await buildBundle(join(process.cwd(), "dist", "test-hooks-worker"), hooksConfig);
  project.provide("bundle", bundle);
  project.provide("hooksBundle", hooksBundle);
  project.provide("hooksConfig", hooksConfig);
  const sinksConfig = fileURLToPath(new URL("../sinks-worker/wrangler.toml", import.meta.url));
  const consumerConfig = fileURLToPath(new URL("../../examples/d1-consumer/wrangler.toml", import.meta.url));
  project.provide("sinksBundle", await buildBundle(join(process.cwd(), "dist", "test-sinks-worker"), sinksConfig));
  project.provide("sinksConfig", sinksConfig);
  project.provide("consumerBundle", await buildBundle(join(process.cwd(), "dist", "test-d1-consumer"), consumerConfig));
  project.provide("consumerConfig", consumerConfig);
}

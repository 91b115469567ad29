/** Builds the deployable bundle once per test run; every test's relay runs it. */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildBundle } from "../../tools/local/relay";

declare module "vitest" {
  export interface ProvidedContext {
    bundle: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const bundle = await buildBundle(join(process.cwd(), "dist", "test-worker"));
  project.provide("bundle", bundle);
}

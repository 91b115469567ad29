/**
 * Builds the relay bundle once for the simulator's tests, into a folder of its
 * own so it never races another project's build when all run in one `vitest run`.
 */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildBundle } from "../../tools/local/relay";
import "../support/global-setup"; // for the `bundle` key's type in ProvidedContext

export default async function setup(project: TestProject): Promise<void> {
  const bundle = await buildBundle(join(process.cwd(), "dist", "sim-test-worker"));
  project.provide("bundle", bundle);
}

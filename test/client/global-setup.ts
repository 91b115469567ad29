/**
 * Builds the relay bundle once for the client's integration tests. Its own
 * output folder, so it never races the e2e project's build of the same bundle
 * when both projects run in one `vitest run`.
 */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildBundle } from "../../tools/local/relay";
import "../support/global-setup"; // for the `bundle` key's type in ProvidedContext

export default async function setup(project: TestProject): Promise<void> {
  const bundle = await buildBundle(join(process.cwd(), "dist", "client-test-worker"));
  project.provide("bundle", bundle);
}

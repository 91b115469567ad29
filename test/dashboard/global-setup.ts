/**
 * Builds the relay bundle (and, through wrangler's [build] command, the
 * dashboard's public/app.js) once for these tests, in an output folder of
 * their own so it never collides with the other projects' builds.
 */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildBundle } from "../../tools/local/relay";
import "../support/global-setup"; // for the `bundle` key's type in ProvidedContext

export default async function setup(project: TestProject): Promise<void> {
  const bundle = await buildBundle(join(process.cwd(), "dist", "dashboard-test-worker"));
  project.provide("bundle", bundle);
}

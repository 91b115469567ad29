/** Starts an embedded relay running the bundle built by the global setup. */
import { inject } from "vitest";
import { EmbeddedRelay, type RelayOptions } from "../../local/relay";

export async function startRelay(options: Omit<RelayOptions, "bundle"> = {}): Promise<EmbeddedRelay> {
  return EmbeddedRelay.start({ ...options, bundle: inject("bundle") });
}

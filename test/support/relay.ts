/** Starts an embedded relay running the bundle built by the global setup. */
import { afterAll, beforeAll, inject } from "vitest";
import { EmbeddedRelay, type RelayOptions } from "../../tools/local/relay";

export async function startRelay(options: Omit<RelayOptions, "bundle"> = {}): Promise<EmbeddedRelay> {
  return EmbeddedRelay.start({ ...options, bundle: inject("bundle") });
}

/**
 * One relay for the enclosing file (or `describe`): started before its tests,
 * stopped after them. The returned object stands for that relay, so tests
 * write `relay.url` as they would with the relay itself.
 */
export function useRelay(options: Omit<RelayOptions, "bundle"> = {}): EmbeddedRelay {
  let relay: EmbeddedRelay | undefined;
  beforeAll(async () => {
    relay = await startRelay(options);
  });
  afterAll(async () => {
    await relay?.stop();
  });
  return new Proxy({} as EmbeddedRelay, {
    get(_target, key) {
      if (relay === undefined) throw new Error("the relay is used before beforeAll started it");
      const value = Reflect.get(relay, key, relay);
      return typeof value === "function" ? value.bind(relay) : value;
    },
  });
}

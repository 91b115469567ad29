/**
 * Roomcast's variants: the repository's relay with one feature turned on,
 * each measured right after the plain Roomcast point it is read against, so
 * both share the machine's mood. Some run on the plain relay with a client
 * option (batch frames, publishes that skip history); the others need a
 * relay configured for them (tokens and ACLs, a webhook sink, a queue sink),
 * which relays.ts starts.
 */
export const VARIANT_NAMES = ["batch", "conflate", "live", "token", "acl", "webhook", "queue"] as const;
export type VariantName = (typeof VARIANT_NAMES)[number];

/** The relay a variant runs on: the plain one, or one configured for it (relays.ts). */
export type RelayName = "roomcast" | "auth" | "webhook" | "queue";

export type VariantScenario = "fanout" | "latency" | "wave";

export interface Variant {
  name: VariantName;
  /** How the summary names it. */
  label: string;
  relay: RelayName;
  scenarios: readonly VariantScenario[];
  /** What its numbers are read against: plain Roomcast, or another variant on the same relay. */
  baseline: "roomcast" | VariantName;
  /** Client options laid over the relay's endpoint. */
  endpoint?: { batch?: true; live?: true; conflate?: number };
  /** Relays with AUTH_SECRET: whether the run's token carries an `acl` claim. */
  acl?: boolean;
  /** Where the relay routes every bench message (topic `bench/#`); its throughput is measured after each fan-out burst. */
  sink?: "webhook" | "queue";
}

export const VARIANTS: Record<VariantName, Variant> = {
  // Issue 29: batch frames, for fan-out, latency and the reconnect wave.
  batch: { name: "batch", label: "batch=1", relay: "roomcast", scenarios: ["fanout", "latency", "wave"], baseline: "roomcast", endpoint: { batch: true } },
  // Issue 29: readers that conflate (the latest per topic per 100 ms), for fan-out: scenarios/conflate.ts.
  conflate: { name: "conflate", label: "conflate=100", relay: "roomcast", scenarios: ["fanout"], baseline: "roomcast", endpoint: { conflate: 100 } },
  // Issue 29: publishes that skip history (`"history": false`): what they save is the wait for a commit.
  live: { name: "live", label: "history:false", relay: "roomcast", scenarios: ["latency"], baseline: "roomcast", endpoint: { live: true } },
  // Issue 27: every socket with a token (AUTH_SECRET set), and the same with an `acl` claim on every socket.
  token: { name: "token", label: "token", relay: "auth", scenarios: ["fanout", "latency"], baseline: "roomcast", acl: false },
  acl: { name: "acl", label: "token with acl", relay: "auth", scenarios: ["fanout", "latency"], baseline: "token", acl: true },
  // Issue 26: every message routed to a webhook (a receiver in the bench process), or to a Queue (examples/d1-consumer into D1).
  webhook: { name: "webhook", label: "webhook sink", relay: "webhook", scenarios: ["fanout", "latency"], baseline: "roomcast", sink: "webhook" },
  queue: { name: "queue", label: "queue sink", relay: "queue", scenarios: ["fanout", "latency"], baseline: "roomcast", sink: "queue" },
};

/** The selected variants that take part in `scenario`, in VARIANT_NAMES order. */
export function variantsFor(selected: readonly VariantName[], scenario: VariantScenario): Variant[] {
  return VARIANT_NAMES.filter((n) => selected.includes(n)).map((n) => VARIANTS[n]).filter((v) => v.scenarios.includes(scenario));
}

/**
 * The relays the variants run on (variants.ts), started once per run beside
 * the plain one: with AUTH_SECRET (tokens, ACLs), with a webhook sink to a
 * receiver in this process, with a queue sink consumed into D1. Each gives
 * the endpoint a variant's load jobs use and, for a sink, how to tell when
 * a burst's last message has come out the other end.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { signJwt } from "../../../protocol/jwt.js";
import { WebhookReceiver } from "../../local/webhook-receiver.js";
import type { D1Like } from "../../local/relay.js";
import { waitFor } from "../../load/wait.js";
import type { RunningSystem, SystemEndpoint } from "../systems/system.js";
import { startRoomcastRelay } from "../systems/workerd.js";
import { BENCH_TOPIC } from "../driver/wire.js";
import type { RelayName, Variant } from "./variants.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..", "..");
/** The AUTH_SECRET and WEBHOOK_SECRET of the variants' relays (loopback only). */
export const BENCH_SECRET = "bench-secret-of-at-least-32-characters";
/** The filter of the sinks and of the ACL's `sub`: every bench message. */
export const SINK_MATCH = BENCH_TOPIC.replace(/\/[^/]+$/, "/#");

/** When the sink has every message of a burst: Date.now() of its last one's arrival, or null if it had not within the timeout. */
export interface SinkWatch {
  arrival(room: string, messages: number, timeoutMs: number): Promise<number | null>;
}

interface VariantRelay {
  system: RunningSystem;
  sink?: SinkWatch;
  stop(): Promise<void>;
}

export class VariantRelays {
  private readonly relays = new Map<RelayName, VariantRelay>();
  private readonly tokens = new Map<string, string>();

  /** `plain` is the running "roomcast" system: the relay of the client-option variants. */
  constructor(private readonly plain: RunningSystem | undefined) {}

  /** Starts the relays `variants` need that are not running yet. */
  async start(variants: readonly Variant[]): Promise<void> {
    for (const v of variants) {
      if (v.relay !== "roomcast" && !this.relays.has(v.relay)) this.relays.set(v.relay, await startVariantRelay(v.relay));
      if (v.acl !== undefined) this.tokens.set(v.name, await benchToken(v.acl));
    }
  }

  /** The system a variant runs on (the plain relay's, for batch and live). */
  system(v: Variant): RunningSystem {
    const system = v.relay === "roomcast" ? this.plain : this.relays.get(v.relay)?.system;
    if (!system) throw new Error(`the ${v.relay} relay of variant ${v.name} is not running`);
    return system;
  }

  /** The variant's endpoint as of now (a restart moves the pid). */
  endpoint(v: Variant): SystemEndpoint {
    const token = this.tokens.get(v.name);
    return { ...this.system(v).endpoint, ...v.endpoint, ...(token ? { token } : {}) };
  }

  sink(v: Variant): SinkWatch | undefined {
    return this.relays.get(v.relay)?.sink;
  }

  async stop(): Promise<void> {
    for (const r of this.relays.values()) await r.stop();
    this.relays.clear();
  }
}

async function startVariantRelay(name: Exclude<RelayName, "roomcast">): Promise<VariantRelay> {
  const config = join(ROOT, "wrangler.toml");
  if (name === "auth") {
    const system = await startRoomcastRelay("roomcast-auth", config, { vars: { AUTH_SECRET: BENCH_SECRET } });
    return { system, stop: () => system.stop() };
  }
  if (name === "webhook") {
    const receiver = await WebhookReceiver.start(BENCH_SECRET);
    const SINKS = JSON.stringify([{ match: SINK_MATCH, webhook: receiver.url }]);
    const system = await startRoomcastRelay("roomcast-webhook", config, { vars: { SINKS, WEBHOOK_SECRET: BENCH_SECRET } });
    return { system, sink: webhookWatch(receiver), stop: async () => (await system.stop(), await receiver.stop()) };
  }
  const SINKS = JSON.stringify([{ match: SINK_MATCH, queue: "ROOM_EVENTS" }]);
  const system = await startRoomcastRelay("roomcast-queue", join(HERE, "queue.wrangler.toml"), {
    vars: { SINKS },
    auxiliary: [{ name: "d1-consumer", config: join(ROOT, "examples", "d1-consumer", "wrangler.toml") }],
  });
  return { system, sink: d1Watch(() => system.relay.d1("DB", "d1-consumer")), stop: () => system.stop() };
}

/** Every socket's token: all rooms, the scopes a reader and publisher need, and with `acl` a `pub` and a `sub` filter. */
export function benchToken(acl: boolean, secret = BENCH_SECRET): Promise<string> {
  const claims = {
    sub: "bench",
    rooms: ["*"],
    scope: "subscribe publish presence history",
    exp: Math.floor(Date.now() / 1000) + 86_400,
    ...(acl ? { acl: { pub: [BENCH_TOPIC], sub: [SINK_MATCH] } } : {}),
  };
  return signJwt(claims, secret);
}

/** The receiver's record: the time of the request that completed the room's seqs 1..messages (each taken at least once). */
export function webhookWatch(receiver: WebhookReceiver): SinkWatch {
  return {
    async arrival(room, messages, timeoutMs) {
      let at: number | null = null;
      const complete = () => {
        const seen = new Set<number>();
        for (const d of receiver.deliveries) {
          if (d.room !== room || d.answered !== "ok") continue;
          for (const s of d.seqs) seen.add(s);
          if (seen.size >= messages) return ((at = d.at), true);
        }
        return false;
      };
      await waitFor(complete, timeoutMs, 20);
      // What is measured is dropped, so a long run does not keep every burst.
      receiver.deliveries.splice(0, receiver.deliveries.length, ...receiver.deliveries.filter((d) => d.room !== room));
      return at;
    },
  };
}

/** The consumer's D1 table (examples/d1-consumer), counted until it holds the room's every message: polled, so to 25 ms. */
export function d1Watch(db: () => Promise<D1Like>): SinkWatch {
  return {
    async arrival(room, messages, timeoutMs) {
      const d1 = await db();
      const count = async () => {
        try {
          const { results } = await d1.prepare("SELECT COUNT(*) AS n FROM messages WHERE room = ?").bind(room).all<{ n: number }>();
          return (results[0]?.n ?? 0) >= messages;
        } catch {
          return false; // the table is created by the consumer's first batch
        }
      };
      return (await waitFor(count, timeoutMs, 25)) ? Date.now() : null;
    },
  };
}

/**
 * Where an outbox's rows go: a signed webhook POST or a Queue producer
 * binding. A target either takes a whole chunk (resolves) or not (throws);
 * the outbox (./outbox-sink.ts) owns order, retries and bounds.
 */
import type { SinkTarget } from "./config";
import type { OutboxRow } from "./outbox-store";

export interface Target {
  /** The most rows one delivery takes, and their most envelope bytes. */
  readonly maxMessages: number;
  readonly maxBytes: number;
  /** Rows of one room and epoch, oldest first. */
  deliver(rows: readonly OutboxRow[]): Promise<void>;
}

export const SIGNATURE_HEADER = "x-roomcast-signature";

export function makeTarget(target: SinkTarget, env: Record<string, unknown>, secret: string, timeoutMs: number): Target {
  return target.kind === "webhook" ? new WebhookTarget(target.url, secret, timeoutMs) : new QueueTarget(env[target.binding] as Queue);
}

/**
 * `POST {"room","epoch","messages":[envelope…]}` signed with HMAC-SHA256 of
 * the raw body. One epoch per body, so a chunk stops where the epoch changes.
 * The envelopes are the stored JSON text: the body is built by joining them,
 * never by parsing them.
 */
class WebhookTarget implements Target {
  readonly maxMessages = 100;
  readonly maxBytes = 256 * 1024;
  private key: Promise<CryptoKey> | null = null;

  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs: number,
  ) {}

  async deliver(rows: readonly OutboxRow[]): Promise<void> {
    const { room, epoch } = rows[0]!;
    const body = `{"room":${JSON.stringify(room)},"epoch":${JSON.stringify(epoch)},"messages":[${rows.map((r) => r.envelope).join(",")}]}`;
    const signature = await sign(await this.hmacKey(), body);
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: `sha256=${signature}` },
      body,
      // The contract: no answer within the timeout and the request is abandoned (then retried).
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // The body is not read; cancel it so the connection is let go at once.
    await res.body?.cancel().catch(() => {});
    if (res.status < 200 || res.status > 299) throw new Error(`webhook answered HTTP ${res.status}`);
  }

  private hmacKey(): Promise<CryptoKey> {
    this.key ??= crypto.subtle.importKey("raw", new TextEncoder().encode(this.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]) as Promise<CryptoKey>;
    return this.key;
  }
}

async function sign(key: CryptoKey, body: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
  let hex = "";
  for (const b of mac) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * One queue message per room message: its envelope plus `"epoch"`, as JSON.
 * `sendBatch` takes at most 100 messages and 256 KB a call (Cloudflare Queues' limits).
 */
class QueueTarget implements Target {
  readonly maxMessages = 100;
  readonly maxBytes = 200 * 1024;

  constructor(private readonly queue: Queue) {}

  async deliver(rows: readonly OutboxRow[]): Promise<void> {
    await this.queue.sendBatch(rows.map((r) => ({ body: { ...(JSON.parse(r.envelope) as object), epoch: r.epoch }, contentType: "json" as const })));
  }
}

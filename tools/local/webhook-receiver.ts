/**
 * A webhook receiver on loopback for the sinks tests and the bench's webhook
 * variant: records every POST (raw body, signature check, parsed messages,
 * when it arrived) and answers as told: `fail` (HTTP 500), `stall` (never
 * answers) or `ok`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Answer = "ok" | "fail" | "stall";

export interface Delivery {
  /** Date.now() when the request's body had arrived. */
  at: number;
  answered: Answer;
  signed: boolean;
  room: string;
  epoch: string;
  seqs: number[];
  messages: Array<{ seq: number; topic?: string; data: unknown }>;
}

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** Answers for the next requests, in order; then `otherwise`. */
  script: Answer[] = [];
  otherwise: Answer = "ok";
  private constructor(
    private readonly server: Server,
    private readonly secret: string,
  ) {}

  static async start(secret: string): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server, secret);
    server.on("request", (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks);
        const answered = receiver.script.shift() ?? receiver.otherwise;
        const body = JSON.parse(raw.toString("utf8"));
        receiver.deliveries.push({
          at: Date.now(),
          answered,
          signed: verify(receiver.secret, raw, req.headers["x-roomcast-signature"]),
          room: body.room,
          epoch: body.epoch,
          seqs: body.messages.map((m: { seq: number }) => m.seq),
          messages: body.messages,
        });
        if (answered === "stall") return; // never answered: the relay must give up on it
        res.writeHead(answered === "ok" ? 204 : 500).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Seqs of the deliveries it answered 2xx. */
  accepted(): number[] {
    return this.deliveries.filter((d) => d.answered === "ok").flatMap((d) => d.seqs);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** The receiver's side of the signature (docs/integrations.md shows the same few lines). */
export function verify(secret: string, raw: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== "string" || !header.startsWith("sha256=")) return false;
  const expected = createHmac("sha256", secret).update(raw).digest();
  const given = Buffer.from(header.slice(7), "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

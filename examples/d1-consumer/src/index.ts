/**
 * A Roomcast queue sink's consumer: each queue message is one room message
 * (its envelope plus "epoch", docs/integrations.md), written to D1 keyed by
 * (room, epoch, seq). The relay delivers at least once and the queue may
 * redeliver too, so the write is INSERT OR IGNORE: a message lands once,
 * however often it comes.
 */

import type { MessageEnvelope } from "roomcast/client";

interface Env {
  DB: D1Database;
}

/** A room message as the queue carries it: the envelope of Roomcast's docs/protocol.md plus the room's epoch. */
type RoomMessage = MessageEnvelope & { epoch: string };

/** The table, created on first use so a newcomer needs no migration step (a deploy may use `wrangler d1 migrations` instead). */
const SCHEMA = `CREATE TABLE IF NOT EXISTS messages (
  room TEXT NOT NULL,
  epoch TEXT NOT NULL,
  seq INTEGER NOT NULL,
  topic TEXT,
  sender TEXT NOT NULL,
  ts INTEGER NOT NULL,
  data TEXT NOT NULL,
  binary INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (room, epoch, seq)
)`;

let schemaReady: Promise<unknown> | null = null;

export default {
  async queue(batch: MessageBatch<RoomMessage>, env: Env): Promise<void> {
    schemaReady ??= env.DB.exec(SCHEMA.replace(/\n\s*/g, " ")).catch((error: unknown) => {
      schemaReady = null; // try again on the next batch
      throw error;
    });
    await schemaReady;
    const insert = env.DB.prepare(
      "INSERT OR IGNORE INTO messages (room, epoch, seq, topic, sender, ts, data, binary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const rows = batch.messages.map(({ body: m }) =>
      insert.bind(m.room, m.epoch, m.seq, m.topic ?? null, m.from, m.ts, typeof m.data === "string" ? m.data : JSON.stringify(m.data), m.binary ? 1 : 0),
    );
    // One implicit transaction: the whole batch lands, or none of it and the queue retries it.
    await env.DB.batch(rows);
    batch.ackAll();
  },
} satisfies ExportedHandler<Env, RoomMessage>;

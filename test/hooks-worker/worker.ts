/**
 * A deployer's Worker for the hooks tests (test/e2e/hooks.test.ts): the
 * relay with a hook of each kind, each doing something a test can see.
 * Built by the e2e global setup from ./wrangler.toml.
 */
import { createRelay, type HookMessage } from "../../server";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface HooksEnv {
  /** Where the committed hook posts each batch (the test's HTTP receiver). */
  COMMITTED_URL?: string;
}

let envOf: HooksEnv = {};

const relay = createRelay({
  hooks: {
    connect(c) {
      if (c.room.includes("closed-")) return { refuse: "room_closed", message: `${c.room} takes no ${c.kind} connections` };
      return { meta: { ...c.meta, via: "hook", kind: c.kind } };
    },
    async publish(m: HookMessage) {
      const topic = m.topic ?? "";
      if (topic.startsWith("refused/")) return { refuse: "topic_refused", message: `nothing is published on ${topic}` };
      if (topic === "boom") throw new Error("the hook broke");
      if (m.properties?.contentType === "application/x-refused") return { refuse: "content_type_refused", message: "not this content type" };
      if (topic.startsWith("slow/")) await sleep(600);
      if (typeof m.data === "object" && m.data !== null && "secret" in m.data) return { data: { ...m.data, secret: "[redacted]" } };
      return undefined;
    },
    async committed(messages, c) {
      const url = envOf.COMMITTED_URL;
      if (!url) return;
      await fetch(url, { method: "POST", body: JSON.stringify({ room: c.room, epoch: c.epoch, seqs: messages.map((m) => m.seq), data: messages.map((m) => m.data), properties: messages.map((m) => m.properties ?? null) }) });
    },
  },
});

export class Room extends relay.Room {
  constructor(ctx: DurableObjectState, env: Env & HooksEnv) {
    super(ctx, env);
    envOf = env;
  }
}

export default relay;

/**
 * Two of the pipeline's doors that live in the Room itself: a JSON or raw
 * WebSocket frame, and an HTTP publish. Each builds its job (who publishes,
 * what the size rule measures, its parse) and turns the verdict into its
 * wire's answer. The MQTT doors are mqtt/publish.ts (PUBLISH) and
 * mqtt/end.ts (the will).
 */
import type { PublishResult } from "../../protocol";
import type { Identity } from "../../handoff/identity";
import type { SocketAdapter } from "../adapters/adapter";
import type { PublishInput } from "../payload";
import { safeSend, type Attachment } from "../sockets";
import type { PublishJob } from "./pipeline";
import { httpStatus, refused } from "./verdict";

/** What `publishMessage` answers the Worker: the 201's body, or the refusal it turns into an HTTP error. */
export type HttpPublishAnswer = PublishResult | { refused: { status: number; code: string; message: string } };

/**
 * A frame of a JSON or raw socket: its ack (when it carried an id), its
 * error frame (the socket stays open), or, for a rule that ends the
 * connection, its close by `shed`.
 */
export function frameJob(ws: WebSocket, att: Attachment, adapter: SocketAdapter, frame: string | ArrayBuffer, shed: (code: number, reason: string) => void): PublishJob {
  let publishId: string | null = null;
  return {
    by: { kind: att.kind, id: att.id, identity: att, bucket: att.bucket },
    size: frame,
    read: () => {
      const inbound = adapter.parse(frame);
      if ("error" in inbound) return refused(inbound.error, inbound.message);
      const { payload, topic, retain, live, properties } = inbound.publish;
      publishId = inbound.publish.publishId;
      return { payload, from: att.id, publisher: att.sub, publishId, topic, retain, ...(live ? { live } : {}), ...(properties ? { properties } : {}) };
    },
    sender: ws,
    echo: att.echo,
    origin: att.id,
    answer: (verdict) => {
      if (verdict.ok) {
        const ack = publishId === null ? null : adapter.ack(publishId, verdict.seq);
        if (ack !== null) safeSend(ws, ack);
        return;
      }
      if (verdict.close !== undefined) return shed(verdict.close, verdict.message);
      const error = adapter.error(verdict.code, verdict.message);
      if (error !== null) safeSend(ws, error);
    },
  };
}

/** An HTTP publish (the Worker bounded its body, 413, before it reached the room): the 201's body or the refusal. */
export function httpJob(input: PublishInput, identity: Identity, epoch: () => string, resolve: (answer: HttpPublishAnswer) => void): PublishJob {
  return {
    by: { kind: "http", id: null, identity, bucket: null },
    size: 0,
    read: () => input,
    sender: null,
    echo: false,
    origin: null,
    answer: (v) => resolve(v.ok ? { seq: v.seq, epoch: epoch() } : { refused: { status: httpStatus(v), code: v.code, message: v.message } }),
  };
}

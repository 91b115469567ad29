/**
 * Messages the room publishes itself (lifecycle events, a sink's overflow):
 * handed straight to the role's sequencing, so they get a seq, history and
 * resume like any other, reach every sink, and in a shard are forwarded to
 * the sequencer by the same path as a client's publish. They skip the
 * pipeline's steps and the deployer's publish hook on purpose: no
 * connection's rate, scope or size applies to them, and a hook could not
 * refuse the room's own account of what happened (the committed hook and
 * the sinks do see them). Their topics start with `$events/`, which clients
 * may not publish to (publish/steps.ts) and which reach only readers whose
 * filter names `$events` (protocol/topics.ts reachesUnfiltered).
 */
import type { PublishInput } from "../payload";
import type { Sender, Sequencing } from "./sequencing";

/** The `from` of the room's own messages. */
export const ROOM_FROM = "$room";

const NO_SENDER: Sender = Object.freeze({ sender: null, echo: false, origin: null });

export function publishOwn(sequencing: Sequencing, topic: string, data: unknown): void {
  const input: PublishInput = { payload: { kind: "json", value: data }, from: ROOM_FROM, publisher: null, publishId: null, topic, retain: false };
  sequencing.sequence(input, NO_SENDER, (verdict) => {
    if (!verdict.ok) console.warn(`the room's own message on ${topic} was refused: ${verdict.message}`);
  });
}

/**
 * The rules every publish meets before the deployer's hook, one function
 * each, in the order the pipeline runs them (./pipeline.ts): the entry
 * steps before the parse, then the rules that need the topic. Each answers
 * null (go on) or the refusal; none knows which wire the publish came by.
 */
import { CloseCode } from "../../protocol";
import type { ConnectionKind } from "../../protocol/hooks";
import type { Limits } from "../../protocol/limits";
import { isRoomEventTopic, ROOM_EVENTS_TOPIC, TopicMatcher } from "../../protocol/topics";
import { hasScope, type Identity } from "../../handoff/identity";
import { textExceeds, type PublishInput } from "../payload";
import { takeToken, type ConnectionBucket } from "../rate-limit";
import { refused, type Refused } from "./verdict";

/** Who publishes, as the steps and the hook see them. */
export interface Publisher {
  kind: ConnectionKind;
  /** The connection's id; null for an HTTP publish. */
  id: string | null;
  identity: Identity;
  /**
   * The connection's publish bucket (a WebSocket's, in its attachment: the
   * door writes the attachment back). Null where the rate is counted
   * elsewhere (HTTP, at the edge) or not at all (a will).
   */
  bucket: ConnectionBucket | null;
}

/** What the size rule measures: a frame as it arrived, or a payload's byte length. */
export type Measured = string | ArrayBuffer | ArrayBufferView | number;

/** Runs before anything is parsed: a flood or an oversized frame costs no parse. */
export type EntryStep = (by: Publisher, size: Measured, limits: Limits, now: number) => Refused | null;

export const size: EntryStep = (_by, measured, limits) =>
  exceeds(measured, limits.maxMessageBytes) ? refused("too_large", `message larger than ${limits.maxMessageBytes} bytes`, CloseCode.TooBig) : null;

export const rate: EntryStep = (by, _measured, limits, now) => {
  if (by.bucket === null) return null;
  const verdict = takeToken(by.bucket, limits, now);
  if (verdict === "ok") return null;
  if (verdict === "close") return refused("rate_limited", "rate limit exceeded", CloseCode.Policy);
  return refused("rate_limited", `more than ${limits.rateLimitPerSecond} messages per second; message dropped`);
};

export const scope: EntryStep = (by) => (hasScope(by.identity, "publish") ? null : refused("forbidden", "this token may not publish in this room"));

export const ENTRY_STEPS: readonly EntryStep[] = [size, rate, scope];

function exceeds(measured: Measured, limit: number): boolean {
  if (typeof measured === "number") return measured > limit;
  if (typeof measured === "string") return textExceeds(measured, limit);
  return measured.byteLength > limit;
}

/** Runs after the parse (it needs the topic): `$events/` is the room's own (publish/own-messages.ts), no client's. */
export function ownTopic(topic: string | null): Refused | null {
  if (!isRoomEventTopic(topic)) return null;
  return refused("forbidden", `topics under ${ROOM_EVENTS_TOPIC}/ are published by the room itself`);
}

/**
 * The token's `acl.pub`, after the parse (it needs the topic): a publish
 * whose topic no filter matches is refused `forbidden`, and a publish with
 * no topic (a raw frame, a JSON publish without one) matches none. Each
 * socket's filters are compiled once while the room is awake (keyed by the
 * socket: its attachment is a new object on every frame); an HTTP publish,
 * a connection of its own, compiles them once. A token without `acl.pub`
 * costs one property read.
 */
export class PublishAcl {
  private readonly compiled = new WeakMap<WebSocket, TopicMatcher>();

  check(by: Publisher, sender: WebSocket | null, input: PublishInput): Refused | null {
    const filters = by.identity.acl?.pub;
    if (filters === undefined) return null;
    if (input.topic !== null && this.matcher(filters, sender).matches(input.topic)) return null;
    const what = input.topic === null ? "a publish without a topic" : `topic ${JSON.stringify(input.topic.slice(0, 64))}`;
    return refused("forbidden", `this token may not publish ${what}`);
  }

  private matcher(filters: readonly string[], sender: WebSocket | null): TopicMatcher {
    if (sender === null) return new TopicMatcher(filters);
    let m = this.compiled.get(sender);
    if (m === undefined) this.compiled.set(sender, (m = new TopicMatcher(filters)));
    return m;
  }
}

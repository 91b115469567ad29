/**
 * A deployer's hooks (`createRelay({ hooks })` in `roomcast/server`): the
 * shapes they are called with and may answer. Types only, so that the
 * published `.d.ts` of `roomcast/server` needs nothing of the relay's inside.
 * docs/protocol.md ("A deployer's own Worker") states the rules.
 */

/** How a connection reaches the room: `json`/`raw` WebSockets, `sse`, `mqtt`, or one `http` publish. */
import type { MessageProperties } from "./properties.js";

export type ConnectionKind = "json" | "raw" | "sse" | "mqtt" | "http";

/** Who a hook is called for. */
export interface HookConnection {
  room: string;
  /** The token's `sub`; null in open mode. */
  sub: string | null;
  kind: ConnectionKind;
  /** The connection's id (as in its welcome); null for an HTTP publish. */
  id: string | null;
  /** The token's scopes. */
  scopes: string[];
  /** The token's `meta` (presence meta), before a `connect` hook replaces it. */
  meta: Record<string, unknown>;
}

/** A publish as a hook sees it: `data` is what a JSON client would see. */
export interface HookMessage {
  topic: string | null;
  /** JSON value, text, or (when `binary`) the payload's bytes as base64. */
  data: unknown;
  binary: boolean;
  retain: boolean;
  /** Its properties (MQTT 5 PUBLISH properties or a JSON publisher's), when it has any: docs/protocol.md, Message properties. */
  properties?: MessageProperties;
}

/** A committed message as `committed` gets it: the message plus its place in the room. */
export interface HookCommitted extends HookMessage {
  seq: number;
  from: string;
  ts: number;
}

/** A refusal: published nothing, answered with `refuse` as the error code. */
export interface HookRefusal {
  refuse: string;
  message?: string;
}

export type Awaitable<T> = T | Promise<T>;

export type ConnectAnswer = void | undefined | { meta?: Record<string, unknown> } | HookRefusal;
export type PublishAnswer = void | undefined | { data: unknown } | HookRefusal;

export interface RelayHooks {
  /** Before a WebSocket, SSE or MQTT connection is accepted. */
  connect?(c: HookConnection): Awaitable<ConnectAnswer>;
  /** Before a publish gets its seq, on every path. */
  publish?(m: HookMessage, c: HookConnection): Awaitable<PublishAnswer>;
  /** After each batch is committed, in seq order, once per batch. */
  committed?(messages: HookCommitted[], c: { room: string; epoch: string }): Awaitable<void>;
}

/** Codes a refusal may carry: snake_case, short, as every other error code. */
export const REFUSAL_CODE = /^[a-z][a-z0-9_]{0,63}$/;

/** The code a refusal is answered with: the hook's own when it is well formed, else `forbidden`. */
export function refusalCode(answer: HookRefusal): string {
  return typeof answer.refuse === "string" && REFUSAL_CODE.test(answer.refuse) ? answer.refuse : "forbidden";
}

export function isRefusal(answer: unknown): answer is HookRefusal {
  return typeof answer === "object" && answer !== null && "refuse" in answer;
}

/** A hook that threw or rejected: the publish or connection is refused with this code (docs/protocol.md). */
export const HOOK_FAILED = "hook_failed";

/**
 * The deployer's `connect` hook, run before a WebSocket or SSE reader is
 * admitted (an MQTT client's runs at its CONNECT, mqtt/connect.ts, where the
 * token may first arrive). `{ refuse }` answers 403 with the hook's code;
 * `{ meta }` becomes the connection's presence meta; a hook that throws
 * answers 500 `hook_failed`, and the connection is not made.
 */
import { errorResponse } from "../protocol";
import { HOOK_FAILED, isRefusal, refusalCode, type ConnectAnswer, type ConnectionKind, type HookConnection, type RelayHooks } from "../protocol/hooks";
import { MAX_META_BYTES } from "../protocol/limits";
import type { Identity } from "../handoff/identity";
import type { Handoff } from "../handoff/request";

export type ConnectHook = NonNullable<RelayHooks["connect"]>;

/** The hook's verdict: the identity to connect with (its meta maybe replaced), or a refusal. */
export type ConnectVerdict = { identity: Identity } | { refuse: string; message: string; failed: boolean };

/** Runs the hook for a connection of `kind`; `id` is null until the connection has one. */
export async function decideConnect(hook: ConnectHook, room: string, kind: ConnectionKind, id: string | null, identity: Identity): Promise<ConnectVerdict> {
  const c: HookConnection = { room, sub: identity.sub, kind, id, scopes: [...identity.scopes], meta: identity.meta };
  let answer: ConnectAnswer;
  try {
    answer = await hook(c);
  } catch (error) {
    console.error(`room ${room}: the connect hook failed`, error);
    return { refuse: HOOK_FAILED, message: "the room's connect hook failed", failed: true };
  }
  if (answer === undefined || answer === null) return { identity };
  if (isRefusal(answer)) {
    return { refuse: refusalCode(answer), message: typeof answer.message === "string" ? answer.message : "refused by the room's connect hook", failed: false };
  }
  const meta = (answer as { meta?: unknown }).meta;
  if (meta === undefined) return { identity };
  if (typeof meta !== "object" || meta === null || Array.isArray(meta) || new TextEncoder().encode(JSON.stringify(meta)).byteLength > MAX_META_BYTES) {
    console.error(`room ${room}: the connect hook's meta is not an object of at most ${MAX_META_BYTES} bytes of JSON`);
    return { refuse: HOOK_FAILED, message: "the room's connect hook answered a meta that is not an object of at most 1 KiB", failed: true };
  }
  return { identity: { ...identity, meta: meta as Record<string, unknown> } };
}

/** For a WebSocket or SSE hand-off: null to go on (the hand-off's meta updated), or the refusal's HTTP answer. */
export async function runConnectHook(hook: ConnectHook | undefined, room: string, handoff: Handoff): Promise<Response | null> {
  if (hook === undefined || handoff.kind === "mqtt") return null;
  const kind: ConnectionKind = handoff.kind === "sse" ? "sse" : handoff.options.mode;
  const verdict = await decideConnect(hook, room, kind, null, handoff.identity);
  if ("identity" in verdict) {
    handoff.identity = verdict.identity;
    return null;
  }
  return errorResponse(verdict.failed ? 500 : 403, verdict.refuse, verdict.message);
}

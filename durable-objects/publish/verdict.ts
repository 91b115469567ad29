/**
 * What the publish pipeline answers, on every door: accepted with its seq
 * (once the message is committed), or refused with a code. Each wire turns
 * it into its own answer (ack or error frame, HTTP status, MQTT PUBACK
 * reason or DISCONNECT, the shard RPC's result): see each door.
 */
import type { CloseCode } from "../../protocol";

export interface Accepted {
  ok: true;
  seq: number;
}

export interface Refused {
  ok: false;
  /** snake_case, as in error frames and HTTP errors: a step's own, or a hook's `refuse`. */
  code: string;
  message: string;
  /** Set when the rule ends the connection (a frame too large, a rate limit gone on): the socket's close code. */
  close?: CloseCode;
}

export type Verdict = Accepted | Refused;

export type Answer = (verdict: Verdict) => void;

export function refused(code: string, message: string, close?: CloseCode): Refused {
  return close === undefined ? { ok: false, code, message } : { ok: false, code, message, close };
}

export function accepted(seq: number): Accepted {
  return { ok: true, seq };
}

/** HTTP status of a refusal (the Worker's and the room's answers share one JSON error body). */
export function httpStatus(r: Refused): number {
  switch (r.code) {
    case "too_large":
      return 413;
    case "rate_limited":
      return 429;
    case "bad_request":
    case "bad_topic":
    case "bad_frame":
      return 400;
    case "hook_failed":
      return 500;
    default:
      return 403;
  }
}

/**
 * The deployer's `publish` hook as a pipeline step: the message as a JSON
 * client would see it goes in; what comes out is the publish to sequence
 * (the same, or the hook's `{ data }`) or a refusal. A hook that throws or
 * rejects refuses with `hook_failed` (and is logged); nothing is published.
 */
import { HOOK_FAILED, isRefusal, refusalCode, type HookConnection, type HookMessage, type PublishAnswer, type RelayHooks } from "../../protocol/hooks";
import { bytesToBase64 } from "../../protocol/base64";
import { textExceeds, type Payload, type PublishInput } from "../payload";
import type { Publisher } from "./steps";
import { refused, type Refused } from "./verdict";

export type HookOutcome = PublishInput | Refused;

export type PublishHook = NonNullable<RelayHooks["publish"]>;

/** Runs the hook; a plain value when the hook answered synchronously, a promise when it awaits. */
export function runPublishHook(hook: PublishHook, room: string, input: PublishInput, by: Publisher, maxBytes: number): HookOutcome | Promise<HookOutcome> {
  let answer: ReturnType<PublishHook>;
  try {
    answer = hook(messageView(input), connectionView(room, by));
  } catch (error) {
    return failed(room, error);
  }
  if (isPromiseLike(answer)) return Promise.resolve(answer).then((a) => outcome(input, a, maxBytes), (error) => failed(room, error));
  return outcome(input, answer, maxBytes);
}

export function connectionView(room: string, by: Publisher): HookConnection {
  const { sub, scopes, meta } = by.identity;
  return { room, sub, kind: by.kind, id: by.id, scopes: [...scopes], meta };
}

function messageView(input: PublishInput): HookMessage {
  const { payload, topic, retain, properties } = input;
  const props = properties === undefined ? {} : { properties };
  if (payload.kind === "binary") return { topic, data: bytesToBase64(payload.value), binary: true, retain, ...props };
  return { topic, data: payload.value, binary: false, retain, ...props };
}

function outcome(input: PublishInput, answer: PublishAnswer, maxBytes: number): HookOutcome {
  if (answer === undefined || answer === null) return input;
  if (isRefusal(answer)) return refused(refusalCode(answer), typeof answer.message === "string" ? answer.message : "refused by the room's publish hook");
  if (typeof answer !== "object" || !("data" in answer)) return input;
  // What the hook publishes instead meets the size rule too.
  const payload = payloadOf(answer.data);
  if (payloadBytesExceed(payload, maxBytes)) return refused("too_large", `the publish hook's data is larger than ${maxBytes} bytes`);
  return { ...input, payload };
}

/** The hook's `{ data }` as a JSON client would publish it: bytes stay bytes, a string is text, anything else JSON. */
function payloadOf(data: unknown): Payload {
  if (data instanceof Uint8Array) return { kind: "binary", value: data };
  if (data instanceof ArrayBuffer) return { kind: "binary", value: new Uint8Array(data) };
  if (typeof data === "string") return { kind: "text", value: data };
  return { kind: "json", value: data === undefined ? null : data };
}

function failed(room: string, error: unknown): Refused {
  console.error(`room ${room}: the publish hook failed`, error);
  return refused(HOOK_FAILED, "the room's publish hook failed; nothing was published");
}

export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function payloadBytesExceed(payload: Payload, maxBytes: number): boolean {
  if (payload.kind === "binary") return payload.value.byteLength > maxBytes;
  return textExceeds(payload.kind === "text" ? payload.value : (JSON.stringify(payload.value) ?? ""), maxBytes);
}

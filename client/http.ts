/**
 * Publishing over plain HTTP (`POST /rooms/:room/messages`), for scripts and
 * servers that do not want to hold a socket open. Uses the global `fetch`
 * (browsers, Node 18+), so it stays in the browser-safe part of the library.
 */
import { roomHttpUrl, type ErrorBody, type PublishResult } from "../protocol/index.js";
import { RoomcastError } from "./errors.js";
import { newPublishId } from "./outbox.js";

export interface PublishHttpOptions {
  /** The relay's origin, `http(s)://` or `ws(s)://`. */
  url: string;
  room: string;
  /** A JSON payload, sent as `{"data": …}`. Give exactly one of `data`, `text`, `bytes`. */
  data?: unknown;
  /** A text payload, sent as `text/plain`. */
  text?: string;
  /** A binary payload, sent as `application/octet-stream`. */
  bytes?: Uint8Array;
  token?: string;
  /** Sent as `Idempotency-Key`; a random one when omitted. Reuse it to retry safely. */
  idempotencyKey?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export async function publishHttp(options: PublishHttpOptions): Promise<PublishResult> {
  const headers: Record<string, string> = { "Idempotency-Key": options.idempotencyKey ?? newPublishId() };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: BodyInit;
  if (options.text !== undefined) {
    headers["Content-Type"] = "text/plain; charset=utf-8";
    body = options.text;
  } else if (options.bytes !== undefined) {
    headers["Content-Type"] = "application/octet-stream";
    body = options.bytes as BodyInit;
  } else {
    if (options.data === undefined) throw new TypeError("roomcast: publishHttp needs `data`, `text` or `bytes`");
    headers["Content-Type"] = "application/json";
    body = JSON.stringify({ data: options.data });
  }
  const url = roomHttpUrl(options.url, options.room, "/messages");
  const { json, text, status } = await requestJson(url, { method: "POST", headers, body, signal: options.signal }, options.fetch);
  const result = json as Partial<PublishResult> | undefined;
  if (typeof result?.seq !== "number" || typeof result.epoch !== "string") {
    throw new RoomcastError("http_error", `roomcast: unexpected answer from ${url}: ${text.slice(0, 200)}`, status);
  }
  return { seq: result.seq, epoch: result.epoch };
}

/**
 * One request to the relay whose answer is JSON: a network failure or an
 * error answer becomes a RoomcastError with the relay's code (`forbidden`,
 * `token_revoked`, …), the one way this library reports them.
 */
export async function requestJson(url: string, init: RequestInit, doFetch: typeof fetch = globalThis.fetch): Promise<{ json: unknown; text: string; status: number }> {
  let response: Response;
  try {
    response = await doFetch(url, init);
  } catch (error) {
    const why = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new RoomcastError("http_error", `roomcast: cannot reach ${url}: ${why}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const err = (json as Partial<ErrorBody> | undefined)?.error;
    throw new RoomcastError(
      err?.code ?? "http_error",
      `roomcast: HTTP ${response.status}${err ? ` ${err.code}: ${err.message}` : text ? `: ${text.slice(0, 200)}` : ""}`,
      response.status,
    );
  }
  return { json, text, status: response.status };
}

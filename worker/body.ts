/**
 * Reads the body of `POST /rooms/:room/messages` into a payload:
 * `application/json` must be `{"data": …}`; `text/*` (and bodies with no
 * content type that decode as UTF-8) are text; anything else is bytes.
 */
import type { Payload } from "../durable-objects/payload";
import { jsonDepthExceeds } from "../protocol/json-depth";
import { MAX_JSON_DEPTH } from "../protocol/limits";
import { apiError } from "./errors";

/** Throws on invalid UTF-8 instead of inserting U+FFFD. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export async function readBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array(0);
  // Count while reading: a chunked body has no content-length to trust.
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes + 64) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(maxBytes: number) {
  return apiError(413, "too_large", `message body larger than ${maxBytes} bytes`);
}

/** A publish body: its payload, and the `topic`/`retain` fields of a JSON body (unchecked; absent otherwise). */
export interface PublishBody {
  payload: Payload;
  topic?: unknown;
  retain?: unknown;
  history?: unknown;
  properties?: unknown;
}

export async function readPayload(request: Request, maxBytes: number): Promise<PublishBody> {
  // The JSON wrapper {"data":…} gets a little room beyond the payload limit.
  const bytes = await readBytes(request, maxBytes);
  if (bytes.byteLength === 0) throw apiError(400, "bad_request", "empty body: send JSON {\"data\":…}, text or bytes");
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();

  if (type === "application/json" || type.endsWith("+json")) {
    let text: string;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      throw apiError(400, "bad_json", "body is not valid JSON");
    }
    // +1: the {"data": …} wrapper is not part of the payload's depth.
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH + 1)) {
      throw apiError(400, "bad_request", `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw apiError(400, "bad_json", "body is not valid JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body) || !("data" in body)) {
      throw apiError(400, "bad_request", 'a JSON body must be an object like {"data": …}');
    }
    const { data, topic, retain, history, properties } = body as { data: unknown; topic?: unknown; retain?: unknown; history?: unknown; properties?: unknown };
    if (bytes.byteLength > maxBytes && JSON.stringify(data).length > maxBytes) throw tooLarge(maxBytes);
    return { payload: { kind: "json", value: data }, topic, retain, history, properties };
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  if (type.startsWith("text/") || type === "") {
    try {
      return { payload: { kind: "text", value: strictUtf8.decode(bytes) } };
    } catch {
      if (type !== "") throw apiError(400, "bad_request", "text body is not valid UTF-8");
    }
  }
  return { payload: { kind: "binary", value: bytes } };
}

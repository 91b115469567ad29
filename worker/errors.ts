/**
 * Every error the Worker answers is JSON `{"error":{"code","message"}}`.
 * Handlers and middleware throw `apiError(...)`; `onError` turns anything else
 * into a 500 without leaking internals.
 */
import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { errorResponse, type ErrorCode } from "../protocol";

export { errorResponse };

export function apiError(status: ContentfulStatusCode, code: ErrorCode, message: string, headers?: HeadersInit): HTTPException {
  return new HTTPException(status, { res: errorResponse(status, code, message, headers) });
}

/** Unread request bodies up to this size are drained before an error is answered. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * A request refused before its body was read (no token, bad room name…)
 * would leave the body on the connection, and the runtime then closes that
 * keep-alive connection under the client's next request. Reading a small
 * body first keeps the connection usable; a large one is not worth it.
 */
async function drainSmallBody(request: Request): Promise<void> {
  if (request.body === null || request.bodyUsed) return;
  const length = Number(request.headers.get("content-length") ?? "NaN");
  if (!(length <= DRAIN_LIMIT)) return;
  try {
    await request.arrayBuffer();
  } catch {
    // the client went away; nothing to keep alive
  }
}

export const onError: ErrorHandler = async (err, c) => {
  await drainSmallBody(c.req.raw);
  if (err instanceof HTTPException) {
    // Hono's own exceptions (e.g. from its body parsers) carry no JSON body.
    const res = err.getResponse();
    if (res.headers.get("content-type")?.includes("application/json")) return res;
    return errorResponse(err.status as ContentfulStatusCode, err.status === 401 ? "unauthorized" : "bad_request", err.message || res.statusText);
  }
  console.error("unhandled error", err);
  return errorResponse(500, "internal", "internal error");
};

export const onNotFound: NotFoundHandler = async (c) => {
  await drainSmallBody(c.req.raw);
  return errorResponse(404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
};

/** For a known path hit with a method it does not serve. */
export function methodNotAllowed(allowed: string[]): never {
  throw apiError(405, "method_not_allowed", `use ${allowed.join(" or ")}`, { allow: allowed.join(", ") });
}

/**
 * The dashboard page (GET /) and its files, served by the Worker from the
 * module dashboard/build.mjs generates. Not through wrangler's `[assets]`:
 * that layer is one more worker in front of every request, WebSocket
 * upgrades included, and locally it cost as much runtime CPU per upgrade as
 * all the rest of an upgrade (docs/performance.md).
 *
 * Every file carries the page's security headers: it loads only its own
 * script and stylesheet and talks only to its own origin (fetch,
 * WebSocket); nobody may frame it; no URL (its ?token= included) leaks to
 * another site in a Referer. See docs/security.md.
 */
import type { Context } from "hono";
import { FILES, type PageFile } from "./files.generated";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

/** The paths the page is served at: its files, and `/` for index.html. */
export const PAGE_PATHS: readonly string[] = ["/", ...Object.keys(FILES)];

/** GET or HEAD of one of PAGE_PATHS; a fresh copy is revalidated with its ETag (304). */
export function servePage(c: Context): Response {
  const path = c.req.path === "/" ? "/index.html" : c.req.path;
  const file = FILES[path] as PageFile;
  const headers = new Headers(SECURITY_HEADERS);
  headers.set("etag", file.etag);
  headers.set("cache-control", "public, max-age=0, must-revalidate");
  if (c.req.header("if-none-match") === file.etag) return new Response(null, { status: 304, headers });
  headers.set("content-type", file.type);
  if (c.req.method !== "HEAD") return new Response(file.body, { headers });
  headers.set("content-length", String(file.bytes));
  return new Response(null, { headers });
}

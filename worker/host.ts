/**
 * The Host gate: which names an open relay answers to.
 *
 * Open mode (no AUTH_SECRET) lets anyone who reaches the relay read and
 * write every room; it is meant for a developer's own machine. On that
 * machine, any web page can reach it by DNS rebinding: a page at
 * `http://rebind.attacker.example:8787` re-points its name at 127.0.0.1 and
 * then reads `/rooms/…/messages`, `/presence`, `/retained` or the SSE stream
 * with *same-origin* GETs, which browsers send without an `Origin` header, so
 * the Origin gate (./origin.ts) never sees them. What such a request cannot
 * hide is its `Host`: the attacker's name. So an open relay answers only
 * requests whose Host is a loopback name or address (a loopback name cannot
 * be re-pointed by an attacker), or a name the operator listed in
 * `ALLOWED_HOSTS`; everything else gets 403 `host_forbidden`.
 *
 * With AUTH_SECRET set the gate stands aside: every room request carries a
 * token, which a rebound page does not have.
 */
import type { MiddlewareHandler } from "hono";
import { apiError } from "./errors";

/**
 * Whether `hostname` (a URL's hostname: lower case, IPv6 in brackets) is
 * loopback: `localhost`, `*.localhost`, 127.0.0.0/8 or `[::1]`. Browsers
 * resolve `localhost` and `*.localhost` to loopback themselves (RFC 6761),
 * never through DNS an attacker controls.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

export type HostMatcher = (hostname: string) => boolean;

/**
 * Compiles an `ALLOWED_HOSTS` value: comma-separated host names or addresses
 * (no port: any port matches), `*.example.com` for its subdomains, or `*`
 * for every host (which gives up the rebinding protection). Loopback hosts
 * are always allowed.
 */
export function compileHosts(list: string): HostMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of list.split(",").map((s) => s.trim().toLowerCase().replace(/\.$/, "")).filter(Boolean)) {
    if (entry === "*") return () => true;
    if (entry.startsWith("*.") && entry.length > 2) suffixes.push(entry.slice(1));
    else exact.add(entry);
  }
  return (hostname) => {
    const host = hostname.toLowerCase().replace(/\.$/, "");
    return isLoopbackHost(host) || exact.has(host) || suffixes.some((s) => host.endsWith(s) && host.length > s.length);
  };
}

export interface HostGateOptions<E extends object> {
  /** Whether the relay runs in open mode (no AUTH_SECRET): the gate acts only then. */
  open: (env: E) => boolean;
  /** The extra names, read from the environment (`ALLOWED_HOSTS`). */
  allowed: (env: E) => string | undefined;
}

/** Hono middleware refusing, in open mode, a request on a non-loopback, unlisted Host with 403 `host_forbidden`. */
export function hostGate<E extends object>(options: HostGateOptions<E>): MiddlewareHandler<{ Bindings: E }> {
  // Compiled once per distinct value, not per request.
  let compiledFor: string | null = null;
  let matcher: HostMatcher = isLoopbackHost;
  return async function hostGateMiddleware(c, next) {
    if (!options.open(c.env)) return next();
    // The URL's host is the request's Host header (workerd builds the URL from it).
    const hostname = new URL(c.req.url).hostname;
    const list = options.allowed(c.env) ?? "";
    if (list !== compiledFor) {
      matcher = compileHosts(list);
      compiledFor = list;
    }
    if (matcher(hostname)) return next();
    throw apiError(
      403,
      "host_forbidden",
      `host ${JSON.stringify(hostname.slice(0, 200))} is not a loopback name: a relay in open mode (no AUTH_SECRET) answers only localhost, 127.0.0.1 and [::1]. ` +
        "To serve this name, add it to the ALLOWED_HOSTS var, or set AUTH_SECRET (docs/security.md, DNS rebinding).",
    );
  };
}

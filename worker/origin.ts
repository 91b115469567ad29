/**
 * The Origin gate. `ALLOWED_ORIGINS` is a comma-separated list of entries:
 * - an exact origin:        https://app.example.com
 * - a subdomain wildcard:   https://*.example.com   (any depth, not the apex)
 * - a port wildcard:        http://localhost:*
 * - everything:             *
 * A request with an Origin that matches none is refused with 403 before any
 * Room is touched. A request without Origin (a device, a server) passes: the
 * auth gate decides about it.
 *
 * Origins compare with default ports normalised: `https://h:443` is
 * `https://h` and `http://h:80` is `http://h`, whether spelled so in the list
 * or in the header (stock clients such as Python's paho-mqtt spell the port
 * out). Hosts compare case-insensitively.
 *
 * A page served by the relay itself (Origin equal to the request's own origin)
 * passes without a rule only on a loopback host (localhost, 127.0.0.0/8,
 * [::1]): the request's own origin comes from its `Host` header, which the
 * client chooses. A DNS-rebinding page at `http://rebind.attacker.example:8787`
 * whose name now resolves to 127.0.0.1 sends that Host and that Origin, so
 * "same origin" alone would let it in. A loopback name cannot be rebound. A
 * deployed dashboard's origin is listed in ALLOWED_ORIGINS like any other.
 */
import type { MiddlewareHandler } from "hono";
import { apiError } from "./errors";
import { isLoopbackHost } from "./host";

export type OriginMatcher = (origin: string) => boolean;

interface Rule {
  scheme: string;
  /** Exact host, or the suffix (".example.com") for a subdomain wildcard. */
  host: string;
  subdomains: boolean;
  /** Exact port ("" for the scheme's default), or null for any. */
  port: string | null;
}

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443" };

/**
 * An origin as scheme, host and port, the port "" when it is the scheme's
 * default, so that the two spellings of one origin compare equal. The host
 * is a name or IPv4 address, or an IPv6 address in brackets.
 */
function parseOrigin(origin: string): { scheme: string; host: string; port: string } | null {
  const m = /^([a-z][a-z0-9+.-]*:)\/\/(\[[0-9a-f:.]+\]|[^/:?#@.[\]][^/:?#@[\]]*)(?::(\d{1,5}))?$/i.exec(origin.trim());
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  const port = m[3] ?? DEFAULT_PORTS[scheme] ?? "";
  return { scheme, host: m[2]!.toLowerCase().replace(/\.$/, ""), port: port === DEFAULT_PORTS[scheme] ? "" : port };
}

function parseRule(entry: string): Rule | "any" | null {
  if (entry === "*") return "any";
  const portWildcard = entry.endsWith(":*");
  const base = portWildcard ? entry.slice(0, -2) : entry;
  const subdomains = /^[a-z][a-z0-9+.-]*:\/\/\*\./i.test(base);
  const parsed = parseOrigin(subdomains ? base.replace("://*.", "://") : base);
  if (!parsed) return null;
  return {
    scheme: parsed.scheme,
    host: subdomains ? `.${parsed.host}` : parsed.host,
    subdomains,
    port: portWildcard ? null : parsed.port,
  };
}

/** Compiles an `ALLOWED_ORIGINS` value into a matcher; malformed entries are ignored with a warning. */
export function compileOrigins(list: string): OriginMatcher {
  const rules: Rule[] = [];
  for (const entry of list.split(",").map((s) => s.trim()).filter(Boolean)) {
    const rule = parseRule(entry);
    if (rule === "any") return () => true;
    if (rule === null) console.warn(`ALLOWED_ORIGINS: ignoring malformed entry ${JSON.stringify(entry)}`);
    else rules.push(rule);
  }
  return (origin) => {
    const o = parseOrigin(origin);
    if (!o) return false; // "null", garbage, paths: never allowed by a rule
    return rules.some(
      (r) =>
        r.scheme === o.scheme &&
        (r.port === null || r.port === o.port) &&
        (r.subdomains ? o.host.endsWith(r.host) && o.host.length > r.host.length : o.host === r.host),
    );
  };
}

export interface OriginGateOptions<E extends object> {
  /** The allow-list, read from the environment (so a deploy can change it). */
  allowed: (env: E) => string;
}

/** Hono middleware refusing foreign origins with 403 `origin_forbidden`. */
export function originGate<E extends object>(options: OriginGateOptions<E>): MiddlewareHandler<{ Bindings: E }> {
  // Compiled once per distinct value, not per request.
  let compiledFor: string | null = null;
  let matcher: OriginMatcher = () => false;
  return async function originGateMiddleware(c, next) {
    const origin = c.req.header("origin");
    if (origin === undefined) return next();
    const list = options.allowed(c.env);
    if (list !== compiledFor) {
      matcher = compileOrigins(list);
      compiledFor = list;
    }
    if (matcher(origin) || isLoopbackSelf(origin, new URL(c.req.url))) return next();
    throw apiError(403, "origin_forbidden", `origin ${JSON.stringify(origin.slice(0, 200))} is not allowed`);
  };
}

/**
 * Whether `origin` is the request's own origin (default ports normalised, as
 * for the list) and that origin is a loopback host.
 */
function isLoopbackSelf(origin: string, url: URL): boolean {
  const o = parseOrigin(origin);
  const self = parseOrigin(url.origin);
  return (
    o !== null && self !== null && o.scheme === self.scheme && o.host === self.host && o.port === self.port && isLoopbackHost(self.host)
  );
}

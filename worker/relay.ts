/**
 * `createRelay({ hooks })`: the Worker and the Room class, made together so
 * that the Room runs the deployer's hooks. The repository's own Worker
 * (worker/index.ts) is `createRelay()` with none; a deployer's project
 * imports it from `roomcast/server` (docs/protocol.md, "A deployer's own
 * Worker"). The Worker is Roomcast's edge: it checks Origin (and, with
 * AUTH_SECRET, the token), validates input, and routes each room to its
 * Durable Object. Without AUTH_SECRET (open mode) it answers loopback Host
 * names only (worker/host.ts). It holds no socket state.
 */
import { Hono } from "hono";
import type { RelayHooks } from "../protocol/hooks";
import { Room as RoomCore } from "../durable-objects/room";
import { isOpenMode } from "./auth";
import { onError, onNotFound, methodNotAllowed } from "./errors";
import { hostGate } from "./host";
import { originGate } from "./origin";
import { PAGE_PATHS, servePage } from "./page";
import { rooms } from "./rooms";
import { admin } from "./admin";
import { VERSION } from "./version";

export interface RelayOptions {
  hooks?: RelayHooks;
}

export interface Relay {
  /** The Worker's fetch handler: `export default relay`. */
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
  /** The Durable Object class, bound as `ROOM` in wrangler.toml: `export const Room = relay.Room`. */
  Room: typeof RoomCore;
}

export function createRelay(options: RelayOptions = {}): Relay {
  const hooks: RelayHooks = { ...options.hooks };
  const app = new Hono<{ Bindings: Env }>();
  app.onError(onError);
  app.notFound(onNotFound);
  // Open mode answers only loopback names (and ALLOWED_HOSTS): a DNS-rebinding
  // page reads nothing, even with the same-origin GETs the Origin gate never
  // sees. It guards the page and the rooms; /health (a version, no data) stays
  // open so that a liveness probe works whatever name it uses.
  const hostGuard = hostGate<Env>({ open: (env) => isOpenMode(env.AUTH_SECRET), allowed: (env) => env.ALLOWED_HOSTS });
  // The dashboard page: before the Origin gate, as a page load sends no Origin.
  for (const path of PAGE_PATHS) app.on(["GET", "HEAD"], path, hostGuard, servePage);
  app.use("*", originGate<Env>({ allowed: (env) => env.ALLOWED_ORIGINS }));
  app.get("/health", (c) => c.json({ ok: true, version: VERSION }));
  app.all("/health", () => methodNotAllowed(["GET"]));
  // After the Origin gate, so that a foreign Origin is still told origin_forbidden.
  app.use("/rooms/*", hostGuard);
  app.route("/rooms", rooms);
  app.use("/admin/*", hostGuard);
  app.route("/admin", admin);

  /** The Room with this relay's hooks: read from the prototype, so the constructor already sees them. */
  class Room extends RoomCore {
    protected override relayHooks(): RelayHooks {
      return hooks;
    }
  }
  return { fetch: (request, env, ctx) => app.fetch(request, env, ctx), Room };
}

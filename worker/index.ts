/**
 * The Worker: Roomcast's edge. It checks Origin and, with AUTH_SECRET, the
 * token (without it, open mode, the Host: loopback names only), validates input, and routes each room to its Durable Object. It
 * holds no socket state.
 */
import { Hono } from "hono";
import { onError, onNotFound, methodNotAllowed } from "./errors";
import { isOpenMode } from "./auth";
import { hostGate } from "./host";
import { originGate } from "./origin";
import { PAGE_PATHS, servePage } from "./page";
import { rooms } from "./rooms";
import { VERSION } from "./version";

export { Room } from "../durable-objects/room";

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

export default app;

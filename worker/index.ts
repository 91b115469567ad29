/**
 * The Worker: Roomcast's edge. It checks Origin (and, with AUTH_SECRET, the
 * token), validates input, and routes each room to its Durable Object. It
 * holds no socket state.
 */
import { Hono } from "hono";
import { onError, onNotFound, methodNotAllowed } from "./errors";
import { originGate } from "./origin";
import { PAGE_PATHS, servePage } from "./page";
import { rooms } from "./rooms";
import { VERSION } from "./version";

export { Room } from "../durable-objects/room";

const app = new Hono<{ Bindings: Env }>();

app.onError(onError);
app.notFound(onNotFound);

// The dashboard page: before the Origin gate, as a page load sends no Origin.
for (const path of PAGE_PATHS) app.on(["GET", "HEAD"], path, servePage);

app.use("*", originGate<Env>({ allowed: (env) => env.ALLOWED_ORIGINS }));

app.get("/health", (c) => c.json({ ok: true, version: VERSION }));
app.all("/health", () => methodNotAllowed(["GET"]));

app.route("/rooms", rooms);

export default app;

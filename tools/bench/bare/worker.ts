/**
 * The floor of this runtime: a hibernating Durable Object that forwards every
 * frame to every other socket of its room and does nothing else (no envelope,
 * no sequence, no storage, no attachment reads). Roomcast is measured against it.
 *
 * `GET /rooms/:room` without an upgrade answers the wake-up counters the idle
 * scenario reads; `ping` is answered by the runtime, as in Roomcast.
 */
import { DurableObject } from "cloudflare:workers";

interface BareEnv {
  BARE: DurableObjectNamespace<BareRoom>;
}

/** Module scope outlives an evicted object (same isolate): counts across wake-ups. */
const wakes = { constructed: 0, messages: 0 };

export class BareRoom extends DurableObject<BareEnv> {
  constructor(ctx: DurableObjectState, env: BareEnv) {
    super(ctx, env);
    wakes.constructed++;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ ...wakes, connections: this.ctx.getWebSockets().length });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(sender: WebSocket, message: string | ArrayBuffer): Promise<void> {
    wakes.messages++;
    for (const ws of this.ctx.getWebSockets()) {
      if (ws === sender) continue;
      try {
        ws.send(message);
      } catch {
        // closing socket: its close handler cleans up
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }
}

export default {
  async fetch(request: Request, env: BareEnv): Promise<Response> {
    const match = /^\/rooms\/([A-Za-z0-9._:-]+)$/.exec(new URL(request.url).pathname);
    if (!match) return new Response("not found", { status: 404 });
    return env.BARE.get(env.BARE.idFromName(match[1]!)).fetch(request);
  },
} satisfies ExportedHandler<BareEnv>;

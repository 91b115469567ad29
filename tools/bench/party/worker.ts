/**
 * The peer: the same broadcast room written on partyserver with
 * `hibernate: true`, as a PartyKit user would write it. Frames are forwarded
 * as they came to every other connection (`broadcast` with the sender
 * excluded). Rooms are at `/parties/bench-room/:room`.
 *
 * A non-upgrade request answers the wake-up counters of the idle scenario;
 * `ping` is answered by the runtime, as in Roomcast and the bare object.
 */
import { routePartykitRequest, Server, type Connection, type WSMessage } from "partyserver";

interface PartyEnv extends Cloudflare.Env {
  BenchRoom: DurableObjectNamespace<BenchRoom>;
}

/** Module scope outlives an evicted object (same isolate): counts across wake-ups. */
const wakes = { constructed: 0, messages: 0 };

export class BenchRoom extends Server<PartyEnv> {
  static override options = { hibernate: true };

  constructor(ctx: DurableObjectState, env: PartyEnv) {
    super(ctx, env);
    wakes.constructed++;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override onMessage(connection: Connection, message: WSMessage): void {
    wakes.messages++;
    this.broadcast(message, [connection.id]);
  }

  override onRequest(): Response {
    return Response.json({ ...wakes, connections: [...this.getConnections()].length });
  }
}

export default {
  async fetch(request: Request, env: PartyEnv): Promise<Response> {
    return (await routePartykitRequest(request, env)) ?? new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<PartyEnv>;

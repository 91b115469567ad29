/**
 * The one hand-off from the Worker to a Room, for what RPC cannot carry (a
 * WebSocket upgrade, an SSE stream): the Worker validates the request and
 * encodes what it decided (who is calling, what they asked for, and which
 * kind of stream) into one header; the Room decodes it once and trusts it,
 * because nothing but the Worker can reach a Room.
 */
import type { Identity } from "./identity";
import type { StreamOptions } from "./options";

/** What the Room is asked to open: a WebSocket (of `options.mode`), an SSE stream, or an MQTT-over-WebSocket connection. */
export type StreamKind = "socket" | "sse" | "mqtt";

/** What an MQTT upgrade adds (kind "mqtt"). */
export interface MqttHandoff {
  /** The WebSocket subprotocol the Worker chose from the client's offer: the 101 must name it. */
  subprotocol: string;
  /**
   * AUTH_SECRET is set and the upgrade carried no token: the CONNECT password
   * must carry it, and the Room verifies it (`identity` has no scopes until then).
   */
  tokenPending: boolean;
}

export interface Handoff {
  kind: StreamKind;
  identity: Identity;
  options: StreamOptions;
  /** When the Worker handed the request on (ms): the Room sheds joins that queued too long. */
  sentAt: number;
  /** Set for kind "mqtt" only. */
  mqtt?: MqttHandoff;
}

/** Only the Worker writes it: the Room's request is built afresh, so a client's copy never gets through. */
const HANDOFF_HEADER = "x-roomcast-handoff";

/**
 * The request to send to the Room: the client's URL, its `upgrade` header
 * for a WebSocket, and the hand-off; nothing else of the client's request
 * (so no client-sent internal header can reach the Room, and nothing is
 * copied per join that the Room never reads).
 */
export function encodeHandoff(request: Request, handoff: Handoff): Request {
  const headers: Record<string, string> = { [HANDOFF_HEADER]: JSON.stringify(handoff) };
  const upgrade = request.headers.get("upgrade");
  if (upgrade !== null) headers.upgrade = upgrade;
  return new Request(request.url, { headers });
}

/** The hand-off the Worker put on `request`; null when there is none (nothing but the Worker calls a Room). */
export function decodeHandoff(request: Request): Handoff | null {
  const header = request.headers.get(HANDOFF_HEADER);
  return header === null ? null : (JSON.parse(header) as Handoff);
}

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

/** Only the Worker speaks in headers with this prefix; it strips every client-sent one. */
export const INTERNAL_HEADER_PREFIX = "x-roomcast-";
const HANDOFF_HEADER = "x-roomcast-handoff";

/** The request to send to the Room: the client's own, its internal headers replaced by the hand-off. */
export function encodeHandoff(request: Request, handoff: Handoff): Request {
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) {
    if (name.startsWith(INTERNAL_HEADER_PREFIX)) headers.delete(name);
  }
  headers.set(HANDOFF_HEADER, JSON.stringify(handoff));
  return new Request(request, { headers });
}

/** The hand-off the Worker put on `request`; null when there is none (nothing but the Worker calls a Room). */
export function decodeHandoff(request: Request): Handoff | null {
  const header = request.headers.get(HANDOFF_HEADER);
  return header === null ? null : (JSON.parse(header) as Handoff);
}

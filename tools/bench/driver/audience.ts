/**
 * The subscribers of a scenario: `count` sockets in one room, each counted by
 * the shared tally (load/) from seq 0 of a fresh room, with the time of the
 * last frame (to wait for calm) and of the last delivery (to end a burst).
 */
import type WebSocket from "ws";
import { openSockets, type SubscriberTally, type Tally } from "../../load/index.js";
import type { SystemEndpoint } from "../systems/system.js";
import { decode, now, socketUrl, type Delivered } from "./wire.js";

export interface Audience {
  sockets: WebSocket[];
  /** Date.now() of the last frame of any kind (presence floods included). */
  lastFrameAt: number;
  /** now() of the last delivery. */
  lastDeliveryAt: number;
}

export async function openAudience(
  endpoint: SystemEndpoint,
  room: string,
  count: number,
  tally: Tally,
  onDelivery?: (delivered: Delivered, receivedAt: number) => void,
): Promise<Audience> {
  const subs: SubscriberTally[] = Array.from({ length: count }, (_, i) => tally.watch(`sub-${i}`, room, 0));
  const audience: Audience = { sockets: [], lastFrameAt: Date.now(), lastDeliveryAt: 0 };
  audience.sockets = await openSockets(socketUrl(endpoint, room), count, {
    onMessage: (index, frame) => {
      audience.lastFrameAt = Date.now();
      const deliveries = decode(endpoint, frame);
      if (deliveries.length === 0) return;
      const receivedAt = now();
      for (const delivered of deliveries) {
        subs[index]!.record(delivered.seq, delivered.data, receivedAt);
        onDelivery?.(delivered, receivedAt);
      }
      audience.lastDeliveryAt = receivedAt;
    },
  });
  return audience;
}

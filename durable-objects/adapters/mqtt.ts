/**
 * MQTT 3.1.1 / 5.0 over WebSocket (docs/mqtt.md), as a stateful adapter:
 * the socket lives in the Room like any other (hibernatable, counted,
 * rate-limited), and its subscriptions are its attachment's `filters`, so
 * the core's fan-out only offers it messages whose topic matches.
 *
 * This file is only the registration; the protocol is in ../mqtt/:
 * inbound.ts (frames to packets), connect.ts, publish.ts, subscribe.ts,
 * end.ts (will, DISCONNECT, failures), keep-alive.ts (silent clients ended
 * by the room's alarm), session-delivery.ts (live and resumed PUBLISH), on
 * the pure rules of protocol.ts, the bytes of codec.ts and outbound.ts, and
 * the tables of session-store.ts.
 */
import { attachmentOf } from "../sockets";
import { liveOf, stateOf, WS_PROTOCOL_ERROR } from "../mqtt/connection";
import { dismiss, end } from "../mqtt/end";
import { onFrame } from "../mqtt/inbound";
import { awaitConnect, sweep } from "../mqtt/keep-alive";
import { sweepWills } from "../mqtt/will-delay";
import { afterBatch, deliver } from "../mqtt/session-delivery";
import type { SessionProtocol, SocketAdapter } from "./adapter";

const session: SessionProtocol = {
  frame(ws, frame, port) {
    const l = liveOf(ws, port);
    l.chain = l.chain
      .then(() => onFrame(ws, l, frame, port))
      .catch((e: unknown) => {
        // A bug of ours must not take the room down: this connection ends, as a protocol error.
        console.error(`room ${port.name}: MQTT connection failed`, e);
        // What failed may be the state in memory itself (one that cannot be
        // saved): the room closes the socket with the attachment as last saved,
        // so it leaves presence once, and later frames and its close find it ended.
        try {
          end(ws, l, port); // the will and the session's close, if this much still works
        } catch {
          stateOf(l.att).ended = true;
        }
        port.shed(ws, WS_PROTOCOL_ERROR, "MQTT connection failed", attachmentOf(ws));
      });
  },
  deliver,
  afterBatch,
  sweep,
  sweepRoom: (now, port) => sweepWills(port, now),
  opened: awaitConnect,
  dismiss(ws, port, code, message, keepWill) {
    dismiss(ws, liveOf(ws, port), port, code, message, keepWill);
  },
  ended(ws, port) {
    end(ws, liveOf(ws, port), port);
  },
};

const EMPTY = new Uint8Array(0);

export const mqttAdapter: SocketAdapter = {
  kind: "mqtt",
  control: false,
  session,
  // Never used: the session hooks take every frame and build every packet.
  parse: () => ({ error: "bad_frame", message: "MQTT frames are handled by the MQTT session" }),
  message: () => EMPTY,
  replayed: () => EMPTY,
  welcome: () => null,
  presence: () => null,
  ack: () => null,
  error: () => null,
};

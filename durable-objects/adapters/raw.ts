/**
 * Raw mode, for the smallest devices: every frame sent is published as it
 * is; every frame received is another client's payload as it was sent. No
 * envelope, so no welcome, presence, acks or errors either.
 */
import { base64ToBytes } from "../../protocol/base64";
import type { MessageEnvelope } from "../../protocol";
import { rawForm } from "../payload";
import type { SocketAdapter } from "./adapter";

export const rawAdapter: SocketAdapter = {
  kind: "raw",
  control: false,
  parse(frame) {
    const payload = typeof frame === "string" ? { kind: "text", value: frame } as const : { kind: "binary", value: new Uint8Array(frame) } as const;
    return { publish: { payload, publishId: null, topic: null, retain: false } };
  },
  message: (m) => rawForm(m.payload),
  replayed(envelope) {
    const parsed = JSON.parse(envelope) as MessageEnvelope;
    if (parsed.binary) return base64ToBytes(parsed.data as string);
    return typeof parsed.data === "string" ? parsed.data : JSON.stringify(parsed.data);
  },
  welcome: () => null,
  presence: () => null,
  ack: () => null,
  error: () => null,
};

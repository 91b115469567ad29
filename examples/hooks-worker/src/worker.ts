/**
 * My relay: Roomcast with two rules of my own.
 * - Devices never publish on `admin/…`: refused (the publisher gets an
 *   error frame `forbidden_topic`, HTTP 403, or MQTT 5 PUBACK 0x87).
 * - A JSON message's `password` field is never stored or delivered: every
 *   reader (and history) gets "***" instead.
 */
import { createRelay } from "roomcast/server";

const relay = createRelay({
  hooks: {
    publish(m) {
      if (m.topic?.startsWith("admin/")) return { refuse: "forbidden_topic", message: "devices may not publish on admin/…" };
      if (typeof m.data === "object" && m.data !== null && "password" in m.data) {
        return { data: { ...m.data, password: "***" } };
      }
      return undefined; // publish as it is
    },
  },
});

export const Room = relay.Room;
export default relay;

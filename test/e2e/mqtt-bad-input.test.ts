/**
 * What an MQTT client must not send, sent over real sockets: random and
 * truncated packets, unknown protocol levels, oversized Remaining Lengths,
 * wildcard topics in PUBLISH, QoS 3, text frames, a second CONNECT. Each is
 * refused as the spec says (CONNACK or 5.0 DISCONNECT with its reason, then
 * the close, never 1011) while the room goes on serving everyone else.
 */
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { seededRandom } from "../support/random";
import { sleep, uniqueRoom } from "../support/socket";

const relay = useRelay({ vars: { MAX_MESSAGE_BYTES: "4096" } });
const url = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;

/** A healthy subscriber and publisher; `check` proves the room still serves them. */
async function bystanders(room: string) {
  const sub = await connectCollecting(url(room), { protocolVersion: 5 });
  await sub.client.subscribeAsync("ok/#", { qos: 1 });
  const pub = await connectCollecting(url(room), { protocolVersion: 4 });
  let n = 0;
  return {
    async check() {
      const payload = `still-${n++}`;
      await pub.client.publishAsync("ok/x", payload, { qos: 1 });
      await until(() => sub.got.some((g) => g.payload === payload));
    },
    async end() {
      await sub.client.endAsync(true);
      await pub.client.endAsync(true);
    },
  };
}

async function connected(room: string, version: 4 | 5): Promise<RawMqtt> {
  const c = await RawMqtt.open(url(room), version);
  c.connect({ clientId: `bad-${Math.random()}` });
  expect((await c.next("connack")).cmd).toBe("connack");
  return c;
}

describe("MQTT bad input", () => {
  it("refuses a PUBLISH with a wildcard topic (5.0 DISCONNECT 0x90); CONNACK leaves Maximum QoS out (QoS 2 is served)", async () => {
    const room = uniqueRoom("mqtt-bad");
    const others = await bystanders(room);
    const connack = await (async () => {
      const c = await RawMqtt.open(url(room), 5);
      c.connect();
      const ack = await c.next("connack");
      c.close();
      return ack;
    })();
    expect(connack.properties?.maximumQoS).toBeUndefined();
    for (const [topic, qos, reason] of [
      ["a/+/b", 0, 0x90],
      ["a/#", 1, 0x90],
      ["a/+", 2, 0x90],
    ] as const) {
      const c = await connected(room, 5);
      c.send({ cmd: "publish", topic, payload: Buffer.from("x"), qos, messageId: qos > 0 ? 1 : undefined, dup: false, retain: false } as any);
      expect((await c.next("disconnect")).reasonCode).toBe(reason);
      expect((await c.waitClosed()).code).not.toBe(1011);
      const v4 = await connected(room, 4);
      v4.send({ cmd: "publish", topic, payload: Buffer.from("x"), qos, messageId: qos > 0 ? 1 : undefined, dup: false, retain: false } as any);
      expect((await v4.waitClosed()).code).not.toBe(1011);
      expect(v4.packets.filter((p) => p.cmd === "puback")).toEqual([]);
      await others.check();
    }
    await others.end();
  });

  it("answers unknown protocol levels with CONNACK unacceptable protocol version, then closes", async () => {
    const room = uniqueRoom("mqtt-level");
    const others = await bystanders(room);
    for (const [level, name, expected] of [
      [3, "MQIsdp", { returnCode: 0x01 }],
      [6, "MQTT", { reasonCode: 0x84 }],
      // A wrong protocol name: [MQTT-3.1.2-1] lets the server close without CONNACK, which it does.
      [4, "MQTX", null],
    ] as const) {
      const c = await RawMqtt.open(url(room), level >= 5 ? 5 : 4);
      // CONNECT by hand: header, protocol name, level, flags (clean), keepalive 60, empty client id.
      const name8 = Buffer.from(name);
      const body = Buffer.concat([Buffer.from([0, name8.length]), name8, Buffer.from([level, 0x02, 0, 60]), level >= 5 ? Buffer.from([0]) : Buffer.alloc(0), Buffer.from([0, 0])]);
      c.sendBytes(Buffer.concat([Buffer.from([0x10, body.length]), body]));
      const closed = await c.waitClosed();
      expect(closed.code).not.toBe(1011);
      const ack = c.packets.find((p) => p.cmd === "connack");
      if (expected === null) expect(ack).toBeUndefined();
      else expect(ack).toMatchObject(expected);
      await others.check();
    }
    await others.end();
  });

  it("closes on oversized Remaining Lengths, malformed lengths and payloads past MAX_MESSAGE_BYTES (5.0: 0x95 / 0x81)", async () => {
    const room = uniqueRoom("mqtt-size");
    const others = await bystanders(room);
    // Remaining Length 268435455 (the MQTT maximum): far past the packet limit.
    const big = await connected(room, 5);
    big.sendBytes([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 0x61]);
    expect((await big.next("disconnect")).reasonCode).toBe(0x95);
    expect((await big.waitClosed()).code).toBe(1009);
    // A fifth Remaining Length byte: malformed.
    const bad = await connected(room, 5);
    bad.sendBytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect((await bad.next("disconnect")).reasonCode).toBe(0x81);
    expect((await bad.waitClosed()).code).not.toBe(1011);
    // A payload over MAX_MESSAGE_BYTES (4096 here) inside the packet limit.
    const heavy = await connected(room, 5);
    heavy.send({ cmd: "publish", topic: "ok/heavy", payload: Buffer.alloc(4500, 1), qos: 0, dup: false, retain: false });
    expect((await heavy.next("disconnect")).reasonCode).toBe(0x95);
    await others.check();
    await others.end();
  });

  it("closes on a text frame, a packet before CONNECT and a second CONNECT; a packet split over two frames is whole again", async () => {
    const room = uniqueRoom("mqtt-proto");
    const others = await bystanders(room);
    const text = await connected(room, 5);
    text.ws.send("hello");
    expect((await text.next("disconnect")).reasonCode).toBe(0x81);
    const early = await RawMqtt.open(url(room), 4);
    early.send({ cmd: "pingreq" });
    expect((await early.waitClosed()).code).toBe(1002);
    const twice = await connected(room, 5);
    twice.connect();
    expect((await twice.next("disconnect")).reasonCode).toBe(0x82);
    const cut = await connected(room, 4);
    const full = mqttPacket.generate({ cmd: "publish", topic: "ok/cut", payload: Buffer.from("abcdef"), qos: 0, dup: false, retain: false });
    cut.sendBytes(full.subarray(0, full.length - 3));
    await sleep(200);
    cut.sendBytes(full.subarray(full.length - 3)); // the rest in a second frame: one whole packet
    const sub = await connectCollecting(url(room), { protocolVersion: 4 });
    await sub.client.subscribeAsync("ok/cut2");
    const again = mqttPacket.generate({ cmd: "publish", topic: "ok/cut2", payload: Buffer.from("whole"), qos: 0, dup: false, retain: false });
    cut.sendBytes(again.subarray(0, 4));
    cut.sendBytes(again.subarray(4));
    await until(() => sub.got.some((g) => g.payload === "whole"));
    await sub.client.endAsync(true);
    await others.check();
    cut.send({ cmd: "pingreq" });
    await cut.next("pingresp");
    await others.end();
  });

  it("survives random bytes: every connection ends without 1011 and the room keeps serving", async () => {
    const room = uniqueRoom("mqtt-fuzz");
    const others = await bystanders(room);
    const random = seededRandom(17);
    for (let i = 0; i < 30; i++) {
      const c = await RawMqtt.open(url(room), i % 2 === 0 ? 4 : 5);
      if (i % 3 !== 0) c.connect({ clientId: `fuzz-${i}` });
      const bytes = Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      c.sendBytes(bytes);
      await sleep(30);
      if (c.closed !== null) expect(c.closed.code).not.toBe(1011);
      c.close();
    }
    await others.check();
    await others.end();
  });
});

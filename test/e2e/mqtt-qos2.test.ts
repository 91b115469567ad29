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
import { startBridge, type Bridge } from "../../client/bridge";
import { run } from "../../client/cli-commands";
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

const publish2 = (topic: string, payload: string, messageId: number, dup = false) =>
  ({ cmd: "publish", topic, payload: Buffer.from(payload), qos: 2, messageId, dup, retain: false }) as mqttPacket.Packet;

/** A raw persistent-session client (3.1.1 clean 0, or 5.0 with a session expiry) that has its CONNACK. */
async function persistent(room: string, clientId: string, v: 4 | 5): Promise<RawMqtt> {
  const raw = await RawMqtt.open(url(room), v);
  raw.connect({ clientId, clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}) });
  await raw.next("connack");
  return raw;
}

for (const kind of ["plain", "sharded"] as const) {
  const roomFor = (p: string) => uniqueRoom(kind === "plain" ? p : `sharded-${p}`);

  describe(`QoS 2 in a ${kind} room`, () => {
    for (const v of [4, 5] as const) {
      it(`an inbound QoS 2 PUBLISH is published once, whatever is retried before PUBREL, across a reconnect (MQTT ${v})`, async () => {
        const room = roomFor("q2in");
        const sub = await connectCollecting(url(room), { protocolVersion: 5 });
        await sub.client.subscribeAsync("q2/#", { qos: 2 });
        const cid = `q2in-${v}`;
        let raw = await persistent(room, cid, v);
        raw.send(publish2("q2/a", "once", 3));
        expect((await raw.next("pubrec")).messageId).toBe(3);
        raw.send(publish2("q2/a", "once", 3, true)); // PUBREC lost, say: the client retries
        expect((await raw.next("pubrec")).messageId).toBe(3);
        raw.close();
        raw = await persistent(room, cid, v); // and again on a new connection
        raw.send(publish2("q2/a", "once", 3, true));
        expect((await raw.next("pubrec")).messageId).toBe(3);
        raw.send({ cmd: "pubrel", messageId: 3 } as mqttPacket.Packet);
        expect((await raw.next("pubcomp")).messageId).toBe(3);
        // Released: the id is free, a new PUBLISH with it is a new message.
        raw.send(publish2("q2/a", "twice", 3));
        await raw.next("pubrec");
        raw.send({ cmd: "pubrel", messageId: 3 } as mqttPacket.Packet);
        await raw.next("pubcomp");
        await until(() => sub.got.length >= 2);
        await new Promise((r) => setTimeout(r, 200));
        expect(sub.got.map((g) => [g.payload, g.qos])).toEqual([
          ["once", 2],
          ["twice", 2],
        ]);
        raw.close();
        await sub.client.endAsync(true);
      });
    }

    it("an outbound QoS 2 message is resent (DUP) until PUBREC, then PUBREL until PUBCOMP, across reconnects", async () => {
      const room = roomFor("q2out");
      const cid = "q2out";
      let raw = await persistent(room, cid, 5);
      raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "o/#", qos: 2 }] } as mqttPacket.Packet);
      expect((await raw.next("suback")).granted).toEqual([2]);
      const pub = await connectCollecting(url(room), { protocolVersion: 4 });
      await pub.client.publishAsync("o/x", "exactly", { qos: 2 });
      const first = await raw.next("publish");
      expect(first).toMatchObject({ topic: "o/x", qos: 2, dup: false });
      raw.close(); // no PUBREC
      raw = await persistent(room, cid, 5);
      const again = await raw.next("publish");
      expect(again).toMatchObject({ topic: "o/x", qos: 2, dup: true, messageId: first.messageId });
      raw.send({ cmd: "pubrec", messageId: first.messageId } as mqttPacket.Packet);
      expect((await raw.next("pubrel")).messageId).toBe(first.messageId);
      raw.close(); // no PUBCOMP
      raw = await persistent(room, cid, 5);
      expect((await raw.next("pubrel")).messageId).toBe(first.messageId);
      raw.send({ cmd: "pubcomp", messageId: first.messageId } as mqttPacket.Packet);
      await pub.client.publishAsync("o/y", "next", { qos: 2 });
      expect(await raw.next("publish")).toMatchObject({ topic: "o/y", qos: 2, dup: false });
      // The message went out once as new and once as a DUP retry, never as a new message again.
      expect(raw.packets.filter((p) => p.cmd === "publish")).toEqual([]);
      raw.close();
      raw = await persistent(room, cid, 5);
      await new Promise((r) => setTimeout(r, 300));
      // Only o/y (never PUBREC'd) comes again; o/x's exchange is complete.
      expect(raw.packets.map((p) => [p.cmd, (p as any).topic])).toEqual([["publish", "o/y"]]);
      raw.close();
      await pub.client.endAsync(true);
    });

    it("mqtt.js: QoS 2 both ways, each message once, also those sent while a persistent session was away", async () => {
      const room = roomFor("q2js");
      const opts = { protocolVersion: 5 as const, clientId: "q2js-sub", clean: false, properties: { sessionExpiryInterval: 600 } };
      let sub = await connectCollecting(url(room), opts);
      expect((await sub.client.subscribeAsync("js/#", { qos: 2 }))[0]!.qos).toBe(2);
      const pub = await connectCollecting(url(room), { protocolVersion: 4 });
      for (let i = 0; i < 10; i++) await pub.client.publishAsync("js/n", `m${i}`, { qos: 2 });
      await until(() => sub.got.length === 10);
      const seen = [...sub.got];
      await sub.client.endAsync();
      for (let i = 10; i < 20; i++) await pub.client.publishAsync("js/n", `m${i}`, { qos: 2 });
      sub = await connectCollecting(url(room), opts);
      expect(sub.sessionPresent).toBe(true);
      await until(() => sub.got.length === 10);
      await new Promise((r) => setTimeout(r, 300));
      const all = [...seen, ...sub.got];
      expect(all.map((g) => g.payload)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
      expect(all.every((g) => g.qos === 2)).toBe(true);
      await sub.client.endAsync();
      await pub.client.endAsync();
    });
  });
}

describe("QoS 2 across a relay restart", () => {
  it("a QoS 2 packet id held before the restart is still held after it: the retry is not published again", async () => {
    const room = uniqueRoom("q2restart");
    let raw = await persistent(room, "q2r", 4);
    raw.send(publish2("r/a", "kept", 9));
    await raw.next("pubrec");
    raw.close();
    await relay.restart(); // the room's state survives, nothing in memory does
    raw = await persistent(room, "q2r", 4);
    raw.send(publish2("r/a", "kept", 9, true));
    expect((await raw.next("pubrec")).messageId).toBe(9);
    raw.send({ cmd: "pubrel", messageId: 9 } as mqttPacket.Packet);
    await raw.next("pubcomp");
    raw.close();
    const history = await (await fetch(`${relay.url}/rooms/${room}/messages`)).json();
    expect(history.messages.map((m: any) => m.data)).toEqual(["kept"]);
  });
});

describe("roomcast bridge", () => {
  /** A bridge on a free port to `room`'s MQTT endpoint, and its mqtt:// URL. */
  async function bridgeTo(room: string, port = 0): Promise<{ bridge: Bridge; tcp: string }> {
    const bridge = await startBridge({ host: "127.0.0.1", port, url: url(room) });
    return { bridge, tcp: `mqtt://127.0.0.1:${bridge.address.port}` };
  }

  it("a TCP client reaches the room: QoS 0, 1 and 2 both ways, beside a WebSocket client", async () => {
    const room = uniqueRoom("bridge");
    const { bridge, tcp } = await bridgeTo(room);
    const device = await connectCollecting(tcp, { protocolVersion: 4, clientId: "pubsubclient-1" });
    await device.client.subscribeAsync("cmd/#", { qos: 2 });
    const ws = await connectCollecting(url(room), { protocolVersion: 5 });
    await ws.client.subscribeAsync("t/#", { qos: 2 });
    for (const qos of [0, 1, 2] as const) await device.client.publishAsync(`t/${qos}`, `from tcp ${qos}`, { qos });
    await ws.client.publishAsync("cmd/reboot", "now", { qos: 2 });
    await until(() => ws.got.length === 3 && device.got.length === 1);
    expect(ws.got.map((g) => g.payload)).toEqual(["from tcp 0", "from tcp 1", "from tcp 2"]);
    expect(device.got[0]).toMatchObject({ topic: "cmd/reboot", payload: "now", qos: 2 });
    await device.client.endAsync();
    await ws.client.endAsync();
    await bridge.close();
  });

  it("a persistent session goes on across a bridge restart: what was sent while it was down arrives once at QoS 2", async () => {
    const room = uniqueRoom("sharded-bridge");
    let { bridge, tcp } = await bridgeTo(room);
    const port = bridge.address.port;
    const opts = { protocolVersion: 4 as const, clientId: "device-7", clean: false };
    let device = await connectCollecting(tcp, opts);
    await device.client.subscribeAsync("cfg/#", { qos: 2 });
    const ws = await connectCollecting(url(room), { protocolVersion: 5 });
    await ws.client.publishAsync("cfg/a", "before", { qos: 2 });
    await until(() => device.got.length === 1);
    await bridge.close(); // the bridge goes away: the device's TCP and its WebSocket end with it
    await until(() => device.client.connected === false);
    device.client.end(true);
    for (let i = 0; i < 5; i++) await ws.client.publishAsync("cfg/b", `while down ${i}`, { qos: 2 });
    ({ bridge, tcp } = await bridgeTo(room, port));
    device = await connectCollecting(tcp, opts);
    expect(device.sessionPresent).toBe(true);
    await until(() => device.got.length === 5);
    await new Promise((r) => setTimeout(r, 300));
    expect(device.got.map((g) => [g.payload, g.qos])).toEqual(Array.from({ length: 5 }, (_, i) => [`while down ${i}`, 2]));
    await device.client.endAsync();
    await ws.client.endAsync();
    await bridge.close();
  });

  it("the CLI refuses bad flags with exit code 2 and says why", async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (l: string) => err.push(l), env: {} };
    expect(await run(["bridge", "--url", url("r")], io)).toBe(2);
    expect(await run(["bridge", "--listen", "1883", "--url", "http://127.0.0.1/rooms/r/mqtt"], io)).toBe(2);
    expect(await run(["bridge", "--listen", "nope:x", "--url", url("r")], io)).toBe(2);
    expect(err.filter((l) => l.startsWith("roomcast: "))).toHaveLength(3);
  });

  it("the CLI serves until its signal aborts", async () => {
    const room = uniqueRoom("bridge-cli");
    const out: string[] = [];
    const stop = new AbortController();
    const running = run(["bridge", "--listen", "127.0.0.1:0", "--url", url(room)], { out: (l) => out.push(l), err: () => undefined, env: {}, signal: stop.signal });
    await until(() => out.length === 1);
    const port = /:(\d+) ->/.exec(out[0]!)![1];
    const device = await connectCollecting(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
    await device.client.subscribeAsync("x", { qos: 1 });
    await device.client.publishAsync("x", "via cli", { qos: 1 });
    await until(() => device.got.length === 1);
    stop.abort();
    expect(await running).toBe(0);
    await until(() => device.client.connected === false);
    device.client.end(true);
  });
});

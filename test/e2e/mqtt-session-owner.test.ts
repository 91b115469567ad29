/**
 * MQTT sessions belong to the `sub` of the token that made them (issue 24,
 * findings 1, 7 and 12), over real sockets with AUTH_SECRET set:
 * - another sub using a victim's client id gets a session of its own: no
 *   session present, none of the victim's queued or live messages, and the
 *   victim's connection stays;
 * - a token without `subscribe` gets no session, so nothing through stored
 *   subscriptions, and makes none (so it cannot fill the room's quota);
 *   the session quota is per sub;
 * - a 5.0 client's Receive Maximum bounds the QoS 1 PUBLISHes it has
 *   unacknowledged; the rest wait, none lost, in order, across a hibernation.
 */
import type { IPublishPacket } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import { roomInstance } from "../support/http";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";

const SECRET = "mqtt-owner-test-secret-that-is-long-enough-0123456789";
const relay = useRelay({ diagnostics: true, vars: { AUTH_SECRET: SECRET } });
const url = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;

function token(room: string, sub: string, scope: string): Promise<string> {
  return signJwt({ sub, rooms: [room], scope, exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET);
}

/** A persistent session's CONNECT options for mqtt.js. */
const persistent = (version: 4 | 5, clientId: string, password: string) => ({
  protocolVersion: version,
  clientId,
  clean: false,
  username: "device",
  password,
  ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
});

async function publisher(room: string) {
  return connectCollecting(url(room), { protocolVersion: 4, username: "p", password: await token(room, "publisher", "publish") });
}

const publishes = (raw: RawMqtt) => raw.packets.filter((p): p is IPublishPacket => p.cmd === "publish");

describe("MQTT sessions belong to the token's sub (finding 1)", () => {
  it.each([4, 5] as const)(
    "v%i: another sub with the victim's client id gets its own session: none of the victim's queued or live messages, and the victim stays connected",
    async (v) => {
      const room = uniqueRoom(`mqtt-own${v}`);
      const victimToken = await token(room, "alice", "subscribe publish");
      const attackerToken = await token(room, "mallory", "subscribe publish");
      const first = await connectCollecting(url(room), persistent(v, "dev-1", victimToken));
      await first.client.subscribeAsync("s/#", { qos: 1 });
      await first.client.endAsync();

      const pub = await publisher(room);
      for (let i = 0; i < 5; i++) await pub.client.publishAsync("s/x", `queued${i}`, { qos: 1 });

      // The attacker, with the victim's client id: a new session of its own, and nothing.
      const attacker = await connectCollecting(url(room), persistent(v, "dev-1", attackerToken));
      expect(attacker.sessionPresent).toBe(false);
      await sleep(500);
      expect(attacker.got).toEqual([]);
      await attacker.client.endAsync();

      // The victim's session is intact: every queued message, in order.
      const victim = await connectCollecting(url(room), persistent(v, "dev-1", victimToken));
      expect(victim.sessionPresent).toBe(true);
      await until(() => victim.got.length >= 5);
      expect(victim.got.map((g) => g.payload)).toEqual([0, 1, 2, 3, 4].map((i) => `queued${i}`));

      // The attacker connecting again neither closes the victim nor gets its live messages.
      let victimClosed = false;
      victim.client.on("close", () => (victimClosed = true));
      const again = await connectCollecting(url(room), persistent(v, "dev-1", attackerToken));
      expect(again.sessionPresent).toBe(true); // its own session, from before
      await pub.client.publishAsync("s/x", "live", { qos: 1 });
      await until(() => victim.got.length === 6);
      await sleep(300);
      expect(victimClosed).toBe(false);
      expect(victim.got[5]!.payload).toBe("live");
      expect(again.got).toEqual([]);

      // The same sub with the same client id still takes its session over, as MQTT says.
      const takeover = await connectCollecting(url(room), persistent(v, "dev-1", victimToken));
      expect(takeover.sessionPresent).toBe(true);
      await until(() => victimClosed);
      for (const c of [takeover, again, pub]) await c.client.endAsync();
    },
    30_000,
  );

  it("a token without subscribe gets no session: nothing through the stored subscriptions, which wait for a token that may subscribe", async () => {
    const room = uniqueRoom("mqtt-own-scope");
    const full = await token(room, "alice", "subscribe publish");
    const publishOnly = await token(room, "alice", "publish");
    const first = await connectCollecting(url(room), persistent(5, "dev-2", full));
    await first.client.subscribeAsync("s/#", { qos: 1 });
    await first.client.endAsync();
    const pub = await publisher(room);
    await pub.client.publishAsync("s/x", "missed", { qos: 1 });

    const raw = await RawMqtt.open(url(room), 5);
    raw.connect({ clientId: "dev-2", clean: false, username: "d", password: Buffer.from(publishOnly), properties: { sessionExpiryInterval: 3600 } });
    const ack = await raw.next("connack");
    expect(ack.reasonCode).toBe(0);
    expect(ack.sessionPresent).toBe(false);
    expect(ack.properties?.sessionExpiryInterval).toBe(0); // told it keeps no session
    await pub.client.publishAsync("s/x", "live", { qos: 1 });
    await sleep(500);
    expect(publishes(raw)).toEqual([]);
    raw.close();

    const back = await connectCollecting(url(room), persistent(5, "dev-2", full));
    expect(back.sessionPresent).toBe(true);
    await until(() => back.got.length >= 2);
    expect(back.got.map((g) => g.payload)).toEqual(["missed", "live"]);
    for (const c of [back, pub]) await c.client.endAsync();
  }, 20_000);
});

describe("session quotas are per sub (finding 7)", () => {
  /** Opens a 3.1.1 persistent session (kept 24 h) and leaves it with DISCONNECT; resolves to session present. */
  async function leaveSession(room: string, clientId: string, password: string): Promise<boolean> {
    const raw = await RawMqtt.open(url(room), 4);
    raw.connect({ clientId, clean: false, username: "d", password: Buffer.from(password) });
    const ack = await raw.next("connack", 10_000);
    if (ack.returnCode !== 0) throw new Error(`CONNACK ${ack.returnCode}`);
    raw.send({ cmd: "disconnect" });
    await raw.waitClosed(10_000);
    return ack.sessionPresent;
  }

  it("a token with no scopes makes no persistent session", async () => {
    const room = uniqueRoom("mqtt-own-noscope");
    const none = await token(room, "mallory", "");
    expect(await leaveSession(room, "ghost", none)).toBe(false);
    expect(await leaveSession(room, "ghost", none)).toBe(false);
  });

  it("1,000 sessions of one sub (and 1,000 of a token with no scopes) evict none of another sub's: only that sub's own oldest", async () => {
    const room = uniqueRoom("mqtt-own-quota");
    const alice = await token(room, "alice", "subscribe publish");
    // Alice's session expires sooner (1 h) than any of mallory's (24 h): before per-sub quotas it was the first evicted.
    const first = await connectCollecting(url(room), persistent(5, "alice-dev", alice));
    await first.client.subscribeAsync("s/#", { qos: 1 });
    await first.client.endAsync();
    const pub = await publisher(room);
    await pub.client.publishAsync("s/x", "kept for alice", { qos: 1 });

    for (const scope of ["", "subscribe"]) {
      const mallory = await token(room, "mallory", scope);
      for (let i = 0; i < 1000; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => leaveSession(room, `m-${i + j}`, mallory)));
      }
    }
    // Mallory's 1,001st session evicted her own oldest, not alice's.
    const mallory = await token(room, "mallory", "subscribe");
    await leaveSession(room, "m-extra", mallory);
    expect(await leaveSession(room, "m-999", mallory)).toBe(true);

    const back = await connectCollecting(url(room), persistent(5, "alice-dev", alice));
    expect(back.sessionPresent).toBe(true);
    await until(() => back.got.length >= 1);
    expect(back.got[0]!.payload).toBe("kept for alice");
    for (const c of [back, pub]) await c.client.endAsync();
  }, 120_000);
});

describe("Receive Maximum (finding 12)", () => {
  async function windowClient(room: string, receiveMaximum: number, extra: object = {}): Promise<RawMqtt> {
    const raw = await RawMqtt.open(url(room), 5);
    raw.connect({
      clientId: `rm-${Math.random().toString(36).slice(2, 8)}`,
      keepalive: 0,
      username: "d",
      password: Buffer.from(await token(room, "reader", "subscribe")),
      properties: { receiveMaximum },
      ...extra,
    });
    expect((await raw.next("connack")).reasonCode).toBe(0);
    raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "w/#", qos: 1 }, { topic: "z/#", qos: 0 }] } as never);
    await raw.next("suback");
    return raw;
  }

  it("with Receive Maximum 1, one QoS 1 PUBLISH at a time; the rest (QoS 0 between them too) wait, in order, across a hibernation", async () => {
    const room = uniqueRoom("mqtt-rm1");
    const raw = await windowClient(room, 1);
    const qos1 = () => publishes(raw).filter((p) => p.qos === 1);
    const pub = await publisher(room);
    for (const [topic, text] of [["w/x", "m0"], ["w/x", "m1"], ["z/y", "z0"], ["w/x", "m2"], ["w/x", "m3"], ["w/x", "m4"]]) {
      await pub.client.publishAsync(topic!, text!, { qos: 1 });
    }
    await until(() => publishes(raw).length >= 1);
    await sleep(500);
    expect(publishes(raw).map((p) => p.payload.toString())).toEqual(["m0"]);
    await pub.client.endAsync();

    // The room hibernates with five waiting; the window is in the attachment.
    const before = await roomInstance(relay.url, room, { authorization: `Bearer ${await token(room, "reader", "subscribe")}` });
    await sleep(12_000);
    expect(await roomInstance(relay.url, room, { authorization: `Bearer ${await token(room, "reader", "subscribe")}` })).not.toBe(before);

    for (let n = 1; n <= 4; n++) {
      raw.send({ cmd: "puback", messageId: qos1()[n - 1]!.messageId } as never);
      await until(() => qos1().length >= n + 1);
      await sleep(200);
      expect(qos1().length).toBe(n + 1); // never two unacknowledged
    }
    // The QoS 0 message kept its place between them.
    expect(publishes(raw).map((p) => p.payload.toString())).toEqual(["m0", "m1", "z0", "m2", "m3", "m4"]);
    expect(qos1().every((p) => !p.dup)).toBe(true);

    // Caught up: live again, still one at a time.
    const pub2 = await publisher(room);
    await pub2.client.publishAsync("w/x", "m5", { qos: 1 });
    await pub2.client.publishAsync("w/x", "m6", { qos: 1 });
    await sleep(500);
    expect(qos1().length).toBe(5);
    raw.send({ cmd: "puback", messageId: qos1()[4]!.messageId } as never);
    await until(() => qos1().length >= 6);
    await sleep(200);
    expect(qos1().length).toBe(6);
    raw.send({ cmd: "puback", messageId: qos1()[5]!.messageId } as never);
    await until(() => qos1().length >= 7);
    expect(qos1().map((p) => p.payload.toString()).slice(5)).toEqual(["m5", "m6"]);
    raw.close();
    await pub2.client.endAsync();
  }, 40_000);

  it("a resumed session with Receive Maximum 2 gets its backlog two at a time, each once, in order", async () => {
    const room = uniqueRoom("mqtt-rm-resume");
    const reader = await token(room, "reader", "subscribe");
    const first = await connectCollecting(url(room), persistent(5, "rm-sess", reader));
    await first.client.subscribeAsync("w/#", { qos: 1 });
    await first.client.endAsync();
    const pub = await publisher(room);
    for (let i = 0; i < 6; i++) await pub.client.publishAsync("w/x", `b${i}`, { qos: 1 });

    const raw = await RawMqtt.open(url(room), 5);
    raw.connect({ clientId: "rm-sess", clean: false, keepalive: 0, username: "d", password: Buffer.from(reader), properties: { sessionExpiryInterval: 3600, receiveMaximum: 2 } });
    expect((await raw.next("connack")).sessionPresent).toBe(true);
    await until(() => publishes(raw).length >= 2);
    await sleep(300);
    expect(publishes(raw).length).toBe(2);
    for (let acked = 0; acked < 6; acked++) {
      raw.send({ cmd: "puback", messageId: publishes(raw)[acked]!.messageId } as never);
      await until(() => publishes(raw).length >= Math.min(6, acked + 3));
    }
    await sleep(300);
    expect(publishes(raw).map((p) => p.payload.toString())).toEqual(["b0", "b1", "b2", "b3", "b4", "b5"]);
    raw.close();
    await pub.client.endAsync();
  }, 20_000);
});

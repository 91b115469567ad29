/**
 * MQTT 5 PUBLISH properties end to end, over real sockets (mqtt.js, ws,
 * HTTP): carried to MQTT subscribers and shown to JSON readers in the
 * envelope's `properties`; request/response across MQTT and JSON; message
 * expiry (an expired message does not reach a returning session or a new
 * subscriber of a retained value; what does carries the time left); the
 * delivered QoS is the lower of the publish's and the subscription's; will
 * properties. Plain and sharded rooms.
 */
import { describe, expect, it } from "vitest";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const relay = useRelay({ vars: { SHARDS: "sharded*=3" } });
const mqttUrl = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;

const requestProps = {
  payloadFormatIndicator: true,
  contentType: "application/json",
  responseTopic: "replies/42",
  correlationData: Buffer.from([0, 1, 2, 250]),
  userProperties: { trace: "abc", tag: ["one", "two"] },
};

for (const kind of ["plain", "sharded"] as const) {
  const roomFor = (p: string) => uniqueRoom(kind === "plain" ? p : `sharded-${p}`);

  describe(`PUBLISH properties (${kind} room)`, () => {
    it("reach an MQTT 5 subscriber and a JSON reader's envelope; a 3.1.1 subscriber gets the message without them", async () => {
      const room = roomFor("props");
      const sub5 = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
      await sub5.client.subscribeAsync("req/#", { qos: 1 });
      const sub4 = await connectCollecting(mqttUrl(room), { protocolVersion: 4 });
      await sub4.client.subscribeAsync("req/#", { qos: 1 });
      const json = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?topics=req/%23`);
      await json.next("welcome");
      const pub = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
      await pub.client.publishAsync("req/temp", '{"q":1}', { qos: 1, properties: requestProps });

      await until(() => sub5.got.length === 1 && sub4.got.length === 1);
      const p = sub5.got[0]!.properties!;
      expect(p.payloadFormatIndicator).toBe(true);
      expect(p.contentType).toBe("application/json");
      expect(p.responseTopic).toBe("replies/42");
      expect([...(p.correlationData as Buffer)]).toEqual([0, 1, 2, 250]);
      expect(p.userProperties).toEqual({ trace: "abc", tag: ["one", "two"] });
      expect(sub4.got[0]!.payload).toBe('{"q":1}');
      expect(sub4.got[0]!.properties).toBeUndefined();

      const [m] = await json.messagesUntil(1);
      expect(m.topic).toBe("req/temp");
      expect(m.qos).toBe(1);
      expect(m.properties).toEqual({
        payloadFormat: 1,
        contentType: "application/json",
        responseTopic: "replies/42",
        correlationData: Buffer.from([0, 1, 2, 250]).toString("base64"),
        userProperties: [
          ["trace", "abc"],
          ["tag", "one"],
          ["tag", "two"],
        ],
      });
      // History keeps them: a replay shows the same.
      const history = (await (await fetch(`${relay.url}/rooms/${room}/messages?after=0`)).json()) as { messages: any[] };
      expect(history.messages[0].properties).toEqual(m.properties);
      json.close();
      await Promise.all([sub5.client.endAsync(), sub4.client.endAsync(), pub.client.endAsync()]);
    });

    it("request/response across MQTT and JSON: a JSON responder answers on the response topic with the correlation data", async () => {
      const room = roomFor("reqres");
      const requester = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
      await requester.client.subscribeAsync("replies/#", { qos: 1 });
      const responder = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?topics=req/%23`);
      await responder.next("welcome");
      await requester.client.publishAsync("req/time", "now?", { qos: 1, properties: { responseTopic: "replies/me", correlationData: Buffer.from("c-7") } });
      const [req] = await responder.messagesUntil(1);
      // The responder answers as a JSON client would: topic and correlation data from the request.
      responder.send({ type: "publish", topic: req.properties.responseTopic, data: "noon", id: "r1", properties: { correlationData: req.properties.correlationData, userProperties: { by: "json" } } });
      await responder.next("ack");
      await until(() => requester.got.length === 1);
      expect(requester.got[0]!.topic).toBe("replies/me");
      expect(requester.got[0]!.payload).toBe("noon");
      expect((requester.got[0]!.properties!.correlationData as Buffer).toString()).toBe("c-7");
      expect(requester.got[0]!.properties!.userProperties).toEqual({ by: "json" });
      responder.close();
      await requester.client.endAsync();
    });
  });
}

describe("properties from JSON and HTTP publishers", () => {
  it("an HTTP publish's properties reach MQTT 5 subscribers; bad ones get 400 or an error frame that says what is wrong", async () => {
    const room = uniqueRoom("props-http");
    const sub = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
    await sub.client.subscribeAsync("cmd/#", { qos: 0 });
    const ok = await fetch(`${relay.url}/rooms/${room}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: { on: true }, topic: "cmd/lamp", properties: { contentType: "application/json", userProperties: [["k", "v"]] } }),
    });
    expect(ok.status).toBe(201);
    await until(() => sub.got.length === 1);
    expect(sub.got[0]!.properties).toMatchObject({ contentType: "application/json", userProperties: { k: "v" } });

    const bad = await fetch(`${relay.url}/rooms/${room}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: 1, topic: "cmd/lamp", properties: { responseTopic: "a/#" } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/responseTopic/);

    const ws = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
    await ws.next("welcome");
    ws.send({ type: "publish", topic: "cmd/lamp", data: 1, properties: { colour: "red" } });
    const error = await ws.next("error");
    expect(error.code).toBe("bad_frame");
    expect(error.message).toMatch(/unknown property "colour"/);
    ws.close();
    await sub.client.endAsync();
  });
});

describe("message expiry", () => {
  it("an expired message does not reach a returning session; one still alive arrives with the time it has left", async () => {
    const room = uniqueRoom("expiry");
    const options = { protocolVersion: 5 as const, clientId: "expiry-sub", clean: false, properties: { sessionExpiryInterval: 600 } };
    const first = await connectCollecting(mqttUrl(room), options);
    await first.client.subscribeAsync("t/#", { qos: 1 });
    await first.client.endAsync();

    const pub = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
    await pub.client.publishAsync("t/a", "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync("t/a", "long", { qos: 1, properties: { messageExpiryInterval: 60 } });
    await pub.client.publishAsync("t/a", "forever", { qos: 1 });
    await sleep(2200);

    const back = await connectCollecting(mqttUrl(room), options);
    expect(back.sessionPresent).toBe(true);
    await until(() => back.got.length === 2);
    await sleep(200);
    expect(back.got.map((g) => g.payload)).toEqual(["long", "forever"]);
    const left = back.got[0]!.properties!.messageExpiryInterval!;
    expect(left).toBeGreaterThan(50);
    expect(left).toBeLessThan(60);
    expect(back.got[1]!.properties?.messageExpiryInterval).toBeUndefined();
    await Promise.all([back.client.endAsync(), pub.client.endAsync()]);
  });

  it("an expired retained value is not sent to a new subscriber, nor shown by GET /retained", async () => {
    const room = uniqueRoom("expiry-retained");
    const pub = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
    await pub.client.publishAsync("state/a", "gone soon", { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync("state/b", "stays", { qos: 1, retain: true, properties: { messageExpiryInterval: 120 } });
    await sleep(2200);
    const sub = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
    await sub.client.subscribeAsync("state/#", { qos: 1 });
    await until(() => sub.got.length >= 1);
    await sleep(300);
    expect(sub.got.map((g) => g.payload)).toEqual(["stays"]);
    expect(sub.got[0]!.retain).toBe(true);
    // Gone for JSON readers too.
    const retained = (await (await fetch(`${relay.url}/rooms/${room}/retained`)).json()) as { messages: any[] };
    expect(retained.messages.map((m) => m.data)).toEqual(["stays"]);
    await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
  });
});

describe("delivered QoS", () => {
  for (const kind of ["plain", "sharded"] as const) {
    it(`is the lower of the publish's and the subscription's (${kind} room); other doors' messages count as QoS 2`, async () => {
      const room = uniqueRoom(kind === "plain" ? "qos-min" : "sharded-qos-min");
      const sub2 = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
      await sub2.client.subscribeAsync("q/#", { qos: 2 });
      const sub1 = await connectCollecting(mqttUrl(room), { protocolVersion: 4 });
      await sub1.client.subscribeAsync("q/#", { qos: 1 });
      const pub = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
      for (const qos of [0, 1, 2] as const) await pub.client.publishAsync("q/x", `at ${qos}`, { qos });
      await fetch(`${relay.url}/rooms/${room}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ data: "http", topic: "q/x" }) });
      await until(() => sub2.got.length === 4 && sub1.got.length === 4);
      expect(sub2.got.map((g) => [g.payload, g.qos])).toEqual([
        ["at 0", 0],
        ["at 1", 1],
        ["at 2", 2],
        ["http", 2],
      ]);
      expect(sub1.got.map((g) => g.qos)).toEqual([0, 1, 1, 1]);
      await Promise.all([sub2.client.endAsync(), sub1.client.endAsync(), pub.client.endAsync()]);
    });
  }
});

describe("will properties", () => {
  it("go out with the will", async () => {
    const room = uniqueRoom("will-props");
    const sub = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
    await sub.client.subscribeAsync("status/#", { qos: 1 });
    const device = await connectCollecting(mqttUrl(room), {
      protocolVersion: 5,
      will: { topic: "status/dev1", payload: Buffer.from("offline"), qos: 1, retain: false, properties: { contentType: "text/plain", userProperties: { reason: "lost" } } },
    });
    device.client.stream.destroy(); // no DISCONNECT: the will goes out
    await until(() => sub.got.length === 1);
    expect(sub.got[0]!.payload).toBe("offline");
    expect(sub.got[0]!.properties).toMatchObject({ contentType: "text/plain", userProperties: { reason: "lost" } });
    device.client.end(true);
    await sub.client.endAsync();
  });
});

for (const kind of ["plain", "sharded"] as const) {
  describe(`subscription identifiers (${kind} room)`, () => {
    const roomFor = (p: string) => uniqueRoom(kind === "plain" ? p : `sharded-${p}`);
    it("each PUBLISH carries the identifiers of every matching subscription: live, retained and to a returning session", async () => {
      const room = roomFor("subid");
      const pub = await connectCollecting(mqttUrl(room), { protocolVersion: 5 });
      await pub.client.publishAsync("a/kept", "retained one", { qos: 1, retain: true });
      const options = { protocolVersion: 5 as const, clientId: "subid", clean: false, properties: { sessionExpiryInterval: 600 } };
      const sub = await connectCollecting(mqttUrl(room), options);
      await sub.client.subscribeAsync("a/#", { qos: 1, properties: { subscriptionIdentifier: 7 } });
      await sub.client.subscribeAsync("a/b", { qos: 1, properties: { subscriptionIdentifier: 9 } });
      await sub.client.subscribeAsync("c/#", { qos: 1 });
      await until(() => sub.got.length === 1);
      expect(sub.got[0]).toMatchObject({ payload: "retained one", retain: true });
      expect(sub.got[0]!.properties?.subscriptionIdentifier).toBe(7);
      await pub.client.publishAsync("a/b", "both", { qos: 1 });
      await pub.client.publishAsync("a/c", "one", { qos: 1 });
      await pub.client.publishAsync("c/d", "none", { qos: 1 });
      await until(() => sub.got.length === 4);
      expect(sub.got.slice(1).map((g) => [g.payload, g.properties?.subscriptionIdentifier])).toEqual([
        ["both", [7, 9]],
        ["one", 7],
        ["none", undefined],
      ]);
      await sub.client.endAsync();
      await pub.client.publishAsync("a/b", "while away", { qos: 1 });
      const back = await connectCollecting(mqttUrl(room), options);
      await until(() => back.got.length === 1);
      expect(back.got[0]!.payload).toBe("while away");
      expect(back.got[0]!.properties?.subscriptionIdentifier).toEqual([7, 9]);
      await Promise.all([back.client.endAsync(), pub.client.endAsync()]);
    });
  });
}

describe("a Subscription Identifier of 0", () => {
  it("is a protocol error: DISCONNECT 0x82 and the connection closes", async () => {
    const raw = await RawMqtt.open(mqttUrl(uniqueRoom("subid0")), 5);
    raw.connect({ clientId: "subid0" });
    await raw.next("connack");
    raw.send({ cmd: "subscribe", messageId: 1, properties: { subscriptionIdentifier: 0 }, subscriptions: [{ topic: "a", qos: 0 }] } as never);
    expect((await raw.next("disconnect")).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });
});

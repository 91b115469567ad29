/**
 * A deployer's hooks (`createRelay({ hooks })`, roomcast/server) over real
 * sockets, against the Worker of test/hooks-worker/: its publish hook
 * refuses `refused/…`, throws on `boom`, waits 600 ms on `slow/…` and
 * redacts a `secret` field; its connect hook refuses rooms named `closed-…`
 * and sets the presence meta; its committed hook posts every batch to a
 * receiver here. Each in a plain room and in a sharded one (`sharded-*`).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { EmbeddedRelay } from "../../tools/local/relay";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { getJson, postMessage, readSse } from "../support/http";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

interface Batch {
  room: string;
  epoch: string;
  seqs: number[];
  properties: Array<Record<string, unknown> | null>;
  data: unknown[];
}

let relay: EmbeddedRelay;
let receiver: Server;
const batches: Batch[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      batches.push(JSON.parse(body));
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const { port } = receiver.address() as AddressInfo;
  relay = await EmbeddedRelay.start({
    bundle: inject("hooksBundle"),
    config: inject("hooksConfig"),
    vars: { COMMITTED_URL: `http://127.0.0.1:${port}/committed` },
  });
});

afterAll(async () => {
  await relay?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const publishOn = (topic: string, data: unknown, id?: string) => ({ type: "publish", topic, data, ...(id ? { id } : {}) });

for (const kind of ["plain", "sharded"] as const) {
  const room = (name: string) => uniqueRoom(kind === "sharded" ? `sharded-${name}` : name);

  describe(`publish hook, ${kind} room`, () => {
    it("a refused publish is refused on every door with its wire's answer, and never delivered", async () => {
      const r = room("refuse");
      const reader = await TestSocket.open(`${relay.wsUrl}/rooms/${r}?topics=%23`);
      await reader.next("welcome");
      const writer = await TestSocket.open(`${relay.wsUrl}/rooms/${r}`);
      await writer.next("welcome");
      writer.send(publishOn("refused/a", 1, "p1"));
      const error = await writer.next("error");
      expect(error).toMatchObject({ code: "topic_refused", message: "nothing is published on refused/a" });
      expect(writer.closed).toBeNull();
      expect(writer.all("ack")).toEqual([]);

      const http = await postMessage(relay.url, r, JSON.stringify({ data: 1, topic: "refused/b" }));
      expect(http).toEqual({ status: 403, json: { error: { code: "topic_refused", message: "nothing is published on refused/b" } } });

      {
        const v5 = await RawMqtt.open(`${relay.wsUrl}/rooms/${r}/mqtt`, 5);
        v5.connect({ clientId: "hook-v5" });
        await v5.next("connack");
        v5.send({ cmd: "publish", topic: "refused/c", payload: Buffer.from("x"), qos: 1, messageId: 7, dup: false, retain: false } as any);
        expect(await v5.next("puback")).toMatchObject({ messageId: 7, reasonCode: 0x87 });
        const v4 = await RawMqtt.open(`${relay.wsUrl}/rooms/${r}/mqtt`, 4);
        v4.connect({ clientId: "hook-v4" });
        await v4.next("connack");
        v4.send({ cmd: "publish", topic: "refused/d", payload: Buffer.from("x"), qos: 1, messageId: 8, dup: false, retain: false } as any);
        // 3.1.1 cannot refuse a PUBLISH: acknowledged, dropped.
        expect(await v4.next("puback")).toMatchObject({ messageId: 8 });
        // A will on a refused topic is not published either.
        const willer = await RawMqtt.open(`${relay.wsUrl}/rooms/${r}/mqtt`, 4);
        willer.connect({ clientId: "hook-will", will: { topic: "refused/will", payload: Buffer.from("gone"), qos: 0, retain: false } } as any);
        await willer.next("connack");
        willer.ws.terminate();
      }

      // Then a publish the hook lets through: it is the first message anyone gets.
      writer.send(publishOn("ok/1", "fine", "p2"));
      expect(await writer.next("ack")).toMatchObject({ id: "p2", seq: 1 });
      const [first] = await reader.messagesUntil(1);
      expect(first).toMatchObject({ seq: 1, topic: "ok/1", data: "fine" });
      await sleep(300);
      expect(reader.messages()).toHaveLength(1);
      const history = await getJson(`${relay.url}/rooms/${r}/messages`);
      expect(history.json.messages.map((m: any) => m.topic)).toEqual(["ok/1"]);
      reader.close();
      writer.close();
    });

    it("a transforming hook's data is what every reader gets: JSON, SSE, MQTT and history", async () => {
      const r = room("redact");
      const json = await TestSocket.open(`${relay.wsUrl}/rooms/${r}`);
      await json.next("welcome");
      const sse = readSse(`${relay.url}/rooms/${r}/events`, {}, (evs) => evs.some((e) => e.event === "message"));
      const sub = await connectCollecting(`${relay.wsUrl}/rooms/${r}/mqtt`, { protocolVersion: 4, clientId: `redact-${kind}` });
      await sub.client.subscribeAsync("dev/#", { qos: 1 });
      await sleep(200); // the SSE stream is open
      const post = await postMessage(relay.url, r, JSON.stringify({ data: { v: 21.5, secret: "hunter2" }, topic: "dev/1" }));
      expect(post.status).toBe(201);
      const expected = { v: 21.5, secret: "[redacted]" };
      const [got] = await json.messagesUntil(1);
      expect(got).toMatchObject({ seq: post.json.seq, topic: "dev/1", data: expected });
      const stream = await sse;
      const event = stream.events.find((e) => e.event === "message")!;
      expect(JSON.parse(event.data).data).toEqual(expected);
      await until(() => sub.got.length === 1);
      expect(JSON.parse(sub.got[0]!.payload)).toEqual(expected);
      await sub.client.endAsync();
      const history = await getJson(`${relay.url}/rooms/${r}/messages`);
      expect(history.json.messages.map((m: any) => m.data)).toEqual([expected]);
      expect(JSON.stringify(history.json)).not.toContain("hunter2");
      json.close();
    });

    it("a slow async hook keeps its publisher's order, and the room serves other publishers meanwhile", async () => {
      const r = room("slow");
      const reader = await TestSocket.open(`${relay.wsUrl}/rooms/${r}?topics=%23`);
      await reader.next("welcome");
      const slow = await TestSocket.open(`${relay.wsUrl}/rooms/${r}`);
      await slow.next("welcome");
      const quick = await TestSocket.open(`${relay.wsUrl}/rooms/${r}`);
      await quick.next("welcome");
      // The hook waits 600 ms on slow/…: the same publisher's next message waits behind it.
      slow.send(publishOn("slow/a", 1, "s1"));
      slow.send(publishOn("fast/a", 2, "s2"));
      await sleep(100);
      quick.send(publishOn("fast/b", 3, "q1"));
      const quickAck = await quick.next("ack");
      const messages = await reader.messagesUntil(3);
      expect(messages.map((m) => m.topic)).toEqual(["fast/b", "slow/a", "fast/a"]);
      expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
      // The other publisher was not made to wait: its message took seq 1 while the hook still held slow/a.
      expect(quickAck.seq).toBe(1);
      const acks = await slow.until((fs) => (fs.filter((f) => f.json?.type === "ack").length === 2 ? fs : undefined), "two acks");
      expect(acks.filter((f) => f.json?.type === "ack").map((f) => f.json.id)).toEqual(["s1", "s2"]);
      reader.close();
      slow.close();
      quick.close();
    });

    it("a throwing hook refuses with hook_failed and publishes nothing", async () => {
      const r = room("boom");
      const ws = await TestSocket.open(`${relay.wsUrl}/rooms/${r}`);
      await ws.next("welcome");
      ws.send(publishOn("boom", 1, "b1"));
      expect(await ws.next("error")).toMatchObject({ code: "hook_failed" });
      const http = await postMessage(relay.url, r, JSON.stringify({ data: 1, topic: "boom" }));
      expect(http.status).toBe(500);
      expect(http.json.error.code).toBe("hook_failed");
      expect((await getJson(`${relay.url}/rooms/${r}`)).json.seq).toBe(0);
      ws.close();
    });
  });

  describe(`connect and committed hooks, ${kind} room`, () => {
    it("a refusing connect hook answers 403 with its code on WebSocket and SSE, and CONNACK not authorised on MQTT", async () => {
      const closed = room("closed");
      await expect(TestSocket.open(`${relay.wsUrl}/rooms/${closed}`)).rejects.toMatchObject({ status: 403 });
      const refused = await TestSocket.open(`${relay.wsUrl}/rooms/${closed}`).catch((e) => e);
      expect(JSON.parse(refused.body)).toEqual({ error: { code: "room_closed", message: `${closed} takes no json connections` } });
      const sse = await fetch(`${relay.url}/rooms/${closed}/events`);
      expect(sse.status).toBe(403);
      expect((await sse.json()).error.code).toBe("room_closed");
      const mqtt = await RawMqtt.open(`${relay.wsUrl}/rooms/${closed}/mqtt`, 5);
      mqtt.connect({ clientId: "closed" });
      expect(await mqtt.next("connack")).toMatchObject({ reasonCode: 0x87 });
      expect((await mqtt.waitClosed()).code).toBe(1008);
    });

    it("the connect hook's meta is the presence meta", async () => {
      const r = room("meta");
      const ws = await TestSocket.open(`${relay.wsUrl}/rooms/${r}`);
      await ws.next("welcome");
      const presence = await getJson(`${relay.url}/rooms/${r}/presence`);
      expect(presence.json.clients.map((c: any) => c.meta)).toEqual([{ via: "hook", kind: "json" }]);
      ws.close();
    });

    it("the committed hook gets every batch once, in seq order", async () => {
      const r = room("committed");
      const ws = await TestSocket.open(`${relay.wsUrl}/rooms/${r}`);
      await ws.next("welcome");
      for (let i = 0; i < 30; i++) ws.send(publishOn(`n/${i}`, i, `c${i}`));
      await ws.until((fs) => fs.filter((f) => f.json?.type === "ack").length === 30 || undefined, "30 acks");
      await until(() => batches.filter((b) => b.room === r).flatMap((b) => b.seqs).length >= 30);
      const mine = batches.filter((b) => b.room === r);
      expect(mine.flatMap((b) => b.seqs)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(mine.flatMap((b) => b.data)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(new Set(mine.map((b) => b.epoch)).size).toBe(1);
      // A message's properties reach both hooks: the publish hook may refuse by them; committed gets them.
      ws.send({ type: "publish", topic: "n/p", data: "typed", id: "p1", properties: { contentType: "text/plain", userProperties: { a: "1" } } });
      ws.send({ type: "publish", topic: "n/p", data: "refused", id: "p2", properties: { contentType: "application/x-refused" } });
      expect((await ws.next("error")).code).toBe("content_type_refused");
      await until(() => batches.filter((b) => b.room === r).flatMap((b) => b.seqs).length >= 31);
      const last = batches.filter((b) => b.room === r).at(-1)!;
      expect(last.properties.at(-1)).toEqual({ contentType: "text/plain", userProperties: [["a", "1"]] });
      ws.close();
    });
  });
}

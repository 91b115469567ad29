/**
 * The library against the real relay (the deployable bundle on workerd, on a
 * loopback port): publish and ack, a restart mid-stream with messages
 * published while the client was away, and publishes queued while offline.
 */
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { run } from "../../client/cli-commands";
import { RoomcastClient, publishHttp, type MessageEnvelope } from "../../client/index";
import { useRelay } from "../support/relay";
import { uniqueRoom } from "../support/socket";

const relay = useRelay();

const fast = { backoff: { min: 50, max: 300, factor: 2 }, WebSocket };

async function waitFor(check: () => boolean, ms = 15_000, what = "condition"): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function collect(client: RoomcastClient): MessageEnvelope[] {
  const seen: MessageEnvelope[] = [];
  client.on("message", (m) => seen.push(m));
  return seen;
}

describe("RoomcastClient against the relay", () => {
  it("publishes and resolves with the acked seq; others receive it", async () => {
    const room = uniqueRoom("cl");
    const sender = new RoomcastClient({ url: relay.wsUrl, room, ...fast });
    const receiver = new RoomcastClient({ url: relay.url, room, ...fast });
    const got = collect(receiver);
    await waitFor(() => sender.state === "open" && receiver.state === "open", 15_000, "both open");
    const a = await sender.publish({ t: 21.5 });
    const b = await sender.publish("two");
    expect(a).toEqual({ seq: 1 });
    expect(b).toEqual({ seq: 2 });
    await waitFor(() => got.length === 2, 5000, "two messages");
    expect(got.map((m) => [m.seq, m.data, m.from])).toEqual([
      [1, { t: 21.5 }, sender.id],
      [2, "two", sender.id],
    ]);
    expect(sender.seq).toBe(0); // echo off: the sender saw nothing
    sender.close();
    receiver.close();
  });

  it("receives its own messages with echo", async () => {
    const room = uniqueRoom("cl");
    const client = new RoomcastClient({ url: relay.wsUrl, room, echo: true, ...fast });
    const got = collect(client);
    const { seq } = await client.publish({ me: 1 });
    await waitFor(() => got.length === 1, 5000, "echo");
    expect(got[0]).toMatchObject({ seq, data: { me: 1 }, from: client.id });
    client.close();
  });

  it("survives a server restart mid-stream: everything published meanwhile arrives once, in order", async () => {
    const room = uniqueRoom("cl");
    // Keeps the client away after the restart until the test lets it back, so
    // the messages below are surely published while it is disconnected.
    let away = false;
    const urls: string[] = [];
    class GatedWebSocket extends WebSocket {
      constructor(url: string) {
        urls.push(url);
        super(away ? url.replace(/:\d+\//, ":1/") : url);
      }
    }
    const client = new RoomcastClient({ url: relay.wsUrl, room, ...fast, WebSocket: GatedWebSocket });
    const got = collect(client);
    const states: string[] = [];
    client.on("state", (s) => states.push(s));
    await waitFor(() => client.state === "open", 15_000, "open");
    for (let i = 1; i <= 5; i++) await publishHttp({ url: relay.url, room, data: { i } });
    await waitFor(() => got.length === 5, 5000, "first five");

    away = true;
    await relay.stop();
    await waitFor(() => client.state === "reconnecting", 5000, "reconnecting");
    await relay.restart(); // same port, same storage
    for (let i = 6; i <= 10; i++) await publishHttp({ url: relay.url, room, data: { i } });
    expect(got).toHaveLength(5);
    away = false;
    await waitFor(() => got.length >= 10 && client.state === "open", 20_000, "resumed");
    expect(new URL(urls.at(-1)!).searchParams.get("since")).toBe("5");
    for (let i = 11; i <= 12; i++) await publishHttp({ url: relay.url, room, data: { i } });
    await waitFor(() => got.length >= 12, 5000, "live after resume");
    await new Promise((r) => setTimeout(r, 200)); // room for a wrong duplicate to show up
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(got.map((m) => (m.data as { i: number }).i)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(states).toEqual(["open", "reconnecting", "open"]);
    client.close();
  });

  it("queues publishes made while disconnected and has each acked (and published) once", async () => {
    const room = uniqueRoom("cl");
    const client = new RoomcastClient({ url: relay.wsUrl, room, ...fast });
    await waitFor(() => client.state === "open", 15_000, "open");
    const first = await client.publish({ n: 0 });

    await relay.stop();
    await waitFor(() => client.state === "reconnecting", 5000, "reconnecting");
    const offline = [1, 2, 3, 4, 5].map((n) => client.publish({ n }));
    expect(client.queued).toBe(5);
    await relay.restart();
    const acks = await Promise.all(offline);
    expect(acks.map((a) => a.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(first.seq).toBe(1);

    const history = (await (await fetch(`${relay.url}/rooms/${room}/messages?after=0`)).json()) as {
      messages: MessageEnvelope[];
    };
    expect(history.messages.map((m) => m.data)).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ n })));
    client.close();
  });

  it("resends a publish whose ack was lost, and the relay keeps it once", async () => {
    const room = uniqueRoom("cl");
    const client = new RoomcastClient({ url: relay.wsUrl, room, ...fast });
    await waitFor(() => client.state === "open", 15_000, "open");
    const p = client.publish({ once: true });
    // Stop the relay at once: the publish may or may not have been stored; the
    // resend after the restart carries the same id either way.
    await relay.stop();
    await relay.restart();
    const { seq } = await p;
    expect(seq).toBe(1);
    const info = (await (await fetch(`${relay.url}/rooms/${room}`)).json()) as { seq: number };
    expect(info.seq).toBe(1);
    client.close();
  });
});

describe("a flaky relay", () => {
  it("two restarts during a stream of 200 publishes: each published once, received once, in order", async () => {
    const room = uniqueRoom("chaos");
    const publisher = new RoomcastClient({ url: relay.wsUrl, room, ...fast });
    const receiver = new RoomcastClient({ url: relay.wsUrl, room, ...fast });
    const got = collect(receiver);
    await waitFor(() => publisher.state === "open" && receiver.state === "open", 15_000, "both open");

    const acks: Promise<{ seq: number }>[] = [];
    const publishSome = async (from: number, to: number) => {
      for (let n = from; n < to; n++) {
        acks.push(publisher.publish({ n }));
        if (n % 10 === 0) await new Promise((r) => setTimeout(r, 20));
      }
    };
    await publishSome(0, 60);
    await relay.restart(); // some in flight, some queued
    await publishSome(60, 130);
    await relay.stop();
    await publishSome(130, 160); // while the relay is down
    await relay.restart();
    await publishSome(160, 200);

    const seqs = (await Promise.all(acks)).map((a) => a.seq);
    expect(seqs).toEqual([...Array(200).keys()].map((i) => i + 1));
    await waitFor(() => got.length >= 200, 20_000, "all 200 received");
    await new Promise((r) => setTimeout(r, 300));
    expect(got.map((m) => (m.data as { n: number }).n)).toEqual([...Array(200).keys()]);
    expect(got.map((m) => m.seq)).toEqual(seqs);
    publisher.close();
    receiver.close();
  });
});

describe("roomcast CLI against the relay", () => {
  it("publish prints {seq, epoch}; tail --since 0 prints each envelope once as a JSON line", async () => {
    const room = uniqueRoom("cli");
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {}, WebSocket };
    expect(await run(["publish", "--url", relay.url, "--room", room, '{"t":21.5}'], io)).toBe(0);
    expect(await run(["publish", "--url", relay.url, "--room", room, "plain text"], io)).toBe(0);
    const epoch = JSON.parse(out[0]!).epoch;
    expect(out.map((l) => JSON.parse(l))).toEqual([
      { seq: 1, epoch: expect.any(String) },
      { seq: 2, epoch },
    ]);

    const lines: string[] = [];
    const stop = new AbortController();
    const tail = run(["tail", "--url", relay.url, "--room", room, "--since", "0"], {
      ...io,
      out: (l: string) => lines.push(l),
      signal: stop.signal,
    });
    await waitFor(() => lines.length === 2, 15_000, "history");
    expect(await run(["publish", "--url", relay.wsUrl, "--room", room, "3"], io)).toBe(0);
    await waitFor(() => lines.length === 3, 5000, "live");
    stop.abort();
    expect(await tail).toBe(0);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ type: "message", room, seq: 1, data: { t: 21.5 } }),
      expect.objectContaining({ type: "message", room, seq: 2, data: "plain text" }),
      expect.objectContaining({ type: "message", room, seq: 3, data: 3 }),
    ]);
    expect(err).toEqual([]);
  });
});

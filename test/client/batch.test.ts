/**
 * Batch frames and conflation in the client (docs/client.md): it asks for
 * batch frames unless told not to, hands each envelope of a batch frame to
 * `message` as if it came alone (in order, each seq once), resumes from the
 * last seq of a batch, and passes `conflate` on.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RoomcastClient, type RoomcastClientOptions } from "../../client/index";
import { FakeSocket } from "./fake-socket";

const settle = () => vi.advanceTimersByTimeAsync(0);

function makeClient(extra: Partial<RoomcastClientOptions> = {}) {
  const client = new RoomcastClient({ url: "ws://relay.test", room: "kitchen", WebSocket: FakeSocket, ...extra });
  const messages: Array<{ seq: number; data: unknown }> = [];
  client.on("message", (m) => messages.push({ seq: m.seq, data: m.data }));
  return { client, messages };
}

const envelope = (seq: number) => ({ type: "message", room: "kitchen", seq, from: "other", ts: 1, data: { n: seq } });
const batch = (...seqs: number[]) => ({ type: "batch", messages: seqs.map(envelope) });

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
  vi.spyOn(Math, "random").mockReturnValue(0.999999);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("batch frames", () => {
  it("asks for them by default, not with batch: false; passes conflate on", async () => {
    const first = makeClient({ conflate: 250 });
    await settle();
    expect(FakeSocket.last.query.get("batch")).toBe("1");
    expect(FakeSocket.last.query.get("conflate")).toBe("250");
    first.client.close();
    const second = makeClient({ batch: false });
    await settle();
    expect(FakeSocket.last.query.has("batch")).toBe(false);
    expect(FakeSocket.last.query.has("conflate")).toBe(false);
    second.client.close();
  });

  it("emits each envelope of a batch frame as a message, in order, beside plain message frames", async () => {
    const { client, messages } = makeClient();
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    FakeSocket.last.serverSend(batch(1, 2, 3));
    FakeSocket.last.message(4);
    FakeSocket.last.serverSend(batch(5, 6));
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(messages[1]!.data).toEqual({ n: 2 });
    expect(client.seq).toBe(6);
    client.close();
  });

  it("resumes from the last seq of a batch and drops what a replay repeats", async () => {
    const { client, messages } = makeClient();
    await settle();
    FakeSocket.last.welcome({ seq: 0, epoch: "e1" });
    FakeSocket.last.serverSend(batch(1, 2, 3));
    FakeSocket.last.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    const again = FakeSocket.last;
    expect(again.query.get("since")).toBe("3");
    again.welcome({ seq: 5, epoch: "e1", recovered: true });
    again.serverSend(batch(2, 3, 4, 5)); // 2 and 3 seen already
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    client.close();
  });

  it("accepts the gaps a conflating reader sees: seq still moves to the newest", async () => {
    const { client, messages } = makeClient({ conflate: 100 });
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    FakeSocket.last.serverSend(batch(3, 7));
    FakeSocket.last.message(12);
    expect(messages.map((m) => m.seq)).toEqual([3, 7, 12]);
    expect(client.seq).toBe(12);
    client.close();
  });

  it("stops a batch where a listener closed the client", async () => {
    const { client, messages } = makeClient();
    client.on("message", (m) => {
      if (m.seq === 2) client.close();
    });
    await settle();
    FakeSocket.last.welcome({ seq: 0 });
    FakeSocket.last.serverSend(batch(1, 2, 3));
    expect(messages.map((m) => m.seq)).toEqual([1, 2]);
  });
});

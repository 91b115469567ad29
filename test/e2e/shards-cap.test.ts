/**
 * MAX_CONNECTIONS_PER_ROOM holds for a sharded room as a whole: WebSockets
 * and SSE streams on every shard and MQTT sockets on the sequencer, opened
 * one at a time or in parallel bursts; freed slots can be taken again, and a
 * restart that kills every connection leaks none. Real sockets against the
 * built bundle.
 */
import mqtt, { type MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { getJson } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const CAP = 20;
const relay = useRelay({ vars: { SHARDS: "big*=4", MAX_CONNECTIONS_PER_ROOM: String(CAP) } });

type Kind = "ws" | "sse" | "mqtt";
interface Held {
  kind: Kind;
  close(): Promise<void>;
}
/** What one attempt came to: a connection held, or the refusal's HTTP status and error code. */
type Outcome = { ok: true; held: Held } | { ok: false; kind: Kind; status: number; code: string | null };

async function openWs(room: string): Promise<Outcome> {
  try {
    const s = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?presence=0`);
    await s.next("welcome");
    return {
      ok: true,
      held: {
        kind: "ws",
        close: async () => {
          s.close();
          await s.waitClosed();
        },
      },
    };
  } catch (e: any) {
    return { ok: false, kind: "ws", status: e.status ?? 0, code: codeOf(e.body) };
  }
}

async function openSse(room: string): Promise<Outcome> {
  const controller = new AbortController();
  const res = await fetch(`${relay.url}/rooms/${room}/events`, { signal: controller.signal });
  if (res.status !== 200) return { ok: false, kind: "sse", status: res.status, code: codeOf(await res.text()) };
  // The stream is open once its first bytes arrive.
  const reader = res.body!.getReader();
  await reader.read();
  return {
    ok: true,
    held: {
      kind: "sse",
      close: async () => {
        controller.abort();
        await reader.closed.catch(() => {});
      },
    },
  };
}

/** An MQTT client: refused either at the upgrade or (if a build counts it at CONNECT) by its CONNACK. */
async function openMqtt(room: string): Promise<Outcome> {
  const client: MqttClient = mqtt.connect(`${relay.wsUrl}/rooms/${room}/mqtt`, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    clientId: `cap-${Math.random().toString(36).slice(2)}`,
  });
  const connected = await new Promise<boolean>((resolve) => {
    client.once("connect", () => resolve(true));
    client.once("error", () => resolve(false));
    client.once("close", () => resolve(false));
  });
  if (!connected) {
    client.end(true);
    return { ok: false, kind: "mqtt", status: 0, code: null };
  }
  return { ok: true, held: { kind: "mqtt", close: () => new Promise((r) => client.end(false, {}, () => r())) } };
}

function codeOf(body: string | undefined): string | null {
  try {
    return JSON.parse(body ?? "").error.code ?? null;
  } catch {
    return null;
  }
}

const OPEN: Record<Kind, (room: string) => Promise<Outcome>> = { ws: openWs, sse: openSse, mqtt: openMqtt };

/** `n` attempts of the kinds given, in turn, all at once. */
function burst(room: string, n: number, kinds: readonly Kind[]): Promise<Outcome[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => OPEN[kinds[i % kinds.length]!](room)));
}

const held = (outcomes: Outcome[]) => outcomes.flatMap((o) => (o.ok ? [o.held] : []));
const refused = (outcomes: Outcome[]) => outcomes.flatMap((o) => (o.ok ? [] : [o]));

/** The room's connections, summed over the sequencer and every shard. */
async function connections(room: string): Promise<number> {
  return (await getJson(`${relay.url}/rooms/${room}`)).json.connections;
}

async function settle(room: string, expected: number): Promise<void> {
  const end = Date.now() + 10_000;
  while ((await connections(room)) !== expected) {
    if (Date.now() > end) throw new Error(`room ${room} did not settle at ${expected} connections (${await connections(room)})`);
    await sleep(50);
  }
  // The shards' reports leave the turn after the closes they count.
  await sleep(200);
}

describe("a sharded room's connection cap", () => {
  it("holds across shards when filled one at a time: SSE on every shard and MQTT on the sequencer count", async () => {
    const room = uniqueRoom("big");
    const got: Held[] = [];
    // Consecutive opens land on consecutive shards: 16 SSE streams spread over all four.
    for (let i = 0; i < 16; i++) {
      const o = await openSse(room);
      expect(o.ok).toBe(true);
      got.push((o as { held: Held }).held);
    }
    for (let i = 0; i < 4; i++) {
      const o = await openMqtt(room);
      expect(o.ok).toBe(true);
      got.push((o as { held: Held }).held);
    }
    expect(await connections(room)).toBe(CAP);
    for (const kind of ["ws", "sse", "ws", "sse", "mqtt", "ws", "sse", "ws"] as const) {
      const o = await OPEN[kind](room);
      expect(o.ok, `a ${kind} past the cap`).toBe(false);
      if (kind !== "mqtt") expect(o).toMatchObject({ status: 503, code: "room_full" });
    }
    expect(await connections(room)).toBe(CAP);
    await Promise.all(got.map((h) => h.close()));
  });

  it("admits exactly the cap from parallel bursts of WebSockets, SSE and MQTT, and nothing more into a full room", async () => {
    const room = uniqueRoom("big");
    const first = await burst(room, 2 * CAP, ["ws", "sse", "mqtt", "ws", "sse"]);
    // From an empty room, the burst fills it exactly; every refused stream is told why.
    expect(held(first).length).toBe(CAP);
    for (const r of refused(first)) if (r.kind !== "mqtt") expect(r).toMatchObject({ status: 503, code: "room_full" });
    expect(await connections(room)).toBe(CAP);
    const second = await burst(room, CAP, ["sse", "ws", "mqtt", "ws"]);
    expect(held(second)).toEqual([]);
    expect(await connections(room)).toBe(CAP);
    await Promise.all(held(first).map((h) => h.close()));
  });

  it("gives freed slots back: after closes, a burst takes exactly what was freed", async () => {
    const room = uniqueRoom("big");
    // WebSockets and MQTT (an SSE stream's end is seen by the room at its next write, up to a heartbeat later).
    const first = held(await burst(room, 2 * CAP, ["ws", "ws", "ws", "mqtt"]));
    expect(first.length).toBe(CAP);
    const leaving = [...first.filter((h) => h.kind === "ws"), ...first.filter((h) => h.kind === "mqtt")].slice(0, 5);
    await Promise.all(leaving.map((h) => h.close()));
    await settle(room, CAP - 5);
    const second = await burst(room, 15, ["ws", "sse", "ws"]);
    expect(held(second).length).toBe(5);
    expect(await connections(room)).toBe(CAP);

    const socketsLeft = [...first.filter((h) => !leaving.includes(h)), ...held(second)];
    const streams = socketsLeft.filter((h) => h.kind === "sse").length;
    await Promise.all(socketsLeft.filter((h) => h.kind !== "sse").map((h) => h.close()));
    await settle(room, streams);
    // Emptied of sockets: a burst fills it again, to the cap and no further.
    const third = await burst(room, 2 * CAP, ["ws", "ws", "mqtt"]);
    expect(held(third).length).toBe(CAP - streams);
    await Promise.all([...socketsLeft.filter((h) => h.kind === "sse"), ...held(third)].map((h) => h.close()));
  });

  it("leaks no slot when a restart ends every connection without a close", async () => {
    const room = uniqueRoom("big");
    const before = held(await burst(room, CAP, ["ws", "sse"]));
    expect(before.length).toBe(CAP);
    await relay.restart();
    // The shards and the sequencer come back with none of those connections. An MQTT client first: it
    // opens on the sequencer, which no shard has asked anything since; the shards' reports on waking
    // (the sequencer's wake pushes to them) free their slots within moments.
    const after: Held[] = [];
    const end = Date.now() + 5000;
    for (;;) {
      const o = await openMqtt(room);
      if (o.ok) {
        after.push(o.held);
        break;
      }
      if (Date.now() > end) throw new Error("the room stayed full after the restart: the dead connections' slots leaked");
      await sleep(100);
    }
    // Then the room takes the rest of a full cap again, and no more.
    for (let i = 1; i < CAP; i++) {
      const o = await OPEN[i % 2 === 0 ? "ws" : "sse"](room);
      expect(o.ok, `connection ${i + 1} after the restart`).toBe(true);
      after.push((o as { held: Held }).held);
    }
    expect(await openWs(room)).toMatchObject({ ok: false, status: 503, code: "room_full" });
    await Promise.all(after.map((h) => h.close()));
  });
});

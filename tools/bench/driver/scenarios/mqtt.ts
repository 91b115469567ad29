/**
 * MQTT over WebSocket against Roomcast's /rooms/:room/mqtt (docs/mqtt.md).
 *
 * - mqtt-fanout: N mqtt.js subscribers (`bench/#` at QoS 0 or 1), one JSON
 *   WebSocket publisher sending M messages with topic `tools/bench/x` at once:
 *   the same burst as the JSON fan-out, delivered as PUBLISH packets. At
 *   QoS 1 every delivery also comes back as a PUBACK (one more frame into the
 *   room per delivery), which is what it costs.
 * - mqtt-idle: K idle MQTT connections (keep-alive 0, so the client sends
 *   nothing by itself) wait for the room to be evicted, then each sends one
 *   PINGREQ. MQTT pings are binary, so the runtime's text auto-response
 *   cannot answer them: the wake-ups are reported as counted.
 */
import mqtt, { type MqttClient } from "mqtt";
import mqttPacket, { type Packet } from "mqtt-packet";
import WebSocket from "ws";
import { openSockets, randomPrefix, Tally, terminateAll } from "../../../load/index.js";
import { sleep, waitFor } from "../../../load/wait.js";
import { roomPath, type SystemEndpoint } from "../../systems/system.js";
import type { MqttFanoutJob, MqttFanoutResult, MqttIdleJob, MqttIdleResult } from "../jobs.js";
import { quiet, roomCounters, settle } from "../room-state.js";
import { deliveryOf } from "./delivery.js";
import { now, socketUrl, type Delivered } from "../wire.js";
import { newReading } from "../../../load/index.js";

function mqttUrl(endpoint: SystemEndpoint, room: string): string {
  const url = new URL(`${roomPath(endpoint, room)}/mqtt`, endpoint.origin);
  url.protocol = "ws:";
  return url.toString();
}

/** Opens `count` clients, `concurrency` at a time. */
async function inBatches<T>(count: number, concurrency: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += concurrency) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, (_, k) => open(i + k)))));
  }
  return out;
}

export async function mqttFanout(job: MqttFanoutJob, progress: (line: string) => void): Promise<MqttFanoutResult> {
  const { endpoint, subscribers, messages, qos } = job;
  const room = randomPrefix();
  const tally = new Tally();
  tally.beginRoom(room, 0);
  let lastDeliveryAt = 0;
  const clients: MqttClient[] = await inBatches(subscribers, 50, async (i) => {
    const sub = tally.watch(`sub-${i}`, room, 0);
    const c = await mqtt.connectAsync(mqttUrl(endpoint, room), { protocolVersion: 4, clientId: `bench-${room}-${i}`, reconnectPeriod: 0, keepalive: 0 });
    c.on("message", (_topic, payload) => {
      const receivedAt = now();
      const data = JSON.parse(payload.toString()) as Delivered["data"];
      // One publisher in a fresh room: its n-th message is seq n.
      sub.record(data.n!, data, receivedAt);
      lastDeliveryAt = receivedAt;
    });
    await c.subscribeAsync("bench/#", { qos });
    return c;
  });
  let lastFrameAt = Date.now();
  const [publisher] = await openSockets(socketUrl(endpoint, room), 1, { onMessage: () => (lastFrameAt = Date.now()) });
  await quiet(() => lastFrameAt);
  progress(`${subscribers} MQTT subscribers (QoS ${qos}) open; burst of ${messages}`);

  const started = now();
  for (let n = 1; n <= messages; n++) {
    publisher!.send(JSON.stringify({ type: "publish", topic: "bench/x", data: { ...newReading("pub", n, now()), n } }));
  }
  tally.endRoom(room, messages);
  await waitFor(() => tally.deliveredCount >= subscribers * messages, job.timeoutMs, 5);
  const seconds = Math.max(1e-6, (lastDeliveryAt - started) / 1000);
  const delivery = deliveryOf(tally);
  for (const c of clients) c.end(true);
  terminateAll([publisher]);
  await settle(endpoint, room);
  return { qos, subscribers, messages, seconds: Math.round(seconds * 1000) / 1000, msgsPerSec: Math.round(delivery.delivered / seconds), ...delivery };
}

export async function mqttIdle(job: MqttIdleJob, progress: (line: string) => void): Promise<MqttIdleResult> {
  const { endpoint, devices, hibernateMs } = job;
  const room = randomPrefix();
  const url = mqttUrl(endpoint, room);
  let pingresps = 0;
  let lastFrameAt = Date.now();
  const sockets = await inBatches(devices, 50, (i) => openDevice(url, `idle-${room}-${i}`, (p) => {
    lastFrameAt = Date.now();
    if (p.cmd === "pingresp") pingresps++;
  }));
  await quiet(() => lastFrameAt);
  const before = await roomCounters(endpoint, room);
  progress(`${devices} idle MQTT devices; waiting ${hibernateMs / 1000} s for hibernation`);
  await sleep(hibernateMs);
  const ping = mqttPacket.generate({ cmd: "pingreq" });
  for (const ws of sockets) ws.send(ping);
  await waitFor(() => pingresps >= devices, 15_000);
  const after = await roomCounters(endpoint, room);
  const constructedSince = after.constructed - before.constructed;
  for (const ws of sockets) ws.terminate();
  await settle(endpoint, room);
  return {
    devices,
    pingresps,
    evicted: constructedSince >= 1,
    // As the JSON idle check counts them: our own counter read may construct the object once.
    wakeups: Math.max(0, constructedSince - 1) + (after.messages - before.messages),
  };
}

function openDevice(url: string, clientId: string, onPacket: (p: Packet) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["mqtt"]);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on("packet", (p: Packet) => {
      onPacket(p);
      if (p.cmd === "connack") resolve(ws);
    });
    ws.on("message", (data: Buffer) => parser.parse(data));
    ws.once("open", () => ws.send(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId, keepalive: 0 })));
    ws.once("error", reject);
  });
}

/** MQTT helpers for tests: mqtt.js clients against a relay, and a raw packet-level client. */
import mqtt, { type MqttClient } from "mqtt";
import mqttPacket, { type Packet } from "mqtt-packet";
import WebSocket from "ws";
import { sleep } from "./socket";

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  /** The PUBLISH's MQTT 5 properties, as mqtt.js parsed them. */
  properties?: mqtt.IPublishPacket["properties"];
}

/** Connects with the message handler attached before CONNACK, so nothing sent right after it is missed. */
export function connectCollecting(url: string, options: mqtt.IClientOptions): Promise<{ client: MqttClient; got: Received[]; sessionPresent: boolean }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  const got: Received[] = [];
  client.on("message", (topic, payload, packet) => got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup, properties: packet.properties }));
  return new Promise((resolve, reject) => {
    client.once("connect", (ack) => resolve({ client, got, sessionPresent: ack.sessionPresent }));
    client.once("error", reject);
  });
}

export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(20);
  }
}

/**
 * A packet-level MQTT client over a WebSocket: sends bytes as given (so a
 * test can send anything, broken packets too) and parses what comes back.
 */
export class RawMqtt {
  readonly packets: Packet[] = [];
  /** Every packet's cmd in arrival order (`packets` loses them as `next` takes them). */
  readonly order: Packet["cmd"][] = [];
  closed: { code: number; reason: string } | null = null;
  private readonly parser: ReturnType<typeof mqttPacket.parser>;

  private constructor(
    readonly ws: WebSocket,
    readonly version: 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on("packet", (p: Packet) => {
      this.packets.push(p);
      this.order.push(p.cmd);
    });
    this.parser.on("error", () => {});
    ws.on("message", (data: Buffer) => this.parser.parse(data));
    ws.on("close", (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  static open(url: string, version: 4 | 5 = 4): Promise<RawMqtt> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ["mqtt"]);
      const raw = new RawMqtt(ws, version);
      ws.once("open", () => resolve(raw));
      ws.once("error", reject);
    });
  }

  send(packet: Packet): void {
    this.ws.send(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  sendBytes(bytes: Uint8Array | number[]): void {
    this.ws.send(Buffer.from(bytes as Uint8Array));
  }

  connect(extra: Partial<mqttPacket.IConnectPacket> = {}): void {
    this.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: this.version, clean: true, clientId: "", keepalive: 60, ...extra } as Packet);
  }

  async next<T extends Packet["cmd"]>(cmd: T, ms = 5000): Promise<Extract<Packet, { cmd: T }>> {
    await until(() => this.packets.some((p) => p.cmd === cmd) || this.closed !== null, ms);
    const i = this.packets.findIndex((p) => p.cmd === cmd);
    if (i < 0) throw new Error(`closed (${this.closed?.code}) before ${cmd}`);
    return this.packets.splice(i, 1)[0] as Extract<Packet, { cmd: T }>;
  }

  async waitClosed(ms = 5000): Promise<{ code: number; reason: string }> {
    await until(() => this.closed !== null, ms);
    return this.closed!;
  }

  close(): void {
    this.ws.terminate();
  }
}

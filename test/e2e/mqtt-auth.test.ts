/**
 * MQTT with AUTH_SECRET set: the token as the CONNECT password (any
 * username) or on the upgrade URL; a bad or missing one gets CONNACK not
 * authorized (3.1.1 0x05, 5.0 0x87) and the close; scopes hold per packet.
 */
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { signJwt } from "../../client/jwt";
import { getJson } from "../support/http";
import { connectCollecting, RawMqtt, until } from "../support/mqtt";
import { useRelay } from "../support/relay";
import { sleep, uniqueRoom } from "../support/socket";

const SECRET = "mqtt-test-secret-that-is-long-enough-0123456789";
const relay = useRelay({ vars: { AUTH_SECRET: SECRET } });
const url = (room: string) => `${relay.wsUrl}/rooms/${room}/mqtt`;
const nowS = () => Math.floor(Date.now() / 1000);

function token(room: string, scope: string, secret = SECRET): Promise<string> {
  return signJwt({ sub: "device-1", rooms: [room], scope, exp: nowS() + 3600 }, secret);
}

describe("MQTT auth", () => {
  it.each([4, 5] as const)("v%i: the CONNECT password carries the token; a bad one gets CONNACK not authorized", async (protocolVersion) => {
    const room = uniqueRoom("mqtt-auth");
    const ok = await connectCollecting(url(room), { protocolVersion, username: "anything", password: await token(room, "subscribe publish") });
    await ok.client.subscribeAsync("a/#", { qos: 1 });
    await ok.client.publishAsync("a/b", "hi", { qos: 1 });
    await until(() => ok.got.length === 1);
    await ok.client.endAsync();

    for (const password of [await token(room, "subscribe publish", "another-secret-of-enough-length-xxxxxxxxxx"), await token("other-room", "subscribe publish"), "not-a-jwt", undefined]) {
      const raw = await RawMqtt.open(url(room), protocolVersion);
      raw.connect({ clientId: "x", username: "device", ...(password === undefined ? {} : { password: Buffer.from(password) }) });
      const ack = await raw.next("connack");
      expect(protocolVersion === 5 ? ack.reasonCode : ack.returnCode).toBe(protocolVersion === 5 ? 0x87 : 0x05);
      expect((await raw.waitClosed()).code).toBe(1008);
    }
    // mqtt.js sees the refusal as an error.
    await expect(mqtt.connectAsync(url(room), { protocolVersion, username: "device", password: "bad", reconnectPeriod: 0 })).rejects.toThrow(/authori/i);
  });

  it("takes the token on the upgrade URL too (then the password is not needed)", async () => {
    const room = uniqueRoom("mqtt-auth-url");
    const c = await connectCollecting(`${url(room)}?token=${await token(room, "subscribe publish")}`, { protocolVersion: 4 });
    await c.client.subscribeAsync("x", { qos: 0 });
    await c.client.publishAsync("x", "y");
    await until(() => c.got.length === 1);
    await c.client.endAsync();
    // A token on the URL is checked by the Worker, before the upgrade.
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${url(room)}?token=nope`, ["mqtt"]);
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.once("open", () => reject(new Error("upgraded")));
    });
    expect(status).toBe(401);
  });

  it("a subscribe-only token cannot PUBLISH (5.0 PUBACK 0x87; 3.1.1 acknowledged, dropped); a publish-only one cannot SUBSCRIBE", async () => {
    const room = uniqueRoom("mqtt-scope");
    const readOnly = await token(room, "subscribe");
    const v5 = await RawMqtt.open(url(room), 5);
    v5.connect({ clientId: "ro5", username: "d", password: Buffer.from(readOnly) });
    await v5.next("connack");
    v5.send({ cmd: "publish", topic: "a", payload: Buffer.from("no"), qos: 1, messageId: 3, dup: false, retain: false });
    expect((await v5.next("puback")).reasonCode).toBe(0x87);
    const v4 = await RawMqtt.open(url(room), 4);
    v4.connect({ clientId: "ro4", username: "d", password: Buffer.from(readOnly) });
    await v4.next("connack");
    v4.send({ cmd: "publish", topic: "a", payload: Buffer.from("no"), qos: 1, messageId: 3, dup: false, retain: false });
    await v4.next("puback");
    v4.send({ cmd: "publish", topic: "a", payload: Buffer.from("no"), qos: 0, dup: false, retain: false });
    await sleep(200);
    const history = await getJson(`${relay.url}/rooms/${room}/messages`, { authorization: `Bearer ${await token(room, "history")}` });
    expect(history.json.messages).toEqual([]);

    const writeOnly = await RawMqtt.open(url(room), 5);
    writeOnly.connect({ clientId: "wo", username: "d", password: Buffer.from(await token(room, "publish")) });
    await writeOnly.next("connack");
    writeOnly.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "a/#", qos: 1 }] } as any);
    expect((await writeOnly.next("suback")).granted).toEqual([0x87]);
    for (const c of [v5, v4, writeOnly]) c.close();
  });
});

/**
 * A browser MQTT client (Eclipse Paho JavaScript, loaded from node_modules)
 * in headless Chromium, on a page of the relay's own origin (so the origin
 * gate lets it in): it connects to /rooms/:room/mqtt, subscribes with a
 * wildcard, publishes, and receives its own and other clients' messages.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedRelay } from "../../tools/local/relay";
import { startRelay } from "../support/relay";
import { uniqueRoom } from "../support/socket";
import { launchBrowser, type Browser } from "./browser";

let relay: EmbeddedRelay;
let browser: Browser;
let paho: string;

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  paho = await readFile(require.resolve("paho-mqtt/paho-mqtt.js"), "utf8");
  [relay, browser] = await Promise.all([startRelay(), launchBrowser()]);
});
afterAll(async () => {
  await Promise.all([browser?.close(), relay?.stop()]);
});

describe("Paho MQTT in a browser", () => {
  it("connects from a page of the relay's origin, subscribes, publishes and receives", async () => {
    const room = uniqueRoom("paho");
    // `/` has a strict CSP; `/health` of the same origin has none, so the library can be added to it.
    // (A page fulfilled by page.route is no help: Chromium opened no WebSocket from one here.)
    const w = await browser.open(`${relay.url}/health`);
    await w.page.addScriptTag({ content: paho });
    const port = Number(new URL(relay.url).port);
    await w.page.evaluate(
      ({ port, room }) =>
        new Promise<void>((resolve, reject) => {
          const P = (window as any).Paho;
          const client = new P.Client("127.0.0.1", port, `/rooms/${room}/mqtt`, "paho-browser-1");
          (window as any).got = [];
          client.onMessageArrived = (m: any) => (window as any).got.push([m.destinationName, m.payloadString, m.qos, m.retained]);
          (window as any).client = client;
          client.connect({
            mqttVersion: 4,
            timeout: 5,
            onSuccess: () => client.subscribe("paho/#", { qos: 1, onSuccess: () => resolve(), onFailure: (e: any) => reject(new Error(JSON.stringify(e))) }),
            onFailure: (e: any) => reject(new Error(`connect failed: ${e.errorMessage}`)),
          });
        }),
      { port, room },
    );
    await w.page.evaluate(() => {
      const P = (window as any).Paho;
      const m = new P.Message("from the browser");
      m.destinationName = "paho/browser";
      m.qos = 1;
      (window as any).client.send(m);
    });
    const res = await fetch(`${relay.url}/rooms/${room}/messages?topic=paho/http`, { method: "POST", body: JSON.stringify({ data: { n: 1 }, topic: "paho/http" }), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(201);
    await expect.poll(() => w.page.evaluate(() => (window as any).got), { timeout: 10_000 }).toEqual([
      ["paho/browser", "from the browser", 1, false],
      ["paho/http", '{"n":1}', 1, false],
    ]);
    const history = (await (await fetch(`${relay.url}/rooms/${room}/messages`)).json()) as any;
    expect(history.messages.map((m: any) => [m.seq, m.topic, m.data])).toEqual([
      [1, "paho/browser", "from the browser"],
      [2, "paho/http", { n: 1 }],
    ]);
    expect(w.errors).toEqual([]);
    await w.page.close();
  });
});

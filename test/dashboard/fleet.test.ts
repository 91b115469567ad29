/**
 * The fleet view in headless Chromium against a real relay: tiles from
 * retained values and live messages, a topic's chart seeded from history,
 * quiet devices, commands published from the page, markup rendered as text,
 * and a busy room (200 topics at 10 Hz) that must not freeze the page.
 */
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";
import type { WatchedPage } from "./browser";
import { startRelay } from "../support/relay";
import { useDashboard } from "./harness";
import { measureLoad } from "./load";

const dash = useDashboard("");
const openRoom = dash.openRoom;

/** Publishes over HTTP with a topic (and retain), as a device or a backend would. */
async function post(room: string, topic: string, data: unknown, retain = false, base = dash.relay.url): Promise<number> {
  const res = await fetch(`${base}/rooms/${room}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data, topic, ...(retain ? { retain: true } : {}) }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { seq: number }).seq;
}

const tile = (topic: string) => `#tiles .tile[data-topic="${topic}"]`;
const text = (w: WatchedPage, selector: string) => w.page.locator(selector).first().textContent({ timeout: 10_000 });

describe("fleet view", () => {
  it("shows every retained value as a tile on load: a number large, an object's numeric fields, a text", async () => {
    const room = uniqueRoom("retained");
    await post(room, "sensors/a/temp", 21.5, true);
    await post(room, "sensors/b/env", { t: 19.25, rh: 41, label: "north" }, true);
    await post(room, "sensors/c/door", "open", true);
    await post(room, "sensors/a/temp", 22, true); // replaces the first
    const w = await openRoom(room);

    await expect.poll(() => text(w, `${tile("sensors/a/temp")} .tile-number`)).toBe("22");
    expect(await w.page.getAttribute(tile("sensors/a/temp"), "data-retained")).toBe("true");
    const fields = await w.page.locator(`${tile("sensors/b/env")} .tile-field`).allTextContents();
    expect(fields).toEqual(["t19.25", "rh41"]);
    expect(await text(w, `${tile("sensors/c/door")} .tile-text`)).toBe("open");
    expect(await w.page.locator("#tiles .tile").count()).toBe(3);
    expect(await text(w, "#tile-summary")).toBe("3 of 3");

    // The filter takes MQTT wildcards.
    await w.page.fill("#tile-filter", "sensors/+/temp, sensors/c/#");
    await expect.poll(() => text(w, "#tile-summary")).toBe("2 of 3");
    expect(await w.page.isHidden(tile("sensors/b/env"))).toBe(true);
    await w.page.fill("#tile-filter", "sensors/#/x");
    expect(await text(w, "#tile-filter-note")).toContain("is not a topic filter");
    await w.page.fill("#tile-filter", "");
    await expect.poll(() => text(w, "#tile-summary")).toBe("3 of 3");
  });

  it("updates a tile and its open chart from live messages", async () => {
    const room = uniqueRoom("live");
    await post(room, "sensors/d1/env", { t: 20, rh: 50 }, true);
    const w = await openRoom(room);
    await w.page.click(tile("sensors/d1/env"));
    await w.page.locator("#chart .uplot").waitFor();
    expect(await text(w, "#chart-title")).toBe("sensors/d1/env");
    await expect.poll(() => w.page.getAttribute("#chart", "data-points")).toBe("1");

    const device = await TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}?topics=cmd/d1`);
    await device.next("welcome");
    for (let i = 1; i <= 5; i++) device.send({ type: "publish", topic: "sensors/d1/env", data: { t: 20 + i, rh: 50 - i } });
    await expect.poll(() => w.page.locator(`${tile("sensors/d1/env")} .tile-field`).allTextContents()).toEqual(["t25", "rh45"]);
    await expect.poll(() => w.page.getAttribute("#chart", "data-points")).toBe("6");
    expect(await w.page.locator("#chart .u-legend").textContent()).toContain("rh");

    // Paused, the chart stops moving; resumed, it catches up.
    await w.page.click("#chart-pause");
    expect(await w.page.getAttribute("#chart", "data-paused")).toBe("true");
    device.send({ type: "publish", topic: "sensors/d1/env", data: { t: 30, rh: 40 } });
    await expect.poll(() => w.page.locator(`${tile("sensors/d1/env")} .tile-field`).allTextContents()).toEqual(["t30", "rh40"]);
    expect(await w.page.getAttribute("#chart", "data-points")).toBe("6");
    await w.page.click("#chart-pause");
    await expect.poll(() => w.page.getAttribute("#chart", "data-points")).toBe("7");
    await w.page.selectOption("#chart-window", "15");
    device.close();
  });

  it("seeds a topic's chart from the room's history", async () => {
    const room = uniqueRoom("seeded");
    const device = await TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}?topics=cmd/d2`);
    await device.next("welcome");
    for (let i = 0; i < 20; i++) device.send({ type: "publish", topic: "sensors/d2/temp", data: 10 + i, id: `m${i}` });
    device.send({ type: "publish", topic: "sensors/other", data: 1, id: "other" });
    device.send({ type: "publish", topic: "sensors/d2/temp", data: 42, retain: true, id: "last" });
    await device.until((fs) => fs.some((f) => f.json?.type === "ack" && f.json.id === "last"), "the last ack");
    const w = await openRoom(room);

    await expect.poll(() => text(w, `${tile("sensors/d2/temp")} .tile-number`)).toBe("42");
    await w.page.click(tile("sensors/d2/temp"));
    // 21 messages on the topic in history (the other topic is not), drawn as 21 points.
    await expect.poll(() => w.page.getAttribute("#chart", "data-seeded")).toBe("21");
    await expect.poll(() => w.page.getAttribute("#chart", "data-points")).toBe("21");
    expect(await text(w, "#chart-note")).toContain("21 from history");
    device.close();
  });

  it("flags a device that stops publishing as quiet, after the threshold set on the page", async () => {
    const room = uniqueRoom("quiet");
    const w = await openRoom(room);
    await w.page.fill("#quiet-after", "2");
    const device = await TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}?topics=cmd/d3`);
    const { id } = await device.next("welcome");
    const row = `#presence-list li[data-id="${id}"]`;
    // Publishing every 300 ms: heard from, not quiet.
    for (let i = 0; i < 8; i++) {
      device.send({ type: "publish", topic: "sensors/d3/temp", data: i });
      await sleep(300);
    }
    await expect.poll(() => text(w, row)).toContain("last message");
    expect(await w.page.getAttribute(row, "data-quiet")).toBe("false");
    // Then it stops (still connected): quiet once 2 s pass without a message.
    await expect.poll(() => w.page.getAttribute(row, "data-quiet")).toBe("true");
    expect(await text(w, "#quiet-count")).toBe("1 quiet");
    // The page itself never published: listed, never flagged.
    expect(await w.page.locator('#presence-list li[data-quiet="true"]').count()).toBe(1);
    device.send({ type: "publish", topic: "sensors/d3/temp", data: 9 });
    await expect.poll(() => w.page.getAttribute(row, "data-quiet")).toBe("false");
    device.close();
  });

  it("publishes a command on a topic, with the retain switch, to a subscriber of cmd/#", async () => {
    const room = uniqueRoom("cmd");
    await post(room, "sensors/d4/temp", 20, true);
    const w = await openRoom(room);
    const subscriber = await TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}?topics=${encodeURIComponent("cmd/#")}`);
    await subscriber.next("welcome");

    // Opening a device's tile offers its command topic.
    await w.page.click(tile("sensors/d4/temp"));
    expect(await w.page.inputValue("#publish-topic")).toBe("cmd/d4");
    await w.page.check("#publish-retain");
    await w.page.fill("#publish-input", '{"set": "eco"}');
    await w.page.press("#publish-input", "Enter");

    const [command] = await subscriber.messagesUntil(1);
    expect(command).toMatchObject({ topic: "cmd/d4", data: { set: "eco" }, retain: true });
    await expect.poll(() => text(w, "#publish-result")).toBe(`Sent as #${command.seq}`);
    // Retained: a device that connects later gets it.
    const retained = (await (await fetch(`${dash.relay.url}/rooms/${room}/retained?topics=cmd/d4`)).json()) as { messages: { data: unknown }[] };
    expect(retained.messages.map((m) => m.data)).toEqual([{ set: "eco" }]);

    // A bad topic is refused on the page, before anything is sent.
    await w.page.fill("#publish-topic", "cmd/+");
    await w.page.fill("#publish-input", "x");
    await w.page.press("#publish-input", "Enter");
    expect(await text(w, "#publish-result")).toContain("is not a topic");
    subscriber.close();
  });

  it("publishes a command that reaches an MQTT subscriber", async () => {
    const room = uniqueRoom("mqttcmd");
    const w = await openRoom(room);
    // mqtt.js may neither connect nor fail when the upgrade is refused: bound the wait, with a reason.
    const client = await Promise.race([
      mqtt.connectAsync(`${dash.relay.wsUrl}/rooms/${room}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 }),
      sleep(10_000).then(() => {
        throw new Error(`no MQTT connection to /rooms/${room}/mqtt within 10 s`);
      }),
    ]);
    try {
      const got = new Promise<{ topic: string; payload: string }>((resolve) => client.on("message", (topic, payload) => resolve({ topic, payload: payload.toString() })));
      await client.subscribeAsync("cmd/#", { qos: 0 });
      await w.page.fill("#publish-topic", "cmd/d5");
      await w.page.fill("#publish-input", '{"reboot": true}');
      await w.page.press("#publish-input", "Enter");
      const message = await got;
      expect(message.topic).toBe("cmd/d5");
      expect(JSON.parse(message.payload)).toEqual({ reboot: true });
    } finally {
      await client.endAsync();
    }
  });

  it("renders markup in a topic, a value and presence meta as text", async () => {
    const secret = "fleet-test-secret";
    const own = await startRelay({ vars: { AUTH_SECRET: secret } });
    let page: WatchedPage | undefined;
    try {
      const room = uniqueRoom("xss");
      const payload = "<img src=x onerror=alert(1)>";
      const exp = Math.floor(Date.now() / 1000) + 600;
      const viewer = await signJwt({ sub: "viewer", rooms: [room], scope: "subscribe publish presence history", exp }, secret);
      const deviceToken = await signJwt({ sub: "device", rooms: [room], scope: "subscribe publish", meta: { name: payload }, exp }, secret);
      const w = (page = await openRoom(`${room}&token=${viewer}`, own.url));
      const device = await TestSocket.open(`${own.wsUrl}/rooms/${room}?token=${deviceToken}&topics=cmd/x`);
      const { id } = await device.next("welcome");
      device.send({ type: "publish", topic: `sensors/${payload}`, data: payload });
      device.send({ type: "publish", topic: "sensors/obj", data: { [payload]: 1, note: payload } });

      await expect.poll(() => text(w, `${tile(`sensors/${payload}`)} .tile-text`)).toBe(payload);
      expect(await text(w, `${tile(`sensors/${payload}`)} .tile-topic`)).toBe(`sensors/${payload}`);
      await expect.poll(() => text(w, `${tile("sensors/obj")} .tile-field-name`)).toBe(payload);
      await expect.poll(() => text(w, `#presence-list li[data-id="${id}"] .presence-meta`)).toBe(JSON.stringify({ name: payload }));
      await w.page.click(tile(`sensors/${payload}`));
      expect(await text(w, "#chart-title")).toBe(`sensors/${payload}`);
      await w.page.click("#tab-log");
      await expect.poll(() => w.page.locator("#messages li").count()).toBe(2);
      expect(await w.page.locator("img").count()).toBe(0);
      expect(w.dialogs).toEqual([]);
      device.close();
    } finally {
      // The page goes before the relay does: its reconnecting sockets would log the refusals.
      await page?.page.close();
      await own.stop();
    }
  });

  it("fits a phone width with tiles and a chart open, in dark and light", async () => {
    const room = uniqueRoom("phone");
    await post(room, "sensors/a-rather-long-device-name-for-a-phone/environment", { temperature: 21.5, humidity: 41, pressure: 1013.2 }, true);
    await post(room, "sensors/b/state", "a long line of text that a phone cannot show in one line at all", true);
    const w = await openRoom(room);
    await w.page.setViewportSize({ width: 390, height: 844 });
    await w.page.click(tile("sensors/b/state"));
    await w.page.click(tile("sensors/a-rather-long-device-name-for-a-phone/environment"));
    await w.page.locator("#chart .uplot").waitFor();
    for (const colorScheme of ["light", "dark"] as const) {
      await w.page.emulateMedia({ colorScheme });
      expect(await w.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    }
  });

  it("stays responsive with 200 topics at 10 Hz for 10 s, with a bounded heap", async () => {
    const room = uniqueRoom("busy");
    const w = await openRoom(room);
    const report = await measureLoad(w, dash.relay, room, { topics: 200, hz: 10, seconds: 10 });
    console.log(`dashboard load: ${JSON.stringify(report)}`);
    expect(report.tiles).toBe(200);
    // A generous bound, so a loaded machine does not flake it.
    expect(report.clickToChartMs).toBeLessThan(10_000);
    // Bounded: the heap after the second half of the run is not the first half's plus what the run sent.
    expect(report.heapEndMB).toBeLessThan(report.heapMidMB * 1.5 + 10);
    expect(report.heapEndMB).toBeLessThan(150);
  });
});

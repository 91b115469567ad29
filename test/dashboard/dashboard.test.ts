/**
 * The dashboard in headless Chromium against a real relay: the page's own
 * WebSocket, messages published over HTTP and by other sockets, presence, the
 * publish box, and a relay that goes away and comes back.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import { TestSocket, uniqueRoom } from "../support/socket";
import { MAX_SHOWN } from "../../dashboard/message-list";
import type { WatchedPage } from "./browser";
import { startRelay } from "../support/relay";
import { useDashboard } from "./harness";

/** Rooms open in the message log view (`#log`): these tests are about the log; fleet.test.ts has the fleet view. */
const dash = useDashboard("#log");
const openRoom = dash.openRoom;

async function post(room: string, body: string | Blob, contentType = "application/json"): Promise<number> {
  const res = await fetch(`${dash.relay.url}/rooms/${room}/messages`, { method: "POST", headers: { "content-type": contentType }, body });
  expect(res.status).toBe(201);
  return ((await res.json()) as { seq: number }).seq;
}

/** Screenshots land in test/.tmp/dashboard (git-ignored), to be looked at. */
const SHOTS = join(process.cwd(), "test", ".tmp", "dashboard");
async function screenshot(w: WatchedPage, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  await w.page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

const text = (w: WatchedPage, selector: string) => w.page.locator(selector).first().textContent({ timeout: 10_000 });

describe("dashboard", () => {
  it("is served at / and asks for a room when none is given", async () => {
    const current = await dash.open(`${dash.relay.url}/`);
    const { page } = current;
    const room = uniqueRoom("picked");
    await page.fill("#room-input", "not a room!");
    await page.press("#room-input", "Enter");
    expect(await text(current, "#room-error")).toContain("not a valid room name");
    await page.fill("#room-input", room);
    await page.press("#room-input", "Enter");
    await page.waitForURL(`**/?room=${room}`);
    await expect.poll(() => page.getAttribute("#state", "data-state")).toBe("open");
    expect(await text(current, "#room")).toBe(room);
  });

  it("opens the room from the URL with recent history, then shows messages published over HTTP, newest first", async () => {
    const room = uniqueRoom("http");
    await post(room, JSON.stringify({ data: "before the page opened" }));
    const w = await openRoom(room);
    expect(await text(w, '#messages li[data-seq="1"] pre')).toBe("before the page opened");

    await post(room, JSON.stringify({ data: { t: 21.5, unit: "C" } }));
    await post(room, new Blob([new Uint8Array([0, 1, 0xab, 0xff])]), "application/octet-stream");
    await w.page.locator('#messages li[data-seq="3"]').waitFor();
    const items = await w.page.locator("#messages li").allTextContents();
    expect(items).toHaveLength(3);
    expect(items[0]).toContain("#3");
    expect(items[0]).toContain("binary · 4 B");
    expect(items[0]).toContain("00 01 ab ff");
    expect(items[1]).toContain("#2");
    // Pretty-printed JSON, one key per line.
    expect(await text(w, '#messages li[data-seq="2"] pre')).toBe('{\n  "t": 21.5,\n  "unit": "C"\n}');
    expect(await text(w, "#seq")).toBe("3");
  });

  it("keeps a bounded list, newest first", async () => {
    const room = uniqueRoom("bounded");
    const w = await openRoom(room);
    // Three publishers, each within the per-connection burst of 100.
    const perSocket = Math.ceil((MAX_SHOWN + 20) / 3);
    const total = perSocket * 3;
    const publishers = await Promise.all([1, 2, 3].map(() => TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}`)));
    for (const p of publishers) for (let n = 0; n < perSocket; n++) p.publish({ n });
    await w.page.locator(`#messages li[data-seq="${total}"]`).waitFor();
    await expect.poll(() => text(w, "#feed-summary")).toBe(`latest ${MAX_SHOWN} of ${total}`);
    expect(await w.page.locator("#messages li").count()).toBe(MAX_SHOWN);
    const seqs = await w.page.locator("#messages li").evaluateAll((lis) => lis.map((li) => Number(li.getAttribute("data-seq"))));
    expect(seqs).toEqual(Array.from({ length: MAX_SHOWN }, (_, i) => total - i));
    for (const p of publishers) p.close();
  });

  it("shows a second client joining and leaving", async () => {
    const room = uniqueRoom("presence");
    const w = await openRoom(room);
    await expect.poll(() => text(w, "#count")).toBe("1");

    const other = await TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}`);
    const { id } = await other.next("welcome");
    await w.page.locator(`#presence-list li[data-id="${id}"]`).waitFor();
    await expect.poll(() => text(w, "#count")).toBe("2");

    other.close();
    await w.page.locator(`#presence-list li[data-id="${id}"]`).waitFor({ state: "detached" });
    await expect.poll(() => text(w, "#count")).toBe("1");
    expect(await w.page.locator("#presence-list li").count()).toBe(1); // the page itself
  });

  it("publishes from its box, with Enter or Send, to another client", async () => {
    const room = uniqueRoom("box");
    const w = await openRoom(room);
    const other = await TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}`);
    await other.next("welcome");

    await w.page.fill("#publish-input", '{"hello": "world"}');
    await w.page.press("#publish-input", "Enter");
    await w.page.fill("#publish-input", "plain text");
    await w.page.click("#publish-send");

    const [first, second] = await other.messagesUntil(2);
    expect(first.data).toEqual({ hello: "world" });
    expect(second.data).toBe("plain text");
    await expect.poll(() => text(w, "#publish-result")).toBe(`Sent as #${second.seq}`);
    // Its own messages show too, marked as its own.
    expect(await text(w, `#messages li[data-seq="${second.seq}"]`)).toContain("you");
    other.close();
  });

  it("renders markup in a message as text", async () => {
    const room = uniqueRoom("xss");
    const w = await openRoom(room);
    const payload = "<img src=x onerror=alert(1)>";
    const seq = await post(room, payload, "text/plain");
    // A second message, so the first had time to run any handler it could have had.
    await post(room, JSON.stringify({ data: { html: payload } }));
    await w.page.locator(`#messages li[data-seq="${seq + 1}"]`).waitFor();

    expect(await text(w, `#messages li[data-seq="${seq}"] pre`)).toBe(payload);
    expect(await w.page.locator("img").count()).toBe(0);
    expect(w.dialogs).toEqual([]);
  });

  it("shows reconnecting while the relay is away and recovers when it is back", async () => {
    const own = await startRelay();
    let watched: Awaited<ReturnType<typeof openRoom>> | undefined;
    try {
      const room = uniqueRoom("outage");
      const w = (watched = await openRoom(room, own.url));
      await own.stop();
      await expect.poll(() => w.page.getAttribute("#state", "data-state")).toBe("reconnecting");
      expect(await text(w, "#state")).toContain("Reconnecting");
      await screenshot(w, "reconnecting");

      await own.restart(); // same port, same storage
      await expect.poll(() => w.page.getAttribute("#state", "data-state"), { timeout: 40_000 }).toBe("open");
      const res = await fetch(`${own.url}/rooms/${room}/messages`, { method: "POST", body: '{"data":"after the outage"}', headers: { "content-type": "application/json" } });
      const { seq } = (await res.json()) as { seq: number };
      expect(await text(w, `#messages li[data-seq="${seq}"] pre`)).toBe("after the outage");
    } finally {
      // The page goes before the relay does: the final stop would cut its sockets again.
      await watched?.page.close();
      await own.stop();
      // Chromium itself logs every network failure the outage caused: each
      // refused WebSocket or fetch attempt while the relay was down, and a
      // request the stop cut short (reset, or a body cut mid-way). Those are
      // the browser's own lines ending in "net::ERR_…", or its "WebSocket
      // connection to '…' failed: …" for an upgrade the stop cut short (the
      // lifecycle card's socket among them), not the page's; anything else
      // still fails.
      const outage = /net::ERR_[A-Z_]+$|^WebSocket connection to '[^']+' failed: /;
      if (watched) watched.errors.splice(0, Infinity, ...watched.errors.filter((e) => !outage.test(e.trim())));
    }
  });

  it("opens a room with ?token=, and without the presence and history scopes asks for neither", async () => {
    const secret = "dashboard-test-secret";
    const own = await startRelay({ vars: { AUTH_SECRET: secret } });
    let page: WatchedPage | undefined;
    try {
      const room = uniqueRoom("auth");
      const claims = { sub: "viewer", rooms: [room], scope: "subscribe publish", exp: Math.floor(Date.now() / 1000) + 600 };
      const token = await signJwt(claims, secret);
      const w = (page = await openRoom(`${room}&token=${token}`, own.url));
      // The token left the address bar (and so the history) at once ...
      expect(new URL(w.page.url()).searchParams.has("token")).toBe(false);
      expect(new URL(w.page.url()).searchParams.get("room")).toBe(room);
      // ... and the tab still has it: a reload reconnects with it.
      await w.page.reload();
      await expect.poll(() => w.page.getAttribute("#state", "data-state")).toBe("open");
      await w.page.fill("#publish-input", '{"via": "token"}');
      await w.page.press("#publish-input", "Enter");
      await expect.poll(() => text(w, "#publish-result")).toBe("Sent as #1");
      expect(await text(w, ".presence p")).toContain("lacks the presence scope");
      // afterEach checks the console: no refused /presence or /messages request.
    } finally {
      // The page goes before the relay does: its reconnecting sockets would log the refusals.
      await page?.page.close();
      await own.stop();
    }
  });

  it("fits a phone and a desktop, dark and light (screenshots in test/.tmp/dashboard)", async () => {
    const room = uniqueRoom("looks");
    const w = await openRoom(room);
    const other = await TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}`);
    await other.next("welcome");
    await post(room, JSON.stringify({ data: { device: "sensor-12", t: 21.5, humidity: 0.41, tags: ["kitchen", "north"] } }));
    await post(room, "door opened", "text/plain");
    await post(room, new Blob([new Uint8Array(Array.from({ length: 48 }, (_, i) => i * 5))]), "application/octet-stream");
    other.publish({ from: "another client", ok: true });
    await w.page.locator('#messages li[data-seq="4"]').waitFor();
    await expect.poll(() => text(w, "#rate")).not.toBe("0"); // the chart has its first bar

    for (const [name, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]] as const) {
      await w.page.setViewportSize(viewport);
      // Nothing sticks out sideways: no horizontal scrolling at any width.
      expect(await w.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      for (const colorScheme of ["light", "dark"] as const) {
        await w.page.emulateMedia({ colorScheme });
        await screenshot(w, `${name}-${colorScheme}`);
      }
    }
    other.close();
  });
});

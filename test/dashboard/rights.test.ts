/**
 * The dashboard and the relay's newer features, in headless Chromium: the
 * room's lifecycle events in the devices column ("Came and went", with the
 * close code of a device that left), and a publish box bounded by the
 * token's `acl.pub`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../client/jwt";
import type { EmbeddedRelay } from "../../tools/local/relay";
import { startRelay } from "../support/relay";
import { TestSocket, uniqueRoom } from "../support/socket";
import type { WatchedPage } from "./browser";
import { useDashboard } from "./harness";

const dash = useDashboard("#log");
const SECRET = "dashboard-rights-test-secret";
/** A relay with every lifecycle event on and tokens required. */
let relay: EmbeddedRelay;
beforeAll(async () => {
  relay = await startRelay({ vars: { AUTH_SECRET: SECRET, EVENTS: "connected,disconnected,occupied,vacated" } });
});
afterAll(async () => {
  await relay?.stop();
});

const text = (w: WatchedPage, selector: string) => w.page.locator(selector).first().textContent({ timeout: 10_000 });

function token(room: string, claims: Record<string, unknown>): Promise<string> {
  return signJwt({ rooms: [room], exp: Math.floor(Date.now() / 1000) + 600, ...claims }, SECRET);
}

describe("lifecycle events", () => {
  it("show a device coming and going, with its close code and reason", async () => {
    const room = uniqueRoom("came");
    const viewer = await token(room, { sub: "viewer", scope: "subscribe publish presence history" });
    const w = await dash.openRoom(`${room}&token=${viewer}`, relay.url);

    const device = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token(room, { sub: "dev-7", scope: "subscribe publish" })}`);
    const { id } = await device.next("welcome");
    const came = w.page.locator(`#lifecycle-list li[data-kind="connected"][data-id="${id}"]`);
    await came.waitFor();
    expect(await came.textContent()).toContain("dev-7");
    expect(await w.page.locator("#lifecycle").isVisible()).toBe(true);

    device.close(4000, "battery low");
    const left = w.page.locator(`#lifecycle-list li[data-kind="disconnected"][data-id="${id}"]`);
    await left.waitFor();
    expect(await left.getAttribute("data-code")).toBe("4000");
    expect(await left.textContent()).toContain("4000 client gave up on the link: battery low");
    // Newest first: the departure is above the arrival.
    const kinds = await w.page.locator(`#lifecycle-list li[data-id="${id}"]`).evaluateAll((lis) => lis.map((li) => li.getAttribute("data-kind")));
    expect(kinds).toEqual(["disconnected", "connected"]);
    // The page's helper connection (it reads the events) is neither listed nor counted: the page alone is.
    await expect.poll(() => text(w, "#count")).toBe("1");
    expect(await w.page.locator("#presence-list li").count()).toBe(1);
  });

  it("stay hidden when the room has none (no EVENTS)", async () => {
    const room = uniqueRoom("noevents");
    const w = await dash.openRoom(room);
    const device = await TestSocket.open(`${dash.relay.wsUrl}/rooms/${room}`);
    const { id } = await device.next("welcome");
    await w.page.locator(`#presence-list li[data-id="${id}"]`).waitFor();
    device.close();
    await w.page.locator(`#presence-list li[data-id="${id}"]`).waitFor({ state: "detached" });
    expect(await w.page.locator("#lifecycle").isHidden()).toBe(true);
    expect(await w.page.locator("#lifecycle-list li").count()).toBe(0);
  });

  it("are not asked for when the token's acl.sub does not cover $events/#", async () => {
    const room = uniqueRoom("subacl");
    const viewer = await token(room, { sub: "viewer", scope: "subscribe presence", acl: { sub: ["sensors/#"] } });
    const w = await dash.openRoom(`${room}&token=${viewer}`, relay.url);
    const device = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?token=${await token(room, { sub: "dev-8", scope: "subscribe" })}`);
    const { id } = await device.next("welcome");
    await w.page.locator(`#presence-list li[data-id="${id}"]`).waitFor();
    // No helper connection: the relay would refuse its filter (403, a console error afterEach catches), and the count is the page and the device.
    await expect.poll(() => text(w, "#count")).toBe("2");
    device.close();
    await w.page.locator(`#presence-list li[data-id="${id}"]`).waitFor({ state: "detached" });
    expect(await w.page.locator("#lifecycle").isHidden()).toBe(true);
  });
});

describe("the publish box and the token", () => {
  it("offers only the topics acl.pub allows and refuses the others on the page", async () => {
    const room = uniqueRoom("aclpub");
    const viewer = await token(room, { sub: "operator", scope: "subscribe publish", acl: { pub: ["cmd/dev-1", "cfg/#", "sensors/+/cmd"] } });
    const w = await dash.openRoom(`${room}&token=${viewer}`, relay.url);
    const reader = await TestSocket.open(`${relay.wsUrl}/rooms/${room}?topics=%23&token=${await token(room, { sub: "reader", scope: "subscribe" })}`);
    await reader.next("welcome");

    expect(await text(w, "#publish-allowed")).toBe("This token may publish only on: cmd/dev-1, cfg/#, sensors/+/cmd");
    const offered = await w.page.locator("#publish-topics option").evaluateAll((os) => os.map((o) => o.getAttribute("value")));
    expect(offered).toEqual(["cmd/dev-1", "cfg"]);
    expect(await w.page.inputValue("#publish-topic")).toBe("cmd/dev-1"); // ready on an allowed topic

    // A topic outside the ACL is flagged while typed, and not sent.
    await w.page.fill("#publish-topic", "cmd/dev-2");
    expect(await w.page.getAttribute("#publish-topic", "aria-invalid")).toBe("true");
    expect(await text(w, "#publish-result")).toContain("may not publish on “cmd/dev-2”");
    await w.page.fill("#publish-input", '{"go": 2}');
    await w.page.press("#publish-input", "Enter");
    expect(await text(w, "#publish-result")).toContain("Not sent: this token may not publish on “cmd/dev-2”");
    expect(await w.page.inputValue("#publish-input")).toBe('{"go": 2}'); // kept, to send elsewhere

    // No topic is refused too: a topic-less message matches no acl.pub filter.
    await w.page.fill("#publish-topic", "");
    await w.page.press("#publish-input", "Enter");
    expect(await text(w, "#publish-result")).toContain("only with a topic");

    // An allowed topic (through a wildcard filter) goes out.
    await w.page.fill("#publish-topic", "sensors/dev-9/cmd");
    expect(await w.page.getAttribute("#publish-topic", "aria-invalid")).toBe("false");
    await w.page.press("#publish-input", "Enter");
    const [got] = await reader.messagesUntil(1);
    expect(got.topic).toBe("sensors/dev-9/cmd");
    expect(got.data).toEqual({ go: 2 });
    await expect.poll(() => text(w, "#publish-result")).toBe(`Sent as #${got.seq}`);
    reader.close();
  });

  it("says so, and sends nothing, without the publish scope", async () => {
    const room = uniqueRoom("readonly");
    const viewer = await token(room, { sub: "watcher", scope: "subscribe" });
    const w = await dash.openRoom(`${room}&token=${viewer}`, relay.url);
    expect(await text(w, "#publish-result")).toBe("This token may not publish (it lacks the publish scope).");
    expect(await w.page.isDisabled("#publish-input")).toBe(true);
    expect(await w.page.isDisabled("#publish-send")).toBe(true);
  });
});

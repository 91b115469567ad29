/**
 * The live view of one room: wires a RoomcastClient (the project's own
 * library, so the page reconnects and resumes exactly like any other client)
 * to the widgets. Each widget owns its DOM; this module owns only the layout
 * and the event plumbing. Two views share the publish box, the stats and the
 * device list: the fleet (tiles and a chart per topic, the default) and the
 * message log (`#log`), for debugging.
 */
import { RoomcastClient } from "../client/index.js";
import { RoomApi } from "./api.js";
import { mayRead, publishFilters, tokenAllows } from "./claims.js";
import { h, setText } from "./dom.js";
import { followLifecycle } from "./lifecycle-feed.js";
import { LifecycleList } from "./lifecycle-list.js";
import { MessageList } from "./message-list.js";
import { PresenceView } from "./presence-list.js";
import { PublishBox } from "./publish-box.js";
import { RateChart } from "./rate-chart.js";
import { RateMeter } from "./rate.js";
import { ConnectionStatus } from "./status.js";
import { NO_TOPIC, TileGrid } from "./tile-grid.js";
import { TopicChart } from "./topic-chart.js";
import { showView, viewTabs } from "./views.js";

/** Messages loaded from history when the page opens. */
const HISTORY_ON_OPEN = 50;
/** The msgs/s figure is averaged over this many seconds, so a slow room does not flicker between 0 and 1. */
const RATE_AVERAGE_SECONDS = 10;

export function renderRoom(root: HTMLElement, room: string, token: string | undefined): RoomcastClient {
  const origin = location.origin;
  // retained: every topic's last value arrives right after the welcome, so tiles fill at once.
  const client = new RoomcastClient({ url: origin, room, token, echo: true, retained: true });
  const api = new RoomApi(origin, room, token);
  const ownId = () => client.id;

  const status = new ConnectionStatus();
  const messages = new MessageList(ownId, emptyHint(origin, room, token));
  const presence = new PresenceView(ownId);
  const lifecycle = new LifecycleList((id) => id === client.id || id === helper?.id());
  const publish = new PublishBox((data, options) => client.publish(data, options), () => client.state === "open", {
    publish: tokenAllows(token, "publish"),
    pub: publishFilters(token),
  });
  const chart = new TopicChart(async (topic) => {
    if (!tokenAllows(token, "history")) throw new Error("the token lacks the history scope");
    const upTo = client.seq ?? 0;
    if (upTo === 0) return [];
    const page = topic === NO_TOPIC ? await api.history(Math.max(0, upTo - 1000), 1000) : await api.topicHistory(topic, upTo);
    return page.messages.filter((m) => (m.topic ?? NO_TOPIC) === topic);
  });
  const tiles = new TileGrid((topic) => {
    chart.open(topic, tiles.seriesOf(topic));
    // A device's readings on sensors/<device>/…: offer its command topic.
    const device = /^sensors\/([^/]+)/.exec(topic)?.[1];
    if (device) publish.setTopic(`cmd/${device}`);
  });
  const meter = new RateMeter();
  const rateChart = new RateChart("Messages per second, last minute");
  const seqEl = h("strong", { class: "stat-value", attrs: { id: "seq" } }, "–");
  const countEl = h("strong", { class: "stat-value", attrs: { id: "count" } }, "–");
  const rateEl = h("strong", { class: "stat-value", attrs: { id: "rate" } }, "0");

  const stats = h(
    "section",
    { class: "card stats", attrs: { "aria-label": "Room statistics" } },
    h("div", { class: "stat" }, h("span", { class: "stat-label" }, "seq"), seqEl),
    h("div", { class: "stat" }, h("span", { class: "stat-label" }, "connected"), countEl),
    h("div", { class: "stat", attrs: { title: `Average over the last ${RATE_AVERAGE_SECONDS} s` } }, h("span", { class: "stat-label" }, "msgs/s"), rateEl),
    h("div", { class: "stat-chart" }, rateChart.element, h("span", { class: "muted small" }, "last 60 s")),
  );

  root.replaceChildren(
    h(
      "header",
      { class: "top" },
      h("a", { class: "brand", attrs: { href: "/", title: "Open another room" } }, "roomcast"),
      h("div", { class: "room-name" }, h("span", { class: "muted" }, "room"), h("strong", { attrs: { id: "room" } }, room)),
      status.element,
    ),
    h(
      "main",
      { class: "layout" },
      viewTabs(),
      publish.element,
      h("div", { class: "view", attrs: { id: "fleet-view" } }, chart.element, tiles.element),
      h("div", { class: "view", attrs: { id: "log-view" } }, messages.element),
      h("div", { class: "side" }, stats, presence.element, lifecycle.element),
    ),
  );
  const followHash = () => messages.setActive(showView(location.hash) === "log");
  followHash();
  addEventListener("hashchange", followHash);
  document.title = `${room} · roomcast`;

  const showSeq = () => setText(seqEl, client.seq === undefined ? "–" : String(client.seq));
  const showCount = () => setText(countEl, String(presence.connections));
  let welcomed = false;
  /** The second connection that reads the room's lifecycle events, once the page is welcomed. */
  let helper: ReturnType<typeof followLifecycle> | undefined;
  /** The room's seq at the last welcome: a retained value at or below it is a snapshot, not a new message. */
  let welcomeSeq = 0;

  client.on("state", (state) => {
    status.setState(state);
    document.body.dataset.link = state; // lets the stylesheet grey out what may be stale
  });
  client.on("disconnect", (info) => status.disconnected(info));
  client.on("welcome", (welcome) => {
    if (welcomed && !welcome.recovered) messages.notice("Reconnected, but the relay no longer had every message missed meanwhile.");
    else if (!welcomed && welcome.seq > 0 && tokenAllows(token, "history")) {
      const upTo = welcome.seq;
      api.history(Math.max(0, upTo - HISTORY_ON_OPEN), HISTORY_ON_OPEN).then(
        (page) => messages.addHistory(page.messages.filter((m) => m.seq <= upTo)),
        (error: unknown) => messages.notice(`Could not load recent history: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    // Lifecycle events only reach a reader that asks for `$events/#`, which the token must allow (the relay refuses a filter its acl.sub does not cover).
    if (!welcomed && mayRead(token, "$events/#")) {
      helper = followLifecycle(origin, room, token, (event) => lifecycle.add(event), { since: welcome.seq, epoch: welcome.epoch });
      presence.hide(helper.id);
    }
    welcomed = true;
    welcomeSeq = welcome.seq;
    presence.setCount(welcome.count);
    if (tokenAllows(token, "presence")) void presence.refresh(() => api.presence());
    else presence.unavailable("the token lacks the presence scope");
    showSeq();
    showCount();
  });
  client.on("message", (envelope) => {
    const snapshot = envelope.retain === true && envelope.seq <= welcomeSeq;
    presence.heard(envelope.from, envelope.ts);
    tiles.add(envelope, snapshot);
    // Retained values replayed on (re)connect fill the tiles; they are not new traffic.
    if (snapshot) return;
    meter.record();
    messages.add(envelope);
    chart.add(envelope);
    showSeq();
  });
  client.on("presence", (frame) => {
    presence.apply(frame);
    showCount();
  });
  client.on("error", (error) => messages.notice(error.message));

  const tick = () => {
    const rate = meter.average(RATE_AVERAGE_SECONDS);
    setText(rateEl, rate >= 10 || rate === 0 ? String(Math.round(rate)) : rate.toFixed(1));
    rateChart.draw(meter.series().slice(0, -1)); // the running second is not complete yet
    showCount(); // the helper's id may have become known since the last presence frame
  };
  tick();
  setInterval(tick, 1000);
  new ResizeObserver(tick).observe(rateChart.element);
  addEventListener("pagehide", () => {
    client.close(); // others see us leave at once
    helper?.close();
  });
  return client;
}

/** What to do when the room is empty: a command that publishes to it. */
function emptyHint(origin: string, room: string, token: string | undefined): Node {
  const auth = token ? ` -H "authorization: Bearer $TOKEN"` : "";
  const command = `curl -X POST -H 'content-type: application/json'${auth} -d '{"data":{"t":21.5}}' ${origin}/rooms/${room}/messages`;
  return h("div", null, h("p", null, "No messages yet. Publish one above, or from a shell:"), h("code", { class: "command" }, command));
}

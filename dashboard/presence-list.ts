/**
 * Devices: who is in the room, when each last published, and which went
 * quiet (published before, but nothing for longer than a threshold the user
 * sets). The list starts from a snapshot (GET /presence, paged with its
 * cursor) and follows join/leave frames. Frames that arrive while a snapshot
 * request is in flight are replayed on top of it, so a join or leave that
 * races the request is never lost. The count always comes from the relay
 * (welcome and presence frames), so it stays right even when the token lacks
 * the `presence` scope. Past PRESENCE_EVENTS_MAX members the relay sends only
 * counts, so the list is reloaded (paged) every LARGE_ROOM_RELOAD_MS instead.
 */
import type { PresenceClient, PresenceEvent, PresenceFrame, PresenceList } from "../protocol/index.js";
import { h, setText } from "./dom.js";
import { clockTime } from "./format.js";
import { FrameLoop } from "./frame-loop.js";
import { ago } from "./readings.js";

/** Longest list drawn (quiet devices first); a room may hold thousands of devices. */
const MAX_LISTED = 100;
/** Senders whose last message time is remembered (the least recently heard are forgotten first). */
export const MAX_SENDERS = 5000;
export const DEFAULT_QUIET_SECONDS = 30;
const LARGE_ROOM_RELOAD_MS = 15_000;

export class PresenceView {
  readonly element: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly note: HTMLElement;
  private readonly countEl: HTMLElement;
  private readonly quietEl: HTMLElement;
  private readonly quietInput: HTMLInputElement;
  private clients = new Map<string, Omit<PresenceClient, "id">>();
  /** Last message time per sender id, oldest heard first (Map order). */
  private readonly lastHeard = new Map<string, number>();
  private count = 0;
  private quietMs = DEFAULT_QUIET_SECONDS * 1000;
  private large = false;
  private lastReload = 0;
  private loader: (() => Promise<PresenceList>) | null = null;
  /** Frames seen since the snapshot request went out; null when none is in flight. */
  private sinceSnapshot: PresenceFrame[] | null = null;
  private readonly loop = new FrameLoop(() => this.render(), 100);
  /** The page's own helper connection (lifecycle-feed.ts): not a device, so neither listed nor counted. */
  private helperId: () => string | undefined = () => undefined;

  constructor(private readonly ownId: () => string | undefined) {
    this.countEl = h("span", { class: "muted", attrs: { id: "presence-count" } }, "0");
    this.quietEl = h("span", { class: "quiet-count", attrs: { id: "quiet-count" } });
    this.list = h("ul", { class: "presence-list", attrs: { id: "presence-list" } });
    this.note = h("p", { class: "muted small" });
    this.note.hidden = true;
    this.quietInput = h("input", {
      class: "input input-number",
      attrs: { id: "quiet-after", type: "number", min: "1", max: "86400", step: "1", inputmode: "numeric" },
    });
    this.quietInput.value = String(DEFAULT_QUIET_SECONDS);
    this.quietInput.addEventListener("input", () => {
      const seconds = Number(this.quietInput.value);
      if (Number.isFinite(seconds) && seconds >= 1) {
        this.quietMs = seconds * 1000;
        this.loop.request();
      }
    });
    this.element = h(
      "section",
      { class: "card presence", attrs: { "aria-labelledby": "presence-title" } },
      h("div", { class: "card-head" }, h("h2", { attrs: { id: "presence-title" } }, "Devices"), this.countEl),
      this.note,
      h("label", { class: "quiet-row small muted", attrs: { for: "quiet-after" } }, "Quiet after", this.quietInput, "s without a message", this.quietEl),
      this.list,
    );
    // "quiet" is about time passing, so look again every second.
    setInterval(() => {
      this.loop.request();
      if (this.large && this.loader && Date.now() - this.lastReload > LARGE_ROOM_RELOAD_MS) void this.refresh(this.loader);
    }, 1000);
  }

  /** The relay's count of connections (the welcome's or a presence frame's). */
  get connections(): number {
    return this.count - Number(this.countsHelper());
  }

  /** Leaves the page's helper connection (its id while connected) out of the list and the count. */
  hide(helperId: () => string | undefined): void {
    this.helperId = helperId;
    this.loop.request();
  }

  /**
   * Whether the relay's count includes the helper: when it is listed (a join
   * frame came for it), or in a large room (counts only, sent after it joined).
   * The helper opens after the page's first welcome, so that count never does.
   */
  private countsHelper(): boolean {
    const id = this.helperId();
    return id !== undefined && (this.clients.has(id) || this.large);
  }

  setCount(count: number): void {
    this.count = count;
    this.loop.request();
  }

  /** A message from `from` arrived at `ts`. O(1): called for every message. */
  heard(from: string, ts: number): void {
    this.lastHeard.delete(from);
    this.lastHeard.set(from, ts);
    if (this.lastHeard.size > MAX_SENDERS) this.lastHeard.delete(this.lastHeard.keys().next().value!);
  }

  /** Loads a snapshot; join/leave frames arriving meanwhile are applied after it. */
  async refresh(load: () => Promise<PresenceList>): Promise<void> {
    this.loader = load;
    this.lastReload = Date.now();
    this.sinceSnapshot = [];
    try {
      const snapshot = await load();
      const missed = this.sinceSnapshot;
      this.clients = new Map(snapshot.clients.map(({ id, ...rest }) => [id, rest]));
      this.sinceSnapshot = null;
      for (const frame of missed ?? []) this.applyToList(frame);
      if (snapshot.cursor !== null) this.showNote(`${snapshot.count} connected; the first ${snapshot.clients.length} are listed.`);
      else if (!this.large) this.note.hidden = true;
    } catch (error) {
      this.sinceSnapshot = null;
      this.unavailable(error instanceof Error ? error.message : String(error));
    }
    this.loop.request();
  }

  /** Says why the list shows only the joins seen since the page opened. */
  unavailable(why: string): void {
    this.loader = null;
    this.showNote(`Only clients that joined since the page opened are listed (${why}).`);
  }

  apply(frame: PresenceEvent): void {
    if (frame.event === "count") {
      // A large room sends counts, not members: the list is reloaded now and then instead.
      if (!this.large && this.loader) this.showNote(`A large room: the relay sends the count, not each member; the list is reloaded every ${LARGE_ROOM_RELOAD_MS / 1000} s.`);
      this.large = true;
      this.setCount(frame.count);
      return;
    }
    this.large = false;
    this.sinceSnapshot?.push(frame);
    this.applyToList(frame);
    this.count = frame.count;
    this.loop.request();
  }

  private showNote(text: string): void {
    this.note.hidden = false;
    setText(this.note, text);
  }

  private applyToList(frame: PresenceFrame): void {
    if (frame.event === "join") {
      // A join frame carries no time; the moment it arrived is close enough.
      if (!this.clients.has(frame.id)) this.clients.set(frame.id, { meta: frame.meta, connectedAt: Date.now() });
    } else {
      this.clients.delete(frame.id);
    }
  }

  private isQuiet(id: string, now: number): boolean {
    const last = this.lastHeard.get(id);
    return last !== undefined && now - last > this.quietMs;
  }

  private render(): void {
    setText(this.countEl, `${this.connections} connected`);
    const own = this.ownId();
    const helper = this.helperId();
    const now = Date.now();
    const quiet = new Set([...this.clients.keys()].filter((id) => this.isQuiet(id, now)));
    setText(this.quietEl, quiet.size > 0 ? `${quiet.size} quiet` : "");
    // Our own connection first, then the quiet ones (what needs a look), then the longest-connected.
    const entries = [...this.clients].filter(([id]) => id !== helper).sort(
      ([a, x], [b, y]) => Number(b === own) - Number(a === own) || Number(quiet.has(b)) - Number(quiet.has(a)) || x.connectedAt - y.connectedAt,
    );
    const items = entries.slice(0, MAX_LISTED).map(([id, client]) => {
      const meta = client.meta && Object.keys(client.meta).length > 0 ? JSON.stringify(client.meta) : null;
      const last = this.lastHeard.get(id);
      const isQuiet = quiet.has(id);
      return h(
        "li",
        { class: isQuiet ? "quiet" : "", attrs: { "data-id": id, "data-quiet": String(isQuiet) } },
        h("span", { class: "dot", attrs: { "aria-hidden": "true" } }),
        h(
          "div",
          { class: "presence-who" },
          h("span", { class: "presence-id" }, id, id === own && h("span", { class: "you" }, "you")),
          h(
            "span",
            { class: "muted small presence-last" },
            last === undefined ? `since ${clockTime(client.connectedAt)} · no messages` : `last message ${ago(last, now)}`,
            isQuiet && h("span", { class: "quiet-tag" }, "quiet"),
          ),
          meta && h("code", { class: "presence-meta" }, meta),
        ),
      );
    });
    if (entries.length > MAX_LISTED) items.push(h("li", { class: "muted small" }, `and ${entries.length - MAX_LISTED} more`));
    this.list.replaceChildren(...items);
  }
}

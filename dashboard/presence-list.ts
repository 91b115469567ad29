/**
 * Who is in the room. The list starts from a snapshot (GET /presence) and
 * follows join/leave frames. Frames that arrive while a snapshot request is in
 * flight are replayed on top of it, so a join or leave that races the request
 * is never lost. The count always comes from the relay (welcome and presence
 * frames), so it stays right even when the token lacks the `presence` scope
 * and the list cannot be loaded.
 */
import type { PresenceClient, PresenceEvent, PresenceFrame, PresenceList } from "../protocol/index.js";
import { h, setText } from "./dom.js";
import { clockTime } from "./format.js";

/** Longest list drawn; a room may hold thousands of devices. */
const MAX_LISTED = 100;

export class PresenceView {
  readonly element: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly note: HTMLElement;
  private readonly countEl: HTMLElement;
  private clients = new Map<string, Omit<PresenceClient, "id">>();
  private count = 0;
  /** Frames seen since the snapshot request went out; null when none is in flight. */
  private sinceSnapshot: PresenceFrame[] | null = null;

  constructor(private readonly ownId: () => string | undefined) {
    this.countEl = h("span", { class: "muted", attrs: { id: "presence-count" } }, "0");
    this.list = h("ul", { class: "presence-list", attrs: { id: "presence-list" } });
    this.note = h("p", { class: "muted small" });
    this.note.hidden = true;
    this.element = h(
      "section",
      { class: "card presence", attrs: { "aria-labelledby": "presence-title" } },
      h("div", { class: "card-head" }, h("h2", { attrs: { id: "presence-title" } }, "Presence"), this.countEl),
      this.list,
      this.note,
    );
  }

  /** The relay's count of connections (the welcome's or a presence frame's). */
  get connections(): number {
    return this.count;
  }

  setCount(count: number): void {
    this.count = count;
    this.render();
  }

  /** Loads a snapshot; join/leave frames arriving meanwhile are applied after it. */
  async refresh(load: () => Promise<PresenceList>): Promise<void> {
    this.sinceSnapshot = [];
    try {
      const snapshot = await load();
      const missed = this.sinceSnapshot;
      this.clients = new Map(snapshot.clients.map(({ id, ...rest }) => [id, rest]));
      this.sinceSnapshot = null;
      for (const frame of missed ?? []) this.applyToList(frame);
      this.note.hidden = true;
    } catch (error) {
      this.sinceSnapshot = null;
      this.unavailable(error instanceof Error ? error.message : String(error));
    }
    this.render();
  }

  /** Says why the list shows only the joins seen since the page opened. */
  unavailable(why: string): void {
    this.note.hidden = false;
    setText(this.note, `Only clients that joined since the page opened are listed (${why}).`);
  }

  apply(frame: PresenceEvent): void {
    if (frame.event === "count") {
      // A large room sends counts, not members: the list is no longer kept up.
      this.note.hidden = false;
      setText(this.note, `A large room: ${frame.count} connected; the relay sends the count, not each member.`);
      this.setCount(frame.count);
      return;
    }
    this.sinceSnapshot?.push(frame);
    this.applyToList(frame);
    this.count = frame.count;
    this.render();
  }

  private applyToList(frame: PresenceFrame): void {
    if (frame.event === "join") {
      // A join frame carries no time; the moment it arrived is close enough.
      if (!this.clients.has(frame.id)) this.clients.set(frame.id, { meta: frame.meta, connectedAt: Date.now() });
    } else {
      this.clients.delete(frame.id);
    }
  }

  private render(): void {
    setText(this.countEl, `${this.count} connected`);
    const own = this.ownId();
    // Our own connection first, then the longest-connected.
    const entries = [...this.clients].sort(([a, x], [b, y]) => Number(b === own) - Number(a === own) || x.connectedAt - y.connectedAt);
    const items = entries.slice(0, MAX_LISTED).map(([id, client]) => {
      const meta = client.meta && Object.keys(client.meta).length > 0 ? JSON.stringify(client.meta) : null;
      return h(
        "li",
        { attrs: { "data-id": id } },
        h("span", { class: "dot", attrs: { "aria-hidden": "true" } }),
        h(
          "div",
          { class: "presence-who" },
          h("span", { class: "presence-id" }, id, id === own && h("span", { class: "you" }, "you")),
          h("span", { class: "muted small" }, `since ${clockTime(client.connectedAt)}`),
          meta && h("code", { class: "presence-meta" }, meta),
        ),
      );
    });
    if (entries.length > MAX_LISTED) items.push(h("li", { class: "muted small" }, `and ${entries.length - MAX_LISTED} more`));
    this.list.replaceChildren(...items);
  }
}

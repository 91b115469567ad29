/**
 * The message feed: newest first, at most MAX_SHOWN items in the DOM, and
 * rendered once per animation frame so that a burst of thousands of messages
 * costs one layout, not thousands. Messages that arrive faster than frames are
 * drawn are kept in `pending`, which is bounded too: a hidden tab (no frames)
 * never piles up more than one screen of work. Items are built only when they
 * are drawn, and not at all while the log view is hidden: the newest
 * MAX_SHOWN wait, the rest are only counted.
 */
import type { MessageEnvelope } from "../protocol/index.js";
import { h, setText } from "./dom.js";
import { clockTime, showPayload } from "./format.js";

export const MAX_SHOWN = 200;

export class MessageList {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly summary: HTMLElement;
  private readonly empty: HTMLElement;
  private pending: Array<MessageEnvelope | string> = [];
  private frameRequested = false;
  private active = true;
  private received = 0;

  /** `ownId` tells which messages this page published (shown as "you"). */
  constructor(
    private readonly ownId: () => string | undefined,
    emptyHint: Node,
  ) {
    this.list = h("ol", { class: "feed-list", attrs: { id: "messages", "aria-live": "polite" } });
    this.summary = h("span", { class: "muted", attrs: { id: "feed-summary" } }, "none yet");
    this.empty = h("div", { class: "feed-empty" }, emptyHint);
    this.element = h(
      "section",
      { class: "card feed", attrs: { "aria-labelledby": "feed-title" } },
      h("div", { class: "card-head" }, h("h2", { attrs: { id: "feed-title" } }, "Messages"), this.summary),
      this.empty,
      this.list,
    );
  }

  /** A live message: goes on top. */
  add(envelope: MessageEnvelope): void {
    this.received++;
    this.enqueue(envelope);
  }

  /** Messages from before the page opened (oldest first), shown below the live ones. */
  addHistory(envelopes: MessageEnvelope[]): void {
    const room = MAX_SHOWN - this.list.childElementCount - this.pending.length;
    if (room <= 0 || envelopes.length === 0) return;
    const shown = envelopes.slice(-room).reverse(); // newest first
    this.received += shown.length;
    this.list.append(...shown.map((e) => this.item(e)));
    this.refreshSummary();
  }

  /** A line in the feed that is not a message (e.g. a gap after a reconnect). */
  notice(text: string): void {
    this.enqueue(text);
  }

  /** Whether the list is on screen; while it is not, nothing is drawn. */
  setActive(active: boolean): void {
    this.active = active;
    if (active && this.pending.length > 0) this.requestFrame();
  }

  private enqueue(item: MessageEnvelope | string): void {
    this.pending.push(item);
    // Twice the bound before trimming, so trimming is amortised O(1) per message.
    if (this.pending.length > 2 * MAX_SHOWN) this.pending.splice(0, this.pending.length - MAX_SHOWN);
    if (this.active) this.requestFrame();
  }

  private requestFrame(): void {
    if (!this.frameRequested) {
      this.frameRequested = true;
      requestAnimationFrame(() => this.flush());
    }
  }

  private flush(): void {
    this.frameRequested = false;
    if (!this.active) return;
    const batch = this.pending.slice(-MAX_SHOWN).reverse().map((item) => (typeof item === "string" ? h("li", { class: "feed-notice" }, item) : this.item(item))); // newest first
    this.pending = [];
    this.list.prepend(...batch);
    while (this.list.childElementCount > MAX_SHOWN) this.list.lastElementChild!.remove();
    this.refreshSummary();
  }

  private refreshSummary(): void {
    const shown = this.list.childElementCount;
    this.empty.hidden = shown > 0;
    setText(this.summary, shown === 0 ? "none yet" : this.received > shown ? `latest ${shown} of ${this.received}` : `${shown}`);
  }

  private item(envelope: MessageEnvelope): HTMLLIElement {
    const payload = showPayload(envelope);
    const mine = envelope.from === this.ownId();
    return h(
      "li",
      { class: `msg msg-${payload.kind}`, attrs: { "data-seq": String(envelope.seq) } },
      h(
        "div",
        { class: "msg-head" },
        h("span", { class: "msg-seq" }, `#${envelope.seq}`),
        h("span", { class: "tag" }, payload.label),
        h("span", { class: "msg-from", attrs: { title: envelope.from } }, envelope.from, mine && h("span", { class: "you" }, "you")),
        h("time", { class: "msg-time", attrs: { datetime: new Date(envelope.ts).toISOString() } }, clockTime(envelope.ts)),
      ),
      h("pre", { class: "msg-body" }, payload.body),
    );
  }
}

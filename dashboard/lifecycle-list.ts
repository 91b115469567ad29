/**
 * "Came and went": the room's lifecycle events, newest first, each with its
 * time and, for a departure, the close code and reason (why it left). Hidden
 * until the first event arrives, so a room without EVENTS looks as before.
 * Bounded: the last MAX_EVENTS only; a reconnect wave of thousands renders
 * at most every 250 ms.
 */
import { h, setText } from "./dom.js";
import { clockTime } from "./format.js";
import { FrameLoop } from "./frame-loop.js";
import type { LifecycleEvent } from "./lifecycle-feed.js";

export const MAX_EVENTS = 50;

/** What a close code says to a person (RFC 6455 and the relay's own, protocol.md). */
const CLOSE_CODES: Record<number, string> = {
  1000: "normal",
  1001: "going away",
  1005: "no status",
  1006: "dropped, no close frame",
  1008: "policy",
  1009: "too big",
  1011: "server error",
  4000: "client gave up on the link",
  4008: "too slow",
  4401: "token expired",
  4403: "forbidden or kicked",
};

export class LifecycleList {
  readonly element: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly countEl: HTMLElement;
  private readonly events: LifecycleEvent[] = [];
  private total = 0;
  private readonly loop = new FrameLoop(() => this.render(), 250);

  /** `isOwn`: the page's own connections (its WebSocket and the helper that reads these events), marked "you". */
  constructor(private readonly isOwn: (id: string) => boolean) {
    this.list = h("ul", { class: "lifecycle-list", attrs: { id: "lifecycle-list" } });
    this.countEl = h("span", { class: "muted small" });
    this.element = h(
      "section",
      { class: "card lifecycle", attrs: { id: "lifecycle", "aria-labelledby": "lifecycle-title" } },
      h("div", { class: "card-head" }, h("h2", { attrs: { id: "lifecycle-title" } }, "Came and went"), this.countEl),
      this.list,
    );
    this.element.hidden = true;
  }

  add(event: LifecycleEvent): void {
    this.total++;
    this.events.unshift(event);
    if (this.events.length > MAX_EVENTS) this.events.pop();
    this.loop.request();
  }

  private render(): void {
    this.element.hidden = this.events.length === 0;
    setText(this.countEl, this.total > MAX_EVENTS ? `latest ${MAX_EVENTS} of ${this.total}` : "");
    this.list.replaceChildren(...this.events.map((e) => this.item(e, this.isOwn(e.id))));
  }

  private item(e: LifecycleEvent, own: boolean): HTMLLIElement {
    const attrs: Record<string, string> = { "data-kind": e.kind, "data-id": e.id, "data-seq": String(e.seq) };
    if (e.code !== null) attrs["data-code"] = String(e.code);
    const who = h("span", { class: "presence-id" }, e.id, own && h("span", { class: "you" }, "you"));
    const via = `${e.wire}${e.sub === null ? "" : ` · ${e.sub}`}`;
    let what: string;
    if (e.kind === "connected") what = `connected · ${via}`;
    else if (e.kind === "disconnected") what = `left · ${closeText(e.code, e.reason)} · ${via}`;
    else what = e.kind === "occupied" ? "room occupied (first connection)" : "room vacated (last connection left)";
    return h(
      "li",
      { class: `lifecycle-${e.kind}`, attrs },
      h("span", { class: "dot", attrs: { "aria-hidden": "true" } }),
      h("div", { class: "presence-who" }, who, h("span", { class: "muted small lifecycle-what" }, what), h("time", { class: "muted small", attrs: { datetime: new Date(e.at).toISOString() } }, clockTime(e.at))),
    );
  }
}

/** "1001 going away: reason", or "no close code" (SSE, a close without a status). */
export function closeText(code: number | null, reason: string | null): string {
  if (code === null) return reason ?? "no close code";
  const named = CLOSE_CODES[code];
  return `${code}${named ? ` ${named}` : ""}${reason ? `: ${reason}` : ""}`;
}

/**
 * The connection state pill. "Reconnecting" must be impossible to miss: it
 * has its own colour and says when the next attempt is due.
 */
import type { ClientState, DisconnectInfo } from "../client/index.js";
import { h, setText } from "./dom.js";

const LABELS: Record<ClientState, string> = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

export class ConnectionStatus {
  readonly element: HTMLElement;
  private readonly label: HTMLElement;
  private readonly detail: HTMLElement;

  constructor() {
    this.label = h("span", { class: "pill-label" }, LABELS.connecting);
    this.detail = h("span", { class: "pill-detail" });
    this.element = h(
      "div",
      { class: "pill", attrs: { id: "state", "data-state": "connecting", role: "status" } },
      h("span", { class: "dot", attrs: { "aria-hidden": "true" } }),
      this.label,
      this.detail,
    );
  }

  setState(state: ClientState): void {
    this.element.dataset.state = state;
    setText(this.label, LABELS[state]);
    if (state === "open" || state === "connecting") setText(this.detail, "");
  }

  /** Why the link went away and, when it will retry, how soon. */
  disconnected(info: DisconnectInfo): void {
    const retry = info.reconnect && info.delay !== undefined ? `retry in ${Math.max(1, Math.round(info.delay / 1000))} s` : "";
    const why = info.reconnect ? retry : info.reason || `close ${info.code}`;
    setText(this.detail, why ? ` · ${why}` : "");
  }
}

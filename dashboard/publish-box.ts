/**
 * The publish box: JSON when the text parses as JSON, the text itself
 * otherwise (like `roomcast publish`). Enter sends, Shift+Enter starts a new
 * line. While the link is down the client queues the publish and sends it
 * once it is back; the box says so instead of pretending it was delivered.
 */
import type { Published } from "../client/index.js";
import { h, setText } from "./dom.js";
import { parseInput } from "./format.js";

export class PublishBox {
  readonly element: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly result: HTMLElement;

  constructor(
    private readonly publish: (data: unknown) => Promise<Published>,
    private readonly linkUp: () => boolean,
  ) {
    this.input = h("textarea", {
      class: "publish-input",
      attrs: { id: "publish-input", rows: "2", spellcheck: "false", placeholder: '{"t": 21.5} or any text', "aria-label": "Message to publish" },
    });
    this.result = h("span", { class: "publish-result muted small", attrs: { id: "publish-result", "aria-live": "polite" } }, "Enter to send · Shift+Enter for a new line");
    this.element = h(
      "form",
      { class: "card publish", attrs: { id: "publish", "aria-label": "Publish a message" } },
      h("div", { class: "publish-row" }, this.input, h("button", { class: "button", attrs: { id: "publish-send", type: "submit" } }, "Send")),
      this.result,
    );
    this.element.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
  }

  private send(): void {
    const text = this.input.value.trim();
    if (text === "") return;
    this.input.value = "";
    this.input.focus();
    this.show(this.linkUp() ? "Sending…" : "Queued: it will be sent when the link is back", "");
    this.publish(parseInput(text)).then(
      ({ seq }) => this.show(`Sent as #${seq}`, "ok"),
      (error: unknown) => this.show(`Not sent: ${error instanceof Error ? error.message : String(error)}`, "error"),
    );
  }

  private show(text: string, tone: "" | "ok" | "error"): void {
    this.result.dataset.tone = tone;
    setText(this.result, text);
  }
}

/**
 * The publish box: JSON when the text parses as JSON, the text itself
 * otherwise (like `roomcast publish`). Enter sends, Shift+Enter starts a new
 * line. While the link is down the client queues the publish and sends it
 * once it is back; the box says so instead of pretending it was delivered.
 * An optional topic (e.g. `cmd/<device>`, for a command) and a retain switch
 * (the topic keeps it as its last value, for devices that connect later).
 */
import type { PublishOptions, Published } from "../client/index.js";
import { validTopic } from "../protocol/topics.js";
import { h, setText } from "./dom.js";
import { parseInput } from "./format.js";

export class PublishBox {
  readonly element: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly result: HTMLElement;
  private readonly topic: HTMLInputElement;
  private readonly retain: HTMLInputElement;

  constructor(
    private readonly publish: (data: unknown, options: PublishOptions) => Promise<Published>,
    private readonly linkUp: () => boolean,
  ) {
    this.input = h("textarea", {
      class: "publish-input",
      attrs: { id: "publish-input", rows: "2", spellcheck: "false", placeholder: '{"t": 21.5} or any text', "aria-label": "Message to publish" },
    });
    this.result = h("span", { class: "publish-result muted small", attrs: { id: "publish-result", "aria-live": "polite" } }, "Enter to send · Shift+Enter for a new line");
    this.topic = h("input", {
      class: "input publish-topic",
      attrs: { id: "publish-topic", spellcheck: "false", autocomplete: "off", placeholder: "topic (optional), e.g. cmd/sensor-12", "aria-label": "Topic" },
    });
    this.retain = h("input", { attrs: { id: "publish-retain", type: "checkbox" } });
    this.retain.disabled = true;
    this.topic.addEventListener("input", () => {
      this.retain.disabled = this.topic.value.trim() === ""; // retain needs a topic
      if (this.retain.disabled) this.retain.checked = false;
    });
    this.element = h(
      "form",
      { class: "card publish", attrs: { id: "publish", "aria-label": "Publish a message" } },
      h("div", { class: "publish-row" }, this.topic, h("label", { class: "switch small", attrs: { for: "publish-retain", title: "Keep it as the topic's last value" } }, this.retain, "retain")),
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
    const topic = this.topic.value.trim();
    if (topic !== "" && !validTopic(topic)) {
      this.show(`Not sent: “${topic}” is not a topic (no + or #, at most 256 bytes)`, "error");
      this.topic.focus();
      return;
    }
    const options: PublishOptions = topic === "" ? {} : { topic, retain: this.retain.checked };
    this.input.value = "";
    this.input.focus();
    this.show(this.linkUp() ? "Sending…" : "Queued: it will be sent when the link is back", "");
    this.publish(parseInput(text), options).then(
      ({ seq }) => this.show(`Sent as #${seq}`, "ok"),
      (error: unknown) => this.show(`Not sent: ${error instanceof Error ? error.message : String(error)}`, "error"),
    );
  }

  /** Puts a topic in the box (e.g. the command topic of the device whose chart is open). */
  setTopic(topic: string): void {
    this.topic.value = topic;
    this.retain.disabled = topic === "";
  }

  private show(text: string, tone: "" | "ok" | "error"): void {
    this.result.dataset.tone = tone;
    setText(this.result, text);
  }
}

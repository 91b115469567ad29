/**
 * The publish box: JSON when the text parses as JSON, the text itself
 * otherwise (like `roomcast publish`). Enter sends, Shift+Enter starts a new
 * line. While the link is down the client queues the publish and sends it
 * once it is back; the box says so instead of pretending it was delivered.
 * An optional topic (e.g. `cmd/<device>`, for a command) and a retain switch
 * (the topic keeps it as its last value, for devices that connect later).
 *
 * It knows what the page's token may do (read from its claims, claims.ts):
 * without the `publish` scope it says so and sends nothing; with an
 * `acl.pub`, it offers the topics those filters name (a datalist) and says
 * at once when the typed topic is not one of them, rather than letting the
 * relay refuse the publish afterwards.
 */
import type { PublishOptions, Published } from "../client/index.js";
import { validTopic } from "../protocol/topics.js";
import { mayPublishOn } from "./claims.js";
import { h, setText } from "./dom.js";
import { parseInput } from "./format.js";

/** What the token lets the page publish. */
export interface PublishRights {
  /** The `publish` scope. */
  publish: boolean;
  /** The `acl.pub` filters; undefined when any topic is allowed. */
  pub?: string[];
}

const HINT = "Enter to send · Shift+Enter for a new line";

/**
 * Topics a person can pick from `pub` filters: each filter without wildcards,
 * and the parent of a trailing `/#` (`cfg/#` matches `cfg` itself).
 */
export function literalTopics(pub: readonly string[]): string[] {
  const topics = pub.map((f) => (f.endsWith("/#") ? f.slice(0, -2) : f)).filter((t) => validTopic(t));
  return [...new Set(topics)];
}

export class PublishBox {
  readonly element: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly result: HTMLElement;
  private readonly topic: HTMLInputElement;
  private readonly retain: HTMLInputElement;

  constructor(
    private readonly publish: (data: unknown, options: PublishOptions) => Promise<Published>,
    private readonly linkUp: () => boolean,
    private readonly rights: PublishRights = { publish: true },
  ) {
    this.input = h("textarea", {
      class: "publish-input",
      attrs: { id: "publish-input", rows: "2", spellcheck: "false", placeholder: '{"t": 21.5} or any text', "aria-label": "Message to publish" },
    });
    this.result = h("span", { class: "publish-result muted small", attrs: { id: "publish-result", "aria-live": "polite" } }, HINT);
    this.topic = h("input", {
      class: "input publish-topic",
      attrs: { id: "publish-topic", spellcheck: "false", autocomplete: "off", placeholder: "topic (optional), e.g. cmd/sensor-12", "aria-label": "Topic" },
    });
    this.retain = h("input", { attrs: { id: "publish-retain", type: "checkbox" } });
    this.retain.disabled = true;
    this.topic.addEventListener("input", () => {
      this.retain.disabled = this.topic.value.trim() === ""; // retain needs a topic
      if (this.retain.disabled) this.retain.checked = false;
      this.checkTopic();
    });
    const send = h("button", { class: "button", attrs: { id: "publish-send", type: "submit" } }, "Send");
    const allowed = this.allowedNote();
    this.element = h(
      "form",
      { class: "card publish", attrs: { id: "publish", "aria-label": "Publish a message" } },
      h("div", { class: "publish-row" }, this.topic, h("label", { class: "switch small", attrs: { for: "publish-retain", title: "Keep it as the topic's last value" } }, this.retain, "retain")),
      h("div", { class: "publish-row" }, this.input, send),
      allowed,
      this.result,
    );
    if (!rights.publish) {
      // Nothing this page sends would be accepted: say so instead of offering a box that fails.
      for (const control of [this.input, this.topic, send]) control.disabled = true;
      this.show("This token may not publish (it lacks the publish scope).", "error");
    }
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

  /** The datalist of the allowed topics and a line naming the filters; null when any topic is allowed. */
  private allowedNote(): HTMLElement | null {
    const pub = this.rights.pub;
    if (pub === undefined || !this.rights.publish) return null;
    const topics = literalTopics(pub);
    const list = h("datalist", { attrs: { id: "publish-topics" } }, ...topics.map((t) => h("option", { attrs: { value: t } })));
    this.topic.setAttribute("list", "publish-topics");
    if (topics[0] !== undefined) this.setTopic(topics[0]); // ready to send on a topic the token allows
    const text = pub.length === 0 ? "This token may publish on no topic (its acl.pub is empty)." : `This token may publish only on: ${pub.join(", ")}`;
    return h("p", { class: "muted small", attrs: { id: "publish-allowed" } }, text, list);
  }

  /** Why `topic` cannot be sent, or null when it can (as far as the page can tell). */
  private refusal(topic: string): string | null {
    if (topic !== "" && !validTopic(topic)) return `“${topic}” is not a topic (no + or #, at most 256 bytes)`;
    const pub = this.rights.pub;
    if (pub === undefined) return null;
    if (topic === "") return "this token publishes only with a topic (a message without one matches no acl.pub filter)";
    return mayPublishOn(pub, topic) ? null : `this token may not publish on “${topic}” (allowed: ${pub.join(", ") || "none"})`;
  }

  /** Flags a typed topic the token does not allow, while it is typed (not for an invalid one half-typed). */
  private checkTopic(): void {
    if (!this.rights.publish || this.rights.pub === undefined) return;
    const topic = this.topic.value.trim();
    const why = topic === "" || validTopic(topic) ? this.refusal(topic) : null;
    this.topic.setAttribute("aria-invalid", String(why !== null));
    if (why !== null) this.show(`Not allowed: ${why}`, "error");
    else if (this.result.dataset.tone === "error") this.show(HINT, "");
  }

  private send(): void {
    if (!this.rights.publish) return;
    const text = this.input.value.trim();
    if (text === "") return;
    const topic = this.topic.value.trim();
    const why = this.refusal(topic);
    if (why !== null) {
      this.show(`Not sent: ${why}`, "error");
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
    this.checkTopic();
  }

  private show(text: string, tone: "" | "ok" | "error"): void {
    this.result.dataset.tone = tone;
    setText(this.result, text);
  }
}

/** The page without `?room=`: asks for a room and opens it. */
import { isValidRoomName } from "../client/index.js";
import { h, setText } from "./dom.js";

export function renderPicker(root: HTMLElement, params: URLSearchParams): void {
  const given = params.get("room");
  const input = h("input", {
    class: "input",
    attrs: { id: "room-input", name: "room", autocomplete: "off", spellcheck: "false", placeholder: "kitchen", required: "", "aria-describedby": "room-help" },
  });
  input.value = given ?? "";
  const help = h("p", { class: "muted small", attrs: { id: "room-help" } }, "Letters, digits and . _ : - (up to 128), starting with a letter or digit.");
  const error = h("p", { class: "form-error small", attrs: { id: "room-error", role: "alert" } });
  if (given !== null) setText(error, `“${given}” is not a valid room name.`);

  const form = h(
    "form",
    { class: "card picker" },
    h("h1", null, "Open a room"),
    h("p", { class: "muted" }, "Watch a room live: who is connected, every message as it arrives, and a box to publish."),
    h("label", { attrs: { for: "room-input" } }, "Room"),
    h("div", { class: "publish-row" }, input, h("button", { class: "button", attrs: { type: "submit" } }, "Open")),
    help,
    error,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const room = input.value.trim();
    if (!isValidRoomName(room)) {
      setText(error, room === "" ? "Enter a room name." : `“${room}” is not a valid room name.`);
      input.focus();
      return;
    }
    const next = new URLSearchParams(params);
    next.set("room", room);
    location.search = next.toString();
  });
  root.replaceChildren(h("main", { class: "picker-page" }, form));
  input.focus();
}

/**
 * The room page's two views, chosen by the URL's fragment (`#log`, or the
 * fleet by default), so a view can be linked to and the back button works.
 */
import { h } from "./dom.js";

export type View = "fleet" | "log";
const VIEWS: readonly View[] = ["fleet", "log"];
const LABELS: Record<View, string> = { fleet: "Fleet", log: "Message log" };

export function viewTabs(): HTMLElement {
  return h(
    "nav",
    { class: "tabs", attrs: { "aria-label": "Views" } },
    ...VIEWS.map((view) => h("a", { class: "tab", attrs: { id: `tab-${view}`, href: `#${view}` } }, LABELS[view])),
  );
}

/** Shows the view `hash` names and marks its tab; returns it. */
export function showView(hash: string): View {
  const view: View = hash === "#log" ? "log" : "fleet";
  for (const v of VIEWS) {
    document.getElementById(`${v}-view`)!.hidden = v !== view;
    const tab = document.getElementById(`tab-${v}`)!;
    if (v === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  document.body.dataset.view = view;
  return view;
}

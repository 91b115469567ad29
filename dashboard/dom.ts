/**
 * The only way the dashboard builds DOM. Children that are strings become
 * text nodes, so nothing a device or a user sends can ever be parsed as HTML:
 * there is no innerHTML anywhere in the dashboard.
 */
export type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  /** Plain attributes (set with setAttribute, never as HTML). */
  attrs?: Record<string, string>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props?.class) el.className = props.class;
  for (const [name, value] of Object.entries(props?.attrs ?? {})) el.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

/** Sets an element's text; a no-op when it already shows it (avoids layout work at high rates). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

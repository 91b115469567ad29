/**
 * One relay and one browser for a dashboard test file, and the rule every
 * page is held to: it must stay free of console errors and dialogs (checked
 * after each test).
 */
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { EmbeddedRelay } from "../../tools/local/relay";
import { startRelay } from "../support/relay";
import { launchBrowser, type Browser, type WatchedPage } from "./browser";

export interface Dashboard {
  /** The file's relay (started before its tests). */
  readonly relay: EmbeddedRelay;
  /** Opens `url` in a watched page, closed and checked after the test. */
  open(url: string): Promise<WatchedPage>;
  /** Opens room `room` in the file's view and waits until its link is open. */
  openRoom(room: string, base?: string): Promise<WatchedPage>;
}

/** `view` is the URL fragment the file's tests open rooms in ("" for the default fleet view, "#log"). */
export function useDashboard(view = ""): Dashboard {
  let relay: EmbeddedRelay | undefined;
  let browser: Browser;
  let current: WatchedPage | undefined;

  beforeAll(async () => {
    [relay, browser] = await Promise.all([startRelay(), launchBrowser()]);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), relay?.stop()]);
  });
  afterEach(async () => {
    const watched = current;
    current = undefined;
    await watched?.page.close();
    expect(watched?.errors ?? []).toEqual([]);
    expect(watched?.dialogs ?? []).toEqual([]);
  });

  const open = async (url: string) => (current = await browser.open(url));
  return {
    get relay() {
      if (relay === undefined) throw new Error("the relay is used before beforeAll started it");
      return relay;
    },
    open,
    async openRoom(room, base) {
      const page = await open(`${base ?? relay!.url}/?room=${room}${view}`);
      await expect.poll(() => page.page.getAttribute("#state", "data-state")).toBe("open");
      return page;
    },
  };
}

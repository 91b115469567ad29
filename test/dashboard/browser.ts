/**
 * Headless Chromium for the dashboard tests: Debian's /usr/bin/chromium
 * driven by playwright-core (never a downloaded browser), with a fresh
 * profile per launch. Every page records its console errors, uncaught
 * exceptions and dialogs so a test can assert there were none.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  open(url: string): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught exceptions, as text. */
  errors: string[];
  /** Messages of every dialog (alert, confirm…) the page tried to open. */
  dialogs: string[];
}

export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "roomcast-chromium-"));
  // A persistent context is how playwright takes --user-data-dir.
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    async open(url) {
      const page = await context.newPage();
      const watched: WatchedPage = { page, errors: [], dialogs: [] };
      page.on("console", (m) => {
        if (m.type() === "error") watched.errors.push(m.text());
      });
      page.on("pageerror", (e) => watched.errors.push(`uncaught: ${e.message}`));
      page.on("dialog", (d) => {
        watched.dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto(url);
      return watched;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

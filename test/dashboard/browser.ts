/**
 * Headless Chromium for the dashboard tests, driven by playwright-core with a
 * fresh profile per launch. The browser is the project's own devDependency
 * @sparticuz/chromium (a compressed headless Chromium for Linux x64, unpacked
 * once into the temp dir), so `npm ci` is all a machine needs; a browser of
 * the machine's own is used only when CHROMIUM_PATH points at one. Nothing is
 * ever downloaded. Every page records its console errors, uncaught exceptions
 * and dialogs so a test can assert there were none.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Chromium from "@sparticuz/chromium";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Quiet and offline: no first-run UI, no calls home while a test runs. */
const QUIET = [
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SYSTEM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", ...QUIET];
// @sparticuz/chromium's flags are made for serverless scraping; these two
// would let a page do what a real browser forbids, which the dashboard must
// never rely on.
const LOOSENING = new Set(["--disable-web-security", "--allow-running-insecure-content"]);

const WHAT_TO_INSTALL =
  "install Chromium (e.g. `apt-get install chromium`, `brew install --cask chromium`) and run the tests with CHROMIUM_PATH=/path/to/chromium";

interface Executable {
  path: string;
  args: string[];
  /** Where it came from, for the error if it does not start. */
  origin: string;
}

async function findChromium(): Promise<Executable> {
  const own = process.env.CHROMIUM_PATH;
  if (own) return { path: own, args: SYSTEM_FLAGS, origin: `CHROMIUM_PATH=${own}` };
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`dashboard tests: @sparticuz/chromium has no browser for ${process.platform}-${process.arch}; ${WHAT_TO_INSTALL}`);
  }
  const args = [...Chromium.args.filter((flag) => !LOOSENING.has(flag)), ...QUIET];
  return { path: await Chromium.executablePath(), args, origin: "@sparticuz/chromium" };
}

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
  const executable = await findChromium();
  const profile = await mkdtemp(join(tmpdir(), "roomcast-chromium-"));
  let context: BrowserContext;
  try {
    // A persistent context is how playwright takes --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable.path,
      headless: true,
      args: executable.args,
      viewport: { width: 1280, height: 800 },
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    const reason = String((error as Error).message).split("\n")[0];
    throw new Error(`dashboard tests: Chromium from ${executable.origin} did not start (${reason}); ${WHAT_TO_INSTALL}`, { cause: error });
  }
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

/**
 * The README's screenshots of the fleet view, taken from a simulation run:
 * an embedded relay, `npm run simulate -- --url … --topics` publishing into
 * it (json devices on sensors/d<N>/reading, retained), and the page open on
 * the simulated room, one tile's chart open, on a desktop and a phone, light
 * and dark.
 *
 *   npx tsx test/dashboard/screenshots.ts      (writes docs/dashboard-*.png)
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { buildBundle, EmbeddedRelay } from "../../tools/local/relay";
import { launchBrowser } from "./browser";

const DOCS = join(process.cwd(), "docs");
const PREFIX = `demo${Date.now().toString(36)}`;
const ROOM = `${PREFIX}-0`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bundle = await buildBundle(join(process.cwd(), "dist", "screenshot-worker"));
const relay = await EmbeddedRelay.start({ bundle });
const sim = spawn(
  process.execPath,
  ["--import", "tsx", "tools/sim/cli.ts", "--url", relay.url, "--prefix", PREFIX, "--rooms", "1", "--devices", "24", "--dashboards", "1", "--mode", "json", "--topics", "--rate", "2", "--duration", "60s", "--flaky", "0", "--out", join("test", ".tmp", "sim-screenshots")],
  { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
);
const browser = await launchBrowser();
try {
  await sleep(15_000); // the fleet connects and every device has a few readings
  const { page, errors } = await browser.open(`${relay.url}/?room=${ROOM}`);
  await page.locator("#tiles .tile").nth(20).waitFor();
  await page.fill("#quiet-after", "5");
  await sleep(6_000); // sparklines with some history behind them
  await page.click('#tiles .tile[data-topic="sensors/d3/reading"]');
  await page.locator("#chart .uplot").waitFor();
  await page.selectOption("#chart-window", "1");
  await sleep(2_000);
  for (const [name, viewport] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]] as const) {
    await page.setViewportSize(viewport);
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      await page.evaluate(() => window.scrollTo(0, 0));
      await sleep(1_200); // one sparkline pass in the new colours
      const path = join(DOCS, `dashboard-${name}-${colorScheme}.png`);
      await page.screenshot({ path });
      console.log(`wrote ${path}`);
    }
  }
  if (errors.length > 0) throw new Error(`console errors: ${errors.join("; ")}`);
} finally {
  sim.kill("SIGINT");
  await browser.close();
  await relay.stop();
}

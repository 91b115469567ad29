/**
 * Some browsers report a language tag Intl rejects (a headless Chromium under
 * LANG=C says "en-US@posix"), and uPlot builds an Intl.NumberFormat from
 * navigator.language when its module loads: that would throw before the page
 * draws anything. Imported first by main.ts, this replaces such a tag with
 * its valid part (or "en-US") before any other module runs.
 */
function validTag(tag: string): boolean {
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

const reported = navigator.language;
if (!validTag(reported)) {
  const trimmed = reported.split(/[@.]/)[0] ?? "";
  const usable = validTag(trimmed) ? trimmed : "en-US";
  Object.defineProperty(navigator, "language", { configurable: true, get: () => usable });
}

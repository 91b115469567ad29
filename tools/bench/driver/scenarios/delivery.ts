/** What every delivering scenario reports besides its speed: the tally's verdict, and CPU per message. */
import type { Tally } from "../../../load/index.js";
import type { Delivery } from "../jobs.js";

export function deliveryOf(tally: Tally): Delivery {
  const r = tally.report();
  return { expected: r.expected, delivered: r.delivered, lost: r.lost, duplicated: r.duplicated, outOfOrder: r.outOfOrder };
}

/** CPU time `ms` spread over `count` messages, in µs to two decimals (NaN when the CPU could not be read). */
export function usPer(ms: number, count: number): number {
  return Math.round((ms * 1000 * 100) / Math.max(1, count)) / 100;
}

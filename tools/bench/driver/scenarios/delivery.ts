/** The correctness half of a delivering scenario, from the shared tally's verdict. */
import type { Tally } from "../../../load/index.js";
import type { Delivery } from "../jobs.js";

export function deliveryOf(tally: Tally): Delivery {
  const r = tally.report();
  return { expected: r.expected, delivered: r.delivered, lost: r.lost, duplicated: r.duplicated, outOfOrder: r.outOfOrder };
}

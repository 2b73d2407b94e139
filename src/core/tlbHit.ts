// Portable (docs/engine-decision.md): what a TLB hit does to its model (core/tlbModel.ts),
// in one place for the model itself and for the hot loop of both engines.

import { TlbModelLayout } from "../state/layout.js";
import { Words, Halves, Doubles } from "../state/flatViews.js";

/** Replacement policies as stored in a model's POLICY word. */
export const enum TlbPolicy { LRU = 0, FIFO = 1, RANDOM = 2 }

/** The flat-state views of one TLB model that a hit touches (state/layout.ts TlbModelLayout). */
export class TlbHitViews {
  constructor(
    /** Header as float64 (CLOCK, counters) and as int32 (POLICY, geometry). */
    public f: Doubles,
    public w: Words,
    /** Last use of each entry. */
    public stamp: Doubles,
    /** Entry holding each linear page. */
    public slotOf: Halves,
  ) {}
}

/**
 * Counts a hit on a present `page` and refreshes it for LRU replacement. `s[hot]` holds
 * the page last made most recently used plus one, `s[hot + 1]` the hits not yet folded
 * into HITS (Reg.DTLB_LAST_HIT / ITLB_LAST_HIT and the word after).
 */
export function tlbHit(s: Words, hot: i32, t: TlbHitViews, page: i32): void {
  s[hot + 1]++;
  // A hit on the most recently used page leaves the LRU order as it is.
  if (t.w[TlbModelLayout.POLICY] === TlbPolicy.LRU && page + 1 !== s[hot]) {
    const clock = t.f[TlbModelLayout.CLOCK] + 1;
    t.f[TlbModelLayout.CLOCK] = clock;
    t.stamp[t.slotOf[page]] = clock;
    s[hot] = page + 1;
  }
}

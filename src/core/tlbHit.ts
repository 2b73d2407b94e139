// Portable (docs/engine-decision.md): what a TLB hit and an INVLPG do to a TLB model
// (core/tlbModel.ts), in one place for the model itself and for the hot loop of both engines.

import { TlbModelLayout } from "../state/layout.js";
import { Words, Halves, Doubles } from "../state/flatViews.js";

/** Why a TLB was flushed, for the counters. */
export const enum FlushCause { CR3 = 0, INVLPG = 1, MODE = 2, TASK_SWITCH = 3, COUNT = 4 }

/** Replacement policies as stored in a model's POLICY word. */
export const enum TlbPolicy { LRU = 0, FIFO = 1, RANDOM = 2 }

/** The flat-state views of one TLB model that a hit or an invalidation touches (state/layout.ts TlbModelLayout). */
export class TlbHitViews {
  constructor(
    /** Header as float64 (CLOCK, counters) and as int32 (POLICY, geometry). */
    public f: Doubles,
    public w: Words,
    /** Last use of each entry. */
    public stamp: Doubles,
    /** Entry holding each linear page. */
    public slotOf: Halves,
    /** Linear page + 1 held by each entry, 0 when empty. */
    public page: Words,
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

/**
 * Removes linear `page` from the model (every VPID's entry) and from its direct map `map`,
 * counting one flush of `cause` (FlushCause). `s[hot]` is as for tlbHit(): no page is
 * most recently used any more.
 */
export function tlbInvalidate(s: Words, hot: i32, t: TlbHitViews, map: Words, page: i32, cause: i32): void {
  t.f[TlbModelLayout.FLUSHES + cause] += 1;
  s[hot] = 0;
  const ways = t.w[TlbModelLayout.WAYS];
  const base = (page % t.w[TlbModelLayout.SETS]) * ways;
  for (let w = base; w < base + ways; w++) if (t.page[w] === page + 1) t.page[w] = 0;
  map[page] = 0;
}

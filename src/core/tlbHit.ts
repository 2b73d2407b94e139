// Portable (docs/engine-decision.md): what a TLB hit, a fill after a walk and an INVLPG do
// to a TLB model (core/tlbModel.ts), in one place for the model itself, the page walk
// (core/pageWalk.ts) and the hot loop of both engines.

import { TlbModelLayout } from "../state/layout.js";
import { Words } from "../state/flatViews.js";
import { TlbHitViews } from "./tlbHitViews.js";

/** Why a TLB was flushed, for the counters. */
export const enum FlushCause { CR3 = 0, INVLPG = 1, MODE = 2, TASK_SWITCH = 3, COUNT = 4 }

/** Replacement policies as stored in a model's POLICY word. */
export const enum TlbPolicy { LRU = 0, FIFO = 1, RANDOM = 2 }

/** Initial xorshift32 state of the random policy; the flat state holds SEED XOR this. */
const SEED0 = 0x2545f491;

/**
 * Counts a hit on a present `page` and refreshes it for LRU replacement. `s[hot]` holds
 * the page last made most recently used plus one, `s[hot + 1]` the hits not yet folded
 * into HITS (Reg.DTLB_LAST_HIT / ITLB_LAST_HIT and the word after).
 */
export function tlbHit(s: Words, hot: i32, t: TlbHitViews, page: i32): void {
  s[hot + 1]++;
  if (t.w[TlbModelLayout.POLICY] === TlbPolicy.LRU) {
    t.f[TlbModelLayout.CLOCK] = lruStep(t, s[hot], page, t.f[TlbModelLayout.CLOCK]);
    s[hot] = page + 1;
  }
}

/**
 * Five hits in a row, on pages `a` to `e`, counted as `hits` (a page repeated is a hit
 * that leaves the order as it is, so a shorter run repeats its last page). Event delivery
 * touches several pages at once; chaining tlbHit() would load and store the same clock
 * and counters once per page, and each is a store-to-load forwarding on the critical path.
 */
/* @inline */ export function tlbHitRun(s: Words, hot: i32, t: TlbHitViews, a: i32, b: i32, c: i32, d: i32, e: i32, hits: i32): void {
  s[hot + 1] += hits;
  if (t.w[TlbModelLayout.POLICY] !== TlbPolicy.LRU) return;
  let clock = t.f[TlbModelLayout.CLOCK];
  clock = lruStep(t, s[hot], a, clock);
  clock = lruStep(t, a + 1, b, clock);
  clock = lruStep(t, b + 1, c, clock);
  clock = lruStep(t, c + 1, d, clock);
  clock = lruStep(t, d + 1, e, clock);
  t.f[TlbModelLayout.CLOCK] = clock;
  s[hot] = e + 1;
}

/**
 * A hit on `page` after the most recently used page `last` (+ 1) under LRU: a new page is
 * stamped with the next clock value, the same page again changes nothing. Returns the clock.
 */
/* @inline */ function lruStep(t: TlbHitViews, last: i32, page: i32, clock: f64): f64 {
  if (page + 1 === last) return clock;
  t.stamp[t.slotOf[page]] = clock + 1;
  return clock + 1;
}

/**
 * Installs a translation for `page` after a walk (`s[hot]` as for tlbHit()); returns the
 * page it evicted to make room, whose direct-map entry the caller clears, or -1. A way
 * already holding the page for this VPID is reused, else the first empty one, else the
 * policy's victim in the page's set.
 */
/* @inline */ export function tlbInsert(s: Words, hot: i32, t: TlbHitViews, page: i32, vpid: i32, global: bool): i32 {
  const w = t.w, ways = w[TlbModelLayout.WAYS], policy = w[TlbModelLayout.POLICY];
  const base = setBase(w, page), end = base + ways;
  let victim = -1, empty = -1;
  for (let i = base; i < end; i++) {
    const held = t.page[i];
    if (held === page + 1 && t.vpid[i] === vpid) { victim = i; break; }
    if (held === 0 && empty < 0) empty = i;
  }
  if (victim < 0) victim = empty;
  let evicted = -1;
  if (victim < 0) {
    if (policy === TlbPolicy.RANDOM) {
      // xorshift32: deterministic, so two runs evict the same entries.
      let x = w[TlbModelLayout.SEED] ^ SEED0; x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      w[TlbModelLayout.SEED] = x ^ SEED0;
      victim = base + <i32>(<u32>(x >>> 0) % <u32>ways);
    } else {
      victim = base;
      for (let i = base + 1; i < end; i++) if (t.stamp[i] < t.stamp[victim]) victim = i;
    }
    evicted = t.page[victim] - 1;
    t.f[TlbModelLayout.EVICTIONS] += 1;
  }
  // LRU stamps every fill; FIFO only a new page's (a refill keeps its place in the queue).
  if (t.page[victim] !== page + 1 || policy !== TlbPolicy.FIFO) {
    const clock = t.f[TlbModelLayout.CLOCK] + 1;
    t.f[TlbModelLayout.CLOCK] = clock;
    t.stamp[victim] = clock;
  }
  t.page[victim] = page + 1;
  t.slotOf[page] = <u16>victim;
  s[hot] = policy === TlbPolicy.LRU ? page + 1 : 0;
  t.vpid[victim] = vpid;
  t.global[victim] = global ? 1 : 0;
  return evicted;
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
  const base = setBase(t.w, page);
  for (let w = base; w < base + ways; w++) if (t.page[w] === page + 1) t.page[w] = 0;
  map[page] = 0;
}

/**
 * The first entry of the set linear `page` maps to. The set count is usually a power of
 * two, where a mask gives the same set as the remainder without an integer division.
 */
/* @inline */ function setBase(w: Words, page: i32): i32 {
  const sets = w[TlbModelLayout.SETS];
  return ((sets & (sets - 1)) === 0 ? page & (sets - 1) : page % sets) * w[TlbModelLayout.WAYS];
}

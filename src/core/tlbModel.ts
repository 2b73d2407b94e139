// A finite, set-associative TLB as the architecture allows it to behave (SDM 3A 4.10):
// entries are filled by page walks, evicted by replacement, flushed by CR3 writes (except
// global entries), INVLPG and paging-mode changes, and never updated when the page
// tables change underneath them, so a guest that forgets INVLPG sees the old mapping.
//
// The hot loop does not search the sets: the memory layer keeps a direct map from linear
// page to translation holding exactly the pages this model contains, and the model tells
// it which page to drop when it evicts one.

import { TlbModelLayout, TLB_MAX_ENTRIES, TLB_ENTRIES } from "../state/layout.js";
import { TlbPolicy, FlushCause, tlbHit, tlbInsert, tlbInvalidate } from "./tlbHit.js";
import { TlbHitViews } from "./tlbHitViews.js";
export { FlushCause };

/** Replacement policy of a TLB's sets. */
export type TlbReplacement = "lru" | "fifo" | "random";

export interface TlbConfig {
  entries: number;
  ways: number;
  replacement: TlbReplacement;
}

/**
 * Defaults from the Pentium processor (Intel, "Pentium Processor Family Developer's
 * Manual", vol. 1, on-chip caches): code TLB 32 entries, 4-way; data TLB 64 entries,
 * 4-way, both for 4 KiB pages. Pseudo-LRU on the chip; true LRU here.
 */
export const DEFAULT_ITLB: TlbConfig = { entries: 32, ways: 4, replacement: "lru" };
export const DEFAULT_DTLB: TlbConfig = { entries: 64, ways: 4, replacement: "lru" };


/** Replacement policies as stored in the flat state (TlbModelLayout.POLICY). */
const POLICY_CODE: Record<TlbReplacement, number> = { lru: TlbPolicy.LRU, fifo: TlbPolicy.FIFO, random: TlbPolicy.RANDOM };
/** Indices in TlbModel.hot. */
const HOT_LAST_HIT = 0, HOT_NEW_HITS = 1;

/**
 * Counts `n` more hits on the page the last hit or insert of the model whose two words are
 * at `state[hotWord]` touched, as n hits would: that page is already the most recently
 * used one (or the policy keeps no use order), so only the count changes. For accesses a
 * single translation served; callers on the event paths pass the CPU's state array they
 * already hold, so the count costs one add rather than a chain of loads through the model.
 */
export function repeatTlbHits(state: Int32Array, hotWord: number, n: number): void {
  state[hotWord + HOT_NEW_HITS] += n;
}

/**
 * All of a model's state lives in the flat state at `base` (state/layout.ts
 * TlbModelLayout), so a copy of the buffer copies the TLB; an all-zero area is empty.
 */
export class TlbModel {
  readonly sets: number;
  readonly ways: number;
  readonly entries: number;
  /** Clock and counters (float64) and the int32 header words, over the same bytes. */
  readonly f: Float64Array;
  readonly w: Int32Array;
  private readonly page: Int32Array;   // linear page number + 1, or 0 when the way is empty
  private readonly vpid: Int32Array;
  private readonly global: Uint8Array;
  private readonly stamp: Float64Array; // last use (LRU) or fill time (FIFO)
  /** Entry index holding each linear page (valid only while the page is present). */
  private readonly slotOf: Uint16Array;
  /** The model's two words in the CPU's state array: last hit + 1, hits not yet in HITS. */
  private readonly hot: Int32Array;
  /** Flushes by FlushCause. */
  readonly flushes: Float64Array;
  /** What a hit touches (core/tlbHit.ts), for this model and for the hot loop. */
  readonly hitViews: TlbHitViews;
  private readonly state: Int32Array;
  private readonly hotWord: number;

  /**
   * `state[hotWord]` holds the last hit plus one and `state[hotWord + 1]` the hits not yet
   * added into HITS (int32: one increment per hit); in a CPU, Reg.DTLB_LAST_HIT or
   * ITLB_LAST_HIT. The defaults make a model outside any flat state.
   */
  constructor(config: TlbConfig, buffer = new ArrayBuffer(TlbModelLayout.BYTES), base = 0,
    state: Int32Array = new Int32Array(2), hotWord = 0) {
    const { entries, ways } = config;
    if (!Number.isInteger(entries) || !Number.isInteger(ways) || entries < 1 || entries > TLB_MAX_ENTRIES || ways < 1 || entries % ways !== 0) {
      throw new Error(`TLB of ${entries} entries cannot have ${ways} ways`);
    }
    this.ways = ways;
    this.entries = entries;
    this.sets = entries / ways;
    this.hot = state.subarray(hotWord, hotWord + 2);
    this.state = state;
    this.hotWord = hotWord;
    this.f = new Float64Array(buffer, base, TlbModelLayout.HEADER_BYTES >> 3);
    this.w = new Int32Array(buffer, base, TlbModelLayout.HEADER_BYTES >> 2);
    this.flushes = new Float64Array(buffer, base + TlbModelLayout.FLUSHES * 8, FlushCause.COUNT);
    this.page = new Int32Array(buffer, base + TlbModelLayout.PAGE, entries);
    this.vpid = new Int32Array(buffer, base + TlbModelLayout.VPID, entries);
    this.global = new Uint8Array(buffer, base + TlbModelLayout.GLOBAL, entries);
    this.stamp = new Float64Array(buffer, base + TlbModelLayout.STAMP, entries);
    this.slotOf = new Uint16Array(buffer, base + TlbModelLayout.SLOT_OF, TLB_ENTRIES);
    this.hitViews = new TlbHitViews(this.f, this.w, this.stamp, this.slotOf, this.page, this.vpid, this.global);
    // The geometry is configuration, recorded so the state describes itself.
    this.w[TlbModelLayout.SETS] = this.sets;
    this.w[TlbModelLayout.WAYS] = ways;
    this.w[TlbModelLayout.POLICY] = POLICY_CODE[config.replacement];
  }

  /** The page last made most recently used (-1: none), so repeated hits cost no update. */
  get lastHit(): number { return this.hot[HOT_LAST_HIT] - 1; }
  set lastHit(page: number) { this.hot[HOT_LAST_HIT] = page + 1; }
  get hits(): number { return this.f[TlbModelLayout.HITS] + this.hot[HOT_NEW_HITS]; }
  set hits(n: number) { this.f[TlbModelLayout.HITS] = n; }
  get misses(): number { return this.f[TlbModelLayout.MISSES]; }
  set misses(n: number) { this.f[TlbModelLayout.MISSES] = n; }
  get evictions(): number { return this.f[TlbModelLayout.EVICTIONS]; }
  set evictions(n: number) { this.f[TlbModelLayout.EVICTIONS] = n; }

  /** Adds the hits counted as int32 into HITS. */
  foldHits(): void {
    const n = this.hot[HOT_NEW_HITS];
    if (n !== 0) { this.f[TlbModelLayout.HITS] += n; this.hot[HOT_NEW_HITS] = 0; }
  }

  /** Counts a hit on a present `page` and refreshes it for LRU replacement. */
  hit(page: number): void {
    tlbHit(this.state, this.hotWord, this.hitViews, page);
  }

  /**
   * Installs a translation for `page` after a walk; returns the page it evicted to make
   * room (whose direct-map entry the caller must clear), or -1.
   */
  insert(page: number, vpid: number, global: boolean): number {
    return tlbInsert(this.state, this.hotWord, this.hitViews, page, vpid, global);
  }

  /** Removes `page` (every VPID) and clears it in `map`. */
  invalidate(page: number, cause: FlushCause, map: Int32Array): void {
    tlbInvalidate(this.state, this.hotWord, this.hitViews, map, page, cause);
  }

  /**
   * Removes every entry (or every non-global one) and clears their pages in `map`, the
   * direct map the memory layer looks translations up in.
   */
  flush(keepGlobal: boolean, cause: FlushCause, map: Int32Array): void {
    this.flushes[cause]++;
    this.hot[HOT_LAST_HIT] = 0;
    for (let w = 0; w < this.page.length; w++) {
      if (this.page[w] === 0 || (keepGlobal && this.global[w] !== 0)) continue;
      map[this.page[w] - 1] = 0;
      this.page[w] = 0;
    }
  }

  /** Pages currently held (for reports and tests). */
  contents(): number[] {
    return Array.from(this.page).filter((p) => p !== 0).map((p) => p - 1);
  }
}

// A finite, set-associative TLB as the architecture allows it to behave (SDM 3A 4.10):
// entries are filled by page walks, evicted by replacement, flushed by CR3 writes (except
// global entries), INVLPG and paging-mode changes, and never updated when the page
// tables change underneath them, so a guest that forgets INVLPG sees the old mapping.
//
// The hot loop does not search the sets: the memory layer keeps a direct map from linear
// page to translation holding exactly the pages this model contains, and the model tells
// it which page to drop when it evicts one.

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

/** Why a TLB was flushed, for the counters. */
export const enum FlushCause { CR3 = 0, INVLPG = 1, MODE = 2, TASK_SWITCH = 3, COUNT = 4 }

export class TlbModel {
  readonly sets: number;
  readonly ways: number;
  private readonly page: Int32Array;   // linear page number, or -1 when the way is empty
  private readonly vpid: Int32Array;
  private readonly global: Uint8Array;
  private readonly stamp: Float64Array; // last use (LRU) or fill time (FIFO)
  /** Entry index holding each linear page (valid only while the page is present). */
  private readonly slotOf = new Uint16Array(1 << 20);
  private clock = 0;
  /** The page last made most recently used (-1: none), so repeated hits cost no update. */
  lastHit = -1;
  private seed = 0x2545f491;
  private readonly replacement: TlbReplacement;
  private readonly lru: boolean;

  hits = 0;
  misses = 0;
  evictions = 0;
  readonly flushes = new Float64Array(FlushCause.COUNT);

  constructor(config: TlbConfig) {
    const { entries, ways } = config;
    if (!Number.isInteger(entries) || !Number.isInteger(ways) || entries < 1 || entries > 65536 || ways < 1 || entries % ways !== 0) {
      throw new Error(`TLB of ${entries} entries cannot have ${ways} ways`);
    }
    this.ways = ways;
    this.sets = entries / ways;
    this.replacement = config.replacement;
    this.lru = config.replacement === "lru";
    this.page = new Int32Array(entries).fill(-1);
    this.vpid = new Int32Array(entries);
    this.global = new Uint8Array(entries);
    this.stamp = new Float64Array(entries);
  }

  private setBase(page: number): number {
    return (page % this.sets) * this.ways;
  }

  /** Counts a hit on a present `page` and refreshes it for LRU replacement. */
  hit(page: number): void {
    this.hits++;
    // A hit on the most recently used page leaves the LRU order as it is.
    if (this.lru && page !== this.lastHit) {
      this.stamp[this.slotOf[page]] = ++this.clock;
      this.lastHit = page;
    }
  }

  /**
   * Installs a translation for `page` after a walk; returns the page it evicted to make
   * room (whose direct-map entry the caller must clear), or -1.
   */
  insert(page: number, vpid: number, global: boolean): number {
    const base = this.setBase(page);
    let victim = -1;
    for (let w = base; w < base + this.ways; w++) {
      if (this.page[w] === page && this.vpid[w] === vpid) { victim = w; break; }
    }
    let evicted = -1;
    if (victim < 0) {
      for (let w = base; w < base + this.ways; w++) if (this.page[w] < 0) { victim = w; break; }
    }
    if (victim < 0) {
      if (this.replacement === "random") {
        // xorshift32: deterministic, so two runs evict the same entries.
        let x = this.seed; x ^= x << 13; x ^= x >>> 17; x ^= x << 5; this.seed = x;
        victim = base + ((x >>> 0) % this.ways);
      } else {
        victim = base;
        for (let w = base + 1; w < base + this.ways; w++) if (this.stamp[w] < this.stamp[victim]) victim = w;
      }
      evicted = this.page[victim];
      this.evictions++;
    }
    if (this.page[victim] !== page || this.replacement !== "fifo") this.stamp[victim] = ++this.clock;
    this.page[victim] = page;
    this.slotOf[page] = victim;
    this.lastHit = this.lru ? page : -1;
    this.vpid[victim] = vpid;
    this.global[victim] = global ? 1 : 0;
    return evicted;
  }

  /** Removes `page` (every VPID) and clears it in `map`. */
  invalidate(page: number, cause: FlushCause, map: Int32Array): void {
    this.flushes[cause]++;
    this.lastHit = -1;
    const base = this.setBase(page);
    for (let w = base; w < base + this.ways; w++) if (this.page[w] === page) this.page[w] = -1;
    map[page] = 0;
  }

  /**
   * Removes every entry (or every non-global one) and clears their pages in `map`, the
   * direct map the memory layer looks translations up in.
   */
  flush(keepGlobal: boolean, cause: FlushCause, map: Int32Array): void {
    this.flushes[cause]++;
    this.lastHit = -1;
    for (let w = 0; w < this.page.length; w++) {
      if (this.page[w] < 0 || (keepGlobal && this.global[w] !== 0)) continue;
      map[this.page[w]] = 0;
      this.page[w] = -1;
    }
  }

  /** Pages currently held (for reports and tests). */
  contents(): number[] {
    return Array.from(this.page).filter((p) => p >= 0);
  }
}

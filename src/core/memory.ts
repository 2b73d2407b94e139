// Guest memory as the hot loop sees it: segmentation checks, the translation cache in
// front of the 2-level 32-bit page walk (SDM 3A 4.3), RAM reads and writes, and the
// invalidation of decoded code when it is written. MMIO beyond RAM goes to a bus
// supplied from above (core imports nothing above it).

import { Reg, Cr0, RAM_OFFSET, DTLB_MODEL_OFFSET, ITLB_MODEL_OFFSET, DTLB_MAP_OFFSET, VECTOR_EVENTS_OFFSET, ITLB_MAP_OFFSET, TLB_ENTRIES, CODE_PAGE_OFFSET, CODE_PAGE_BYTES, DECODE_OFFSET, DECODE_SLOTS, DECODE_WORDS, COUNTER_OFFSET, COUNTER_SLOTS, WIDE_OFFSET, Wide, RETIRE_COUNTER_WORD, RETIRE_COUNTER_SLOTS, totalBytes, BLOCK_SLOTS } from "../state/layout.js";
import { Event, INSTRUCTION_COUNTERS } from "../cost/event.js";
import { fault, FAULT, Vector } from "./fault.js";
import { pageWalk, Access, WALK_REF_WORDS } from "./pageWalk.js";
import { HotViews } from "./hotViews.js";
import { forgetBlockless } from "./blockSkip.js";
import { SliceWord } from "./sliceRule.js";
import { attachMemory } from "./hotHost.js";
import { TlbModel, TlbConfig, DEFAULT_ITLB, DEFAULT_DTLB, FlushCause, repeatTlbHits } from "./tlbModel.js";
import { tlbHit } from "./tlbHit.js";
import { TlbHitViews } from "./tlbHitViews.js";
import { SegAccess, Tlb, syncCodeMirrors } from "./segmentCache.js";

/** Physical accesses outside RAM (devices register here through mem/). */
export interface PhysicalBus {
  read(addr: number, size: number): number;
  /** False when no device answers the address (the store goes nowhere). */
  write(addr: number, size: number, value: number): boolean;
}

/**
 * Page flags in the code-page map: stores to a page with any flag leave the fast path.
 * CODE: decoded instructions are cached from it. WATCHED: a device wants to see stores.
 */
export const enum CodePage { CODE = 1, WATCHED = 2 }

/** Told of every store to a watched page (a frame buffer), after the store. */
export interface WriteWatcher {
  /** True asks the CPU to stop after the current instruction (CoreMemory.attention). */
  written(phys: number, size: number): boolean;
}

// Segment access flags and TLB entry bits live with the portable segment code.
export { SegAccess, Tlb } from "./segmentCache.js";

/**
 * Sees every page walk (for `vmxlab trace --walks` and teaching tools). `refs` holds
 * (level, physical address, entry value as read) triples, level 2 for the page-directory
 * entry and 1 for the page-table entry; `errorCode` is -1 for a successful walk, else the
 * #PF error code the walk raised.
 */
export interface WalkObserver {
  pageWalk(lin: number, access: Access, user: boolean, refs: ArrayLike<number>, refCount: number, phys: number, errorCode: number): void;
}

export { Access };


/** Breakpoint lengths by DR7 LEN field: 1, 2, 8 (undefined on 32-bit CPUs; treated as 8), 4 bytes. */
const BREAKPOINT_BYTES = [1, 2, 8, 4];

/** True when DR7 enables a breakpoint on data reads or writes (R/W = 01 or 11). */
export function dataBreakpointsArmed(dr7: number): boolean {
  if ((dr7 & 0xff) === 0) return false; // no L0-L3 or G0-G3 enable bit (SDM 3A 17.2.4)
  for (let i = 0; i < 4; i++) {
    const rw = (dr7 >>> (16 + i * 4)) & 3;
    if (((dr7 >> (i * 2)) & 3) !== 0 && (rw === 1 || rw === 3)) return true;
  }
  return false;
}

export class CoreMemory {
  readonly buffer: ArrayBuffer;
  readonly s: Int32Array;
  readonly ram: Uint8Array;
  readonly view: DataView;
  /** RAM as 32-bit words, for aligned accesses (guest RAM is little-endian, as are the hosts Node runs on). */
  readonly ram32: Int32Array;
  readonly ramBytes: number;
  /** Direct maps of the data and instruction TLBs (see tlbModel.ts). */
  readonly tlb: Int32Array;
  readonly itlbMap: Int32Array;
  readonly dtlb: TlbModel;
  readonly itlb: TlbModel;
  /** dtlb.hitViews, held here so that a data-TLB hit does not load it through the model. */
  private readonly dtlbViews: TlbHitViews;
  readonly codePages: Uint8Array;
  /**
   * Per physical page, bumped whenever decoded code in it may have changed (a write to it,
   * or a flush of every decode): what compiled blocks check (core/blockCompiler.ts). It is
   * not guest state and not in the flat state.
   */
  readonly codeGen: Int32Array;
  readonly decoded: Int32Array;
  bus: PhysicalBus | null = null;
  /** Pages whose stores go to `writeWatcher` (kept across flushes of the decode cache). */
  readonly watchedPages: number[] = [];
  writeWatcher: WriteWatcher | null = null;
  /** The event counters (cost/event.ts) in the flat state; cost/ prices them. */
  readonly counts: Float64Array;
  /** The run's float64 counters (state/layout.ts Wide): instructions retired, events delivered. */
  readonly wide: Float64Array;
  /** Retirements by instruction counter during one call of the hot loop (state/layout.ts). */
  readonly retireCounts: Int32Array;
  private observer: WalkObserver | null = null;
  /** Exceptions and interrupts delivered, by vector (for reports). */
  readonly eventsByVector: Float64Array;
  /** The views core/hotLoop.ts and the other portable code work on, over this core's flat state. */
  protected readonly hot: HotViews;

  /** Byte offset of the flat state in `buffer` (non-zero when it lives in a wasm module's memory). */
  readonly base: number;

  /**
   * A core over the flat state at byte `base` of `buffer` (default: a new buffer of its
   * own). `carriesState` says the bytes there are a state to continue from (a snapshot),
   * not zeros to start from.
   */
  constructor(ramBytes: number, tlbs: { itlb?: TlbConfig; dtlb?: TlbConfig } = {}, buffer?: ArrayBuffer, base = 0,
    carriesState = buffer !== undefined) {
    this.buffer = buffer ?? new ArrayBuffer(totalBytes(ramBytes));
    this.base = base;
    this.s = new Int32Array(this.buffer, base, Reg.STATE_WORDS);
    this.ram = new Uint8Array(this.buffer, base + RAM_OFFSET, ramBytes);
    this.view = new DataView(this.buffer, base + RAM_OFFSET, ramBytes);
    this.ram32 = new Int32Array(this.buffer, base + RAM_OFFSET, ramBytes >> 2);
    this.ramBytes = ramBytes;
    this.tlb = new Int32Array(this.buffer, base + DTLB_MAP_OFFSET, TLB_ENTRIES);
    this.itlbMap = new Int32Array(this.buffer, base + ITLB_MAP_OFFSET, TLB_ENTRIES);
    this.dtlb = new TlbModel(tlbs.dtlb ?? DEFAULT_DTLB, this.buffer, base + DTLB_MODEL_OFFSET, this.s, Reg.DTLB_LAST_HIT);
    this.itlb = new TlbModel(tlbs.itlb ?? DEFAULT_ITLB, this.buffer, base + ITLB_MODEL_OFFSET, this.s, Reg.ITLB_LAST_HIT);
    this.dtlbViews = this.dtlb.hitViews;
    this.codePages = new Uint8Array(this.buffer, base + CODE_PAGE_OFFSET, CODE_PAGE_BYTES);
    this.codeGen = new Int32Array(CODE_PAGE_BYTES);
    this.decoded = new Int32Array(this.buffer, base + DECODE_OFFSET, RETIRE_COUNTER_WORD + RETIRE_COUNTER_SLOTS);
    this.counts = new Float64Array(this.buffer, base + COUNTER_OFFSET, COUNTER_SLOTS);
    this.wide = new Float64Array(this.buffer, base + WIDE_OFFSET, Wide.SLOTS);
    this.retireCounts = new Int32Array(this.buffer, base + DECODE_OFFSET + RETIRE_COUNTER_WORD * 4, RETIRE_COUNTER_SLOTS);
    this.eventsByVector = new Float64Array(this.buffer, base + VECTOR_EVENTS_OFFSET, 256);
    this.hot = new HotViews(this.s, this.decoded, this.ram, this.ram32, this.view, this.tlb, this.itlbMap,
      this.dtlb.hitViews, this.itlb.hitViews, this.codePages, this.wide, this.counts,
      this.eventsByVector, ramBytes, false, false, new Int32Array(2 * BLOCK_SLOTS), new Float64Array(SliceWord.COUNT),
      new Int32Array(WALK_REF_WORDS), false);
    this.s[Reg.RAM_BYTES] = ramBytes;
    if (!carriesState) {
      // What syncMode() derives from the all-zero state (a snapshot carries its own).
      this.s[Reg.READ_NEED] = Tlb.VALID;
      this.s[Reg.WRITE_NEED] = Tlb.VALID | Tlb.SUP_WRITE | Tlb.DIRTY;
    }
  }

  /** The flat state's bytes (state/layout.ts), wherever they live: a copy of them is a snapshot. */
  get flat(): Uint8Array { return new Uint8Array(this.buffer, this.base, totalBytes(this.ramBytes)); }

  // Names for the flat state's words (state/layout.ts), for code off the hot path; the hot
  // paths below read the words themselves.
  /** Tag of new TLB entries: 0 outside VMX non-root operation (SDM 3C 28.1). */
  get vpid(): number { return this.s[Reg.VPID]; }
  set vpid(v: number) { this.s[Reg.VPID] = v; }
  /**
   * Set when a device wants the run loop to look at it now: the hot loop ends its slice
   * after the instruction (checked only on its slow paths, which watched stores take).
   */
  get attention(): boolean { return this.s[Reg.ATTENTION] !== 0; }
  set attention(on: boolean) { this.s[Reg.ATTENTION] = on ? 1 : 0; }
  /** Mirrors of state the hot loop tests on every access (kept in sync by syncMode()). */
  get paging(): boolean { return this.s[Reg.PAGING] !== 0; }
  /** True when data breakpoints (DR7 R/W = 01 or 11) are armed: every access is checked. */
  get watching(): boolean { return this.s[Reg.WATCHING] !== 0; }
  /** Bit per segment register that is flat read/write data: base 0, limit 4 GiB. */
  get flatSegs(): number { return this.s[Reg.FLAT_SEGS]; }
  /** Bits B0-B3 of the data breakpoints hit by the current instruction. */
  get dataHits(): number { return this.s[Reg.DATA_HITS]; }
  set dataHits(bits: number) { this.s[Reg.DATA_HITS] = bits; }
  get readNeed(): number { return this.s[Reg.READ_NEED]; }
  get writeNeed(): number { return this.s[Reg.WRITE_NEED]; }

  /** Told of every page walk while set (`vmxlab trace --walks`); the hot loop then leaves its walks to this core. */
  get walkObserver(): WalkObserver | null { return this.observer; }
  set walkObserver(o: WalkObserver | null) {
    this.observer = o;
    this.hot.observedWalks = o !== null;
    this.observedWalksChanged(o !== null);
  }

  /** For an engine whose loop has views of its own (the wasm engine's: Core). */
  protected observedWalksChanged(on: boolean): void {}

  /** Page walks made (each is a TLB miss) and the paging-structure references they read. */
  get pageWalks(): number { return this.counts[Event.TLB_MISS]; }
  get walkReferences(): number { return this.counts[Event.WALK_REFERENCE]; }

  /** Recomputes the mirrors after CR0, CR4, DR7, CPL or CS.D change. */
  syncMode(): void {
    const s = this.s;
    s[Reg.PAGING] = (s[Reg.CR0] & Cr0.PG) !== 0 ? 1 : 0;
    const dr7 = s[Reg.DR0 + 7];
    // Most guests enable no breakpoint at all: one test instead of the call (same answer).
    s[Reg.WATCHING] = (dr7 & 0xff) !== 0 && dataBreakpointsArmed(dr7) ? 1 : 0;
    syncCodeMirrors(s);
  }

  // --- Segmentation (SDM 3A 5.3: limit checks; 3.4.5.1: expand-down) -------------------

  /** Linear address of a read of `size` bytes at seg:off, or a #GP/#SS fault. */
  segRead(seg: number, off: number, size: number): number {
    const s = this.s;
    const acc = s[Reg.SEG_ACCESS + seg];
    if ((acc & (SegAccess.READ | SegAccess.EXPAND_DOWN)) === SegAccess.READ &&
        (off >>> 0) + size - 1 <= (s[Reg.SEG_LIMIT + seg] >>> 0)) {
      return (s[Reg.SEG_BASE + seg] + off) | 0;
    }
    return this.segSlow(seg, off, size, SegAccess.READ);
  }

  segWrite(seg: number, off: number, size: number): number {
    const s = this.s;
    const acc = s[Reg.SEG_ACCESS + seg];
    if ((acc & (SegAccess.WRITE | SegAccess.EXPAND_DOWN)) === SegAccess.WRITE &&
        (off >>> 0) + size - 1 <= (s[Reg.SEG_LIMIT + seg] >>> 0)) {
      return (s[Reg.SEG_BASE + seg] + off) | 0;
    }
    return this.segSlow(seg, off, size, SegAccess.WRITE);
  }

  private segSlow(seg: number, off: number, size: number, need: number): number {
    const s = this.s;
    const acc = s[Reg.SEG_ACCESS + seg];
    const vector = seg === 2 ? Vector.SS : Vector.GP;
    if ((acc & need) === 0) throw fault(s, vector, 0, true);
    const first = off >>> 0, last = first + size - 1;
    const limit = s[Reg.SEG_LIMIT + seg] >>> 0;
    if (acc & SegAccess.EXPAND_DOWN) {
      // Valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF (SDM 3A 3.4.5.1).
      const top = acc & SegAccess.BIG ? 0xffffffff : 0xffff;
      if (first <= limit || last > top) throw fault(s, vector, 0, true);
    } else if (last > limit) {
      throw fault(s, vector, 0, true);
    }
    return (s[Reg.SEG_BASE + seg] + off) | 0;
  }

  // --- Paging ------------------------------------------------------------------------------

  /** Physical address for a data read at `lin` with the current privilege. */
  xlateRead(lin: number): number {
    const s = this.s;
    if (s[Reg.PAGING] === 0) return lin;
    const e = this.tlb[lin >>> 12], need = s[Reg.READ_NEED];
    if ((e & need) === need) { this.dataTlbHit(lin >>> 12); return (e & ~0xfff) | (lin & 0xfff); }
    return this.walk(lin, Access.READ, s[Reg.CPL] === 3);
  }

  xlateWrite(lin: number): number {
    const s = this.s;
    if (s[Reg.PAGING] === 0) return lin;
    const e = this.tlb[lin >>> 12], need = s[Reg.WRITE_NEED];
    if ((e & need) === need) { this.dataTlbHit(lin >>> 12); return (e & ~0xfff) | (lin & 0xfff); }
    return this.walk(lin, Access.WRITE, s[Reg.CPL] === 3);
  }

  /** Instruction fetch translation: the hot loop asks only when execution enters a new page. */
  xlateFetch(lin: number): number {
    const s = this.s;
    if (s[Reg.PAGING] === 0) return lin;
    const e = this.itlbMap[lin >>> 12], need = s[Reg.READ_NEED];
    if ((e & need) === need) { this.itlb.hit(lin >>> 12); return (e & ~0xfff) | (lin & 0xfff); }
    return this.walk(lin, Access.FETCH, s[Reg.CPL] === 3);
  }

  /**
   * xlateRead() or xlateWrite() for the hot loop's host entries (Core.load32, store32): a
   * #PF sets Reg.HOT_FAULTED, which the loop tests after the call, and returns 0 instead
   * of throwing (see tryWalk()). The same TLB hits, walks and fault as the other two.
   */
  xlateDataOrFlag(lin: number, write: boolean): number {
    const s = this.s;
    if (s[Reg.PAGING] === 0) return lin;
    const e = this.tlb[lin >>> 12], need = write ? s[Reg.WRITE_NEED] : s[Reg.READ_NEED];
    if ((e & need) === need) { this.dataTlbHit(lin >>> 12); return (e & ~0xfff) | (lin & 0xfff); }
    return this.tryWalk(lin, write ? Access.WRITE : Access.READ, s[Reg.CPL] === 3);
  }

  /** Translation for implicit supervisor accesses (descriptor tables, TSS: SDM 3A 4.6). */
  xlateSystem(lin: number, write: boolean): number {
    if (this.s[Reg.PAGING] === 0) return lin;
    const e = this.tlb[lin >>> 12];
    const need = write ? Tlb.VALID | Tlb.SUP_WRITE | Tlb.DIRTY : Tlb.VALID;
    if ((e & need) === need) { this.dataTlbHit(lin >>> 12); return (e & ~0xfff) | (lin & 0xfff); }
    return this.walk(lin, write ? Access.WRITE : Access.READ, false);
  }

  /**
   * The page walk (core/pageWalk.ts: SDM 3A 4.3, 4.6, 4.8): checks rights, sets accessed and
   * dirty bits, fills the TLB, or raises #PF with CR2 and the error code.
   */
  walk(lin: number, access: Access, user: boolean): number {
    const p = this.tryWalk(lin, access, user);
    if (this.s[Reg.HOT_FAULTED] !== 0) { this.s[Reg.HOT_FAULTED] = 0; throw FAULT; }
    return p;
  }

  /**
   * walk() without the throw: a #PF is recorded and flagged in Reg.HOT_FAULTED (returning
   * 0). The host entries of the hot loop use it and leave the flag for the loop, because a
   * thrown exception costs V8 about half a microsecond (a message object and a stack
   * walk), more than the rest of the walk.
   */
  protected tryWalk(lin: number, access: Access, user: boolean): number {
    attachMemory(this);
    const h = this.hot;
    const p = pageWalk(h, lin, access, user, 0);
    if (this.observer !== null) {
      const faulted = this.s[Reg.HOT_FAULTED] !== 0;
      // The references as unsigned numbers (level, address, value), as WalkObserver has them.
      const refs = Array.from(h.walkRefs.subarray(1, 1 + 3 * h.walkRefs[0]), (v) => v >>> 0);
      this.observer.pageWalk(lin, access, user, refs, h.walkRefs[0], faulted ? 0 : p, faulted ? this.s[Reg.EXIT_ERROR] : -1);
    }
    return p;
  }

  /**
   * Flushes both TLBs; global entries survive unless `all` (SDM 3A 4.10.4.1: a CR3 write
   * keeps global pages, a CR0.PG/CR4.PGE change drops everything).
   */
  flushTlb(all: boolean, cause: FlushCause = all ? FlushCause.MODE : FlushCause.CR3): void {
    this.dtlb.flush(!all, cause, this.tlb);
    this.itlb.flush(!all, cause, this.itlbMap);
  }

  /** INVLPG: the page leaves both TLBs, global or not (SDM 2A INVLPG). */
  invalidatePage(lin: number): void {
    this.dtlb.invalidate(lin >>> 12, FlushCause.INVLPG, this.tlb);
    this.itlb.invalidate(lin >>> 12, FlushCause.INVLPG, this.itlbMap);
  }

  /** Sends every store to the 4 KiB pages of [first, first + bytes) to `watcher`. */
  watchWrites(first: number, bytes: number, watcher: WriteWatcher): void {
    this.writeWatcher = watcher;
    for (let page = first >>> 12; page <= (first + bytes - 1) >>> 12; page++) {
      this.watchedPages.push(page);
      this.codePages[page] |= CodePage.WATCHED;
    }
  }

  // --- Physical accesses ---------------------------------------------------------------

  /**
   * An access beyond RAM: a device register, or nothing (all ones). Each is an mmio.access
   * event. The device sees the cycle count up to and including this instruction, and a
   * store a device took ends the hot loop's slice after it, so the run loop sees what the
   * store started (a doorbell, a timer programmed) at once; a store to no device starts
   * nothing (a kernel sizing memory writes there in a loop).
   */
  private mmioRead(p: number, size: number): number {
    this.counts[Event.MMIO_ACCESS]++;
    this.foldRetirements();
    return this.bus ? this.bus.read(p >>> 0, size) : -1;
  }
  private mmioWrite(p: number, size: number, v: number): void {
    this.counts[Event.MMIO_ACCESS]++;
    this.foldRetirements();
    if (this.bus !== null && this.bus.write(p >>> 0, size, v)) this.s[Reg.ATTENTION] = 1;
  }

  /**
   * Moves the hot loop's int32 retirement counts into the event counters, so that the
   * cycle count is exact now. A count may go negative afterwards (an instruction taken
   * back after a fault); the next fold carries that too.
   */
  foldRetirements(): void {
    const r = this.retireCounts, n = INSTRUCTION_COUNTERS;
    // This runs after every exit of the hot loop, and most slots are zero: test eight at a
    // time (one OR, one branch; a slot-by-slot scan cost more than the rest of an exit).
    let i = 0;
    for (; i + 8 <= n; i += 8) {
      if ((r[i] | r[i + 1] | r[i + 2] | r[i + 3] | r[i + 4] | r[i + 5] | r[i + 6] | r[i + 7]) !== 0) this.foldRetireSlots(i, i + 8);
    }
    if (i < n) this.foldRetireSlots(i, n);
    this.dtlb.foldHits();
    this.itlb.foldHits();
  }

  private foldRetireSlots(from: number, to: number): void {
    const r = this.retireCounts, c = this.counts;
    for (let i = from; i < to; i++) {
      const v = r[i];
      if (v !== 0) { c[i] += v; r[i] = 0; }
    }
  }

  physRead8(p: number): number {
    if ((p >>> 0) < this.ramBytes) return this.ram[p];
    return this.mmioRead(p, 1) & 0xff;
  }
  physRead16(p: number): number {
    if ((p >>> 0) + 1 < this.ramBytes) return this.view.getUint16(p, true);
    if ((p >>> 0) >= this.ramBytes) return this.mmioRead(p, 2) & 0xffff;
    return this.physRead8(p) | (this.physRead8(p + 1) << 8);
  }
  physRead32(p: number): number {
    if ((p >>> 0) + 3 < this.ramBytes) return this.view.getInt32(p, true);
    if ((p >>> 0) >= this.ramBytes) return this.mmioRead(p, 4) | 0;
    return this.physRead16(p) | (this.physRead16(p + 2) << 16);
  }
  physWrite8(p: number, v: number): void {
    if ((p >>> 0) < this.ramBytes) {
      this.ram[p] = v;
      if (this.codePages[p >>> 12] !== 0) this.invalidateCode(p, 1);
    } else this.mmioWrite(p, 1, v & 0xff);
  }
  physWrite16(p: number, v: number): void {
    if ((p >>> 0) + 1 < this.ramBytes) {
      this.view.setUint16(p, v, true);
      if (this.codePages[p >>> 12] !== 0) this.invalidateCode(p, 2);
    } else if ((p >>> 0) >= this.ramBytes) this.mmioWrite(p, 2, v & 0xffff);
    else { this.physWrite8(p, v); this.physWrite8(p + 1, v >> 8); }
  }
  physWrite32(p: number, v: number): void {
    if ((p >>> 0) + 3 < this.ramBytes) {
      this.view.setInt32(p, v, true);
      if (this.codePages[p >>> 12] !== 0) this.invalidateCode(p, 4);
    } else if ((p >>> 0) >= this.ramBytes) this.mmioWrite(p, 4, v);
    else { this.physWrite16(p, v); this.physWrite16(p + 2, v >> 16); }
  }

  /**
   * Drops cached decodes that overlap a written range: any instruction starting up to 14
   * bytes before it may include the written bytes (SDM 2A 2.3.11: 15-byte maximum). The
   * loop's marks that no block starts at those instructions go too (core/blockSkip.ts), so
   * rewritten code gets its chance to become a block at once.
   */
  invalidateCode(p: number, size: number): void {
    if ((this.codePages[p >>> 12] & CodePage.WATCHED) !== 0 && this.writeWatcher !== null && this.writeWatcher.written(p, size)) this.s[Reg.ATTENTION] = 1;
    // An instruction starting up to 14 bytes before the range may lie in the page before.
    this.codeGen[(p - 14) >>> 12]++;
    this.codeGen[(p + size - 1) >>> 12]++;
    const d = this.decoded;
    for (let a = p - 14; a < p + size; a++) {
      const at = (a & (DECODE_SLOTS - 1)) * DECODE_WORDS;
      if ((d[at] & 0x7fffffff) === (a & 0x7fffffff) && d[at] !== -1) d[at] = -1;
      forgetBlockless(this.hot, a);
    }
  }

  // --- Linear accesses (segmentation already applied) -------------------------------------

  /** Records data breakpoints (SDM 3A 17.2.4-17.2.5) that an access of `size` bytes hits. */
  watchAccess(lin: number, size: number, write: boolean): void {
    const s = this.s;
    const dr7 = s[Reg.DR0 + 7];
    for (let i = 0; i < 4; i++) {
      if (((dr7 >> (i * 2)) & 3) === 0) continue;
      const rw = (dr7 >>> (16 + i * 4)) & 3;
      if (rw === 0 || rw === 2 || (rw === 1 && !write)) continue; // execute, I/O, write-only
      const bytes = BREAKPOINT_BYTES[(dr7 >>> (18 + i * 4)) & 3];
      const addr = (s[Reg.DR0 + i] & ~(bytes - 1)) >>> 0;
      const first = lin >>> 0;
      if (first < addr + bytes && first + size > addr) s[Reg.DATA_HITS] |= 1 << i;
    }
  }

  rd8(lin: number): number {
    if (this.s[Reg.WATCHING] !== 0) this.watchAccess(lin, 1, false);
    return this.physRead8(this.xlateRead(lin));
  }
  rd16(lin: number): number {
    if (this.s[Reg.WATCHING] !== 0) this.watchAccess(lin, 2, false);
    if ((lin & 0xfff) === 0xfff) return this.rd8(lin) | (this.rd8(lin + 1) << 8);
    const p = this.xlateRead(lin);
    if ((p >>> 0) + 1 < this.ramBytes) return this.view.getUint16(p, true);
    return this.physRead16(p);
  }
  rd32(lin: number): number {
    if (this.s[Reg.WATCHING] !== 0) this.watchAccess(lin, 4, false);
    if ((lin & 0xfff) > 0xffc) return this.rd16(lin) | (this.rd16(lin + 2) << 16);
    const p = this.xlateRead(lin);
    if ((p >>> 0) + 3 < this.ramBytes) return this.view.getInt32(p, true);
    return this.physRead32(p);
  }
  wr8(lin: number, v: number): void {
    if (this.s[Reg.WATCHING] !== 0) this.watchAccess(lin, 1, true);
    this.physWrite8(this.xlateWrite(lin), v);
  }
  wr16(lin: number, v: number): void {
    if (this.s[Reg.WATCHING] !== 0) this.watchAccess(lin, 2, true);
    if ((lin & 0xfff) === 0xfff) {
      // Check both pages before writing either byte, so a fault leaves memory unchanged.
      this.xlateWrite(lin + 1);
      this.wr8(lin, v); this.wr8(lin + 1, v >> 8);
      return;
    }
    this.physWrite16(this.xlateWrite(lin), v);
  }
  wr32(lin: number, v: number): void {
    if (this.s[Reg.WATCHING] !== 0) this.watchAccess(lin, 4, true);
    if ((lin & 0xfff) > 0xffc) {
      this.xlateWrite(lin); this.xlateWrite(lin + 3);
      this.wr16(lin, v); this.wr16(lin + 2, v >> 16);
      return;
    }
    const p = this.xlateWrite(lin);
    if ((p >>> 0) + 3 < this.ramBytes) {
      this.view.setInt32(p, v, true);
      if (this.codePages[p >>> 12] !== 0) this.invalidateCode(p, 4);
    } else this.physWrite32(p, v);
  }

  /** Reads or writes `size` (1, 2, 4) bytes at a linear address. */
  rd(lin: number, size: number): number {
    return size === 4 ? this.rd32(lin) : size === 2 ? this.rd16(lin) : this.rd8(lin);
  }
  wr(lin: number, size: number, v: number): void {
    if (size === 4) this.wr32(lin, v); else if (size === 2) this.wr16(lin, v); else this.wr8(lin, v);
  }

  /** Implicit supervisor-mode accesses for descriptor tables and the TSS. */
  // A word or dword inside one page is one translation, as on hardware; one that crosses a
  // page is done a byte at a time, each byte through its own page.
  sysRead8(lin: number): number { return this.physRead8(this.xlateSystem(lin, false)); }
  sysRead16(lin: number): number {
    if ((lin & 0xfff) !== 0xfff) return this.physRead16(this.xlateSystem(lin, false));
    return this.sysRead8(lin) | (this.sysRead8(lin + 1) << 8);
  }
  sysRead32(lin: number): number {
    if ((lin & 0xfff) <= 0xffc) return this.physRead32(this.xlateSystem(lin, false));
    return this.sysRead16(lin) | (this.sysRead16(lin + 2) << 16);
  }
  /**
   * What sysReadPair() read at lin + 4 (or lin + 2): read by its caller at once, never
   * across instructions, so not part of the flat state.
   */
  pairHigh = 0;

  /**
   * dtlb.hit(page): the same tlbHit() on the same words (the ones the constructor gave the
   * model) and views, without loading them through the model object on every access.
   */
  private dataTlbHit(page: number): void {
    tlbHit(this.s, Reg.DTLB_LAST_HIT, this.dtlbViews, page);
  }

  /**
   * repeatTlbHits(n) on the state array's words for the data TLB (the ones the
   * constructor gave it) rather than through the model object: on the event paths that
   * chain of loads cost more than the add.
   */
  protected repeatDataHits(n: number): void {
    repeatTlbHits(this.s, Reg.DTLB_LAST_HIT, n);
  }

  /**
   * Two implicit supervisor reads in a row, at `lin` (32 bits) and right after it (32 or
   * 16 bits: `highSize`), as sysRead32 then sysRead32/16 make them: the same TLB hits,
   * walk and faults, with one translation when both lie in one page. Returns the first;
   * the second is in pairHigh. For descriptors, gates and the TSS stack pointers.
   */
  sysReadPair(lin: number, highSize: number): number {
    const s = this.s;
    if ((lin & 0xfff) > 0xff8) {
      const lo = this.sysRead32(lin);
      this.pairHigh = highSize === 4 ? this.sysRead32((lin + 4) | 0) : this.sysRead16((lin + 4) | 0);
      return lo;
    }
    const p = this.xlateSystem(lin, false);
    // The second read would hit the entry the first one found or made.
    if (s[Reg.PAGING] !== 0) this.repeatDataHits(1);
    if ((p >>> 0) + 7 < this.ramBytes) {
      // Both in RAM: no device sees the reads, so their order does not matter.
      const view = this.view;
      this.pairHigh = highSize === 4 ? view.getInt32(p + 4, true) : view.getUint16(p + 4, true);
      return view.getInt32(p, true);
    }
    const lo = this.physRead32(p);
    this.pairHigh = highSize === 4 ? this.physRead32((p + 4) | 0) : this.physRead16((p + 4) | 0);
    return lo;
  }

  sysWrite8(lin: number, v: number): void { this.physWrite8(this.xlateSystem(lin, true), v); }
  sysWrite16(lin: number, v: number): void {
    if ((lin & 0xfff) !== 0xfff) { this.physWrite16(this.xlateSystem(lin, true), v); return; }
    this.sysWrite8(lin, v); this.sysWrite8(lin + 1, v >> 8);
  }
  sysWrite32(lin: number, v: number): void {
    if ((lin & 0xfff) <= 0xffc) { this.physWrite32(this.xlateSystem(lin, true), v); return; }
    this.sysWrite16(lin, v); this.sysWrite16(lin + 2, v >> 16);
  }
}

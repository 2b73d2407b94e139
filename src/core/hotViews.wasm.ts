// The wasm build's twin of hotViews.ts (tools/build-wasm.mjs reads it in place of it). The
// engine keeps the flat state at WASM_FLAT_BASE (state/layout.ts) in its linear memory, so
// every view of it is a constant address: after inlining, `h.s[Reg.EIP]` is one load at a
// constant offset, with no load of the view's address from this object first (V8 repeats
// such a load after every store to memory, which it cannot tell apart from the object).
// Only what is not in the flat state is a field, set at allocation (assembly/index.ts).
import {
  WASM_FLAT_BASE, DECODE_OFFSET, RAM_OFFSET, DTLB_MAP_OFFSET, ITLB_MAP_OFFSET, DTLB_MODEL_OFFSET, ITLB_MODEL_OFFSET,
  CODE_PAGE_OFFSET, WIDE_OFFSET, COUNTER_OFFSET, VECTOR_EVENTS_OFFSET,
} from "../state/layout.js";
import { Words, Bytes, Doubles } from "../state/flatViews.js";
import { TlbHitViews } from "./tlbHitViews.js";

/** What ramRead32/ramWrite32 take as their DataView, which the wasm build ignores (flatViews.wasm.ts). */
const NO_VIEW = changetype<DataView>(0);

export class HotViews {
  /** State words (Reg). */
  // @ts-ignore: asc decorator
  @inline get s(): Words { return changetype<Words>(<usize>WASM_FLAT_BASE); }
  /** Decode cache and retirement counters. */
  // @ts-ignore: asc decorator
  @inline get d(): Words { return changetype<Words>(<usize>(WASM_FLAT_BASE + DECODE_OFFSET)); }
  /** Guest RAM as bytes and as words (wasm loads may be unaligned). */
  // @ts-ignore: asc decorator
  @inline get ram(): Bytes { return changetype<Bytes>(<usize>(WASM_FLAT_BASE + RAM_OFFSET)); }
  // @ts-ignore: asc decorator
  @inline get ram32(): Words { return changetype<Words>(<usize>(WASM_FLAT_BASE + RAM_OFFSET)); }
  // @ts-ignore: asc decorator
  @inline get view(): DataView { return NO_VIEW; }
  /** Direct maps of the data and instruction TLBs. */
  // @ts-ignore: asc decorator
  @inline get tlb(): Words { return changetype<Words>(<usize>(WASM_FLAT_BASE + DTLB_MAP_OFFSET)); }
  // @ts-ignore: asc decorator
  @inline get itlbMap(): Words { return changetype<Words>(<usize>(WASM_FLAT_BASE + ITLB_MAP_OFFSET)); }
  /** The TLB models (a TlbHitViews is its model's address: tlbHitViews.wasm.ts). */
  // @ts-ignore: asc decorator
  @inline get dtlb(): TlbHitViews { return changetype<TlbHitViews>(<usize>(WASM_FLAT_BASE + DTLB_MODEL_OFFSET)); }
  // @ts-ignore: asc decorator
  @inline get itlb(): TlbHitViews { return changetype<TlbHitViews>(<usize>(WASM_FLAT_BASE + ITLB_MODEL_OFFSET)); }
  /** CodePage bits per physical page. */
  // @ts-ignore: asc decorator
  @inline get codePages(): Bytes { return changetype<Bytes>(<usize>(WASM_FLAT_BASE + CODE_PAGE_OFFSET)); }
  /** The run's float64 counters (Wide), the event counters and events by vector. */
  // @ts-ignore: asc decorator
  @inline get wide(): Doubles { return changetype<Doubles>(<usize>(WASM_FLAT_BASE + WIDE_OFFSET)); }
  // @ts-ignore: asc decorator
  @inline get counts(): Doubles { return changetype<Doubles>(<usize>(WASM_FLAT_BASE + COUNTER_OFFSET)); }
  // @ts-ignore: asc decorator
  @inline get vectorEvents(): Doubles { return changetype<Doubles>(<usize>(WASM_FLAT_BASE + VECTOR_EVENTS_OFFSET)); }

  // The rest is as hotViews.ts describes it.
  constructor(
    public ramBytes: i32,
    public blocks: bool,
    public loopHeadsOnly: bool,
    public blockSkip: Words,
    public slice: Doubles,
    public walkRefs: Words,
    public observedWalks: bool,
  ) {}
}

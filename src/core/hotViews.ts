// Portable (docs/engine-decision.md): the views of one flat state (state/layout.ts) that
// the hot loop and the code it runs inline read and write. Each engine builds one over
// the same layout: the TS Core over its ArrayBuffer; the wasm build reads hotViews.wasm.ts
// instead, where the flat state lies at a fixed address and each view is a constant.

import { Words, Bytes, Doubles } from "../state/flatViews.js";
import { TlbHitViews } from "./tlbHitViews.js";

/** The views of one flat state the loop works on (each engine builds its own over the same layout). */
export class HotViews {
  constructor(
    /** State words (Reg). */
    public s: Words,
    /** Decode cache and retirement counters (state/layout.ts DECODE_OFFSET). */
    public d: Words,
    /** Guest RAM as bytes, as little-endian words (aligned) and as a DataView (unaligned). */
    public ram: Bytes,
    public ram32: Words,
    public view: DataView,
    /** Direct maps of the data and instruction TLBs: frame | permission bits per linear page. */
    public tlb: Words,
    public itlbMap: Words,
    /** What a hit touches in each TLB model. */
    public dtlb: TlbHitViews,
    public itlb: TlbHitViews,
    /** CodePage bits per physical page. */
    public codePages: Bytes,
    /** The run's float64 counters (Wide). */
    public wide: Doubles,
    /** The event counters (cost/eventCounter.ts), and events by vector (Cpu.eventsByVector), float64. */
    public counts: Doubles,
    public vectorEvents: Doubles,
    public ramBytes: i32,
    /** The host runs compiled blocks at branch targets (hostRunBlock). */
    public blocks: bool,
    /**
     * Its blocks are loops only (the wasm engine's: blockCompiler.ts loopsOnly), so only a
     * branch back, to a loop's head, is worth the call (each is a wasm-to-JavaScript crossing).
     */
    public loopHeadsOnly: bool,
    /**
     * Per block slot, two words: a branch target known to start no block (physical address
     * + 1, BlockCache.run writes it) and how many more arrivals there pass by without asking
     * the host (hostRunBlock: for the wasm engine, a call into JavaScript). Not guest state.
     */
    public blockSkip: Words,
    /** How the run loop is cutting the current run (core/sliceRule.ts SliceWord). Not guest state. */
    public slice: Doubles,
    /** What the last page walk read (core/pageWalk.ts), while observedWalks. */
    public walkRefs: Words,
    /**
     * A walk observer listens (CoreMemory.walkObserver), which only the host can call:
     * walks record their references, and the loop leaves its walks to the host.
     */
    public observedWalks: bool,
  ) {}
}

// Portable (docs/engine-decision.md): the views of one TLB model (state/layout.ts
// TlbModelLayout) that a hit, a fill and an INVLPG touch (core/tlbHit.ts). The wasm build
// reads tlbHitViews.wasm.ts instead, where the views are computed from the model's address.

import { Words, Bytes, Halves, Doubles } from "../state/flatViews.js";

/** The flat-state views of one TLB model (state/layout.ts TlbModelLayout). */
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
    /** The VPID each entry was filled under, and whether it is global. */
    public vpid: Words,
    public global: Bytes,
  ) {}
}

// The wasm build's twin of tlbHitViews.ts (tools/build-wasm.mjs reads it in place of it):
// a TlbHitViews is the byte address of its model (state/layout.ts TlbModelLayout), never
// allocated, and each view is that address plus the view's offset. The engine's models sit
// at fixed addresses (hotViews.wasm.ts), so the views become constants in the loop: no
// load of a view's address from an object, which V8 would repeat after every store.
import { TlbModelLayout } from "../state/layout.js";
import { Words, Bytes, Halves, Doubles } from "../state/flatViews.js";

export class TlbHitViews {
  /** Header as float64 (CLOCK, counters) and as int32 (POLICY, geometry). */
  // @ts-ignore: asc decorator
  @inline get f(): Doubles { return changetype<Doubles>(changetype<usize>(this)); }
  // @ts-ignore: asc decorator
  @inline get w(): Words { return changetype<Words>(changetype<usize>(this)); }
  /** Last use of each entry. */
  // @ts-ignore: asc decorator
  @inline get stamp(): Doubles { return changetype<Doubles>(changetype<usize>(this) + TlbModelLayout.STAMP); }
  /** Entry holding each linear page. */
  // @ts-ignore: asc decorator
  @inline get slotOf(): Halves { return changetype<Halves>(changetype<usize>(this) + TlbModelLayout.SLOT_OF); }
  /** Linear page + 1 held by each entry, 0 when empty. */
  // @ts-ignore: asc decorator
  @inline get page(): Words { return changetype<Words>(changetype<usize>(this) + TlbModelLayout.PAGE); }
  /** The VPID each entry was filled under, and whether it is global. */
  // @ts-ignore: asc decorator
  @inline get vpid(): Words { return changetype<Words>(changetype<usize>(this) + TlbModelLayout.VPID); }
  // @ts-ignore: asc decorator
  @inline get global(): Bytes { return changetype<Bytes>(changetype<usize>(this) + TlbModelLayout.GLOBAL); }
}

// Lazy arithmetic flags as methods of the core. The semantics live in lazyFlags.ts,
// which is written in the portable subset so the wasm build compiles the same source
// (docs/engine-decision.md); these methods only pass the flat state along.

import { CoreMemory } from "./memory.js";
import { Lazy, PARITY, setLazy, lazyCf, lazyZf, lazySf, lazyPf, lazyAf, lazyOf, lazyEflags, writeEflags, lazyCond, setArithFlags, setLazyKeepCarry } from "./lazyFlags.js";

export { Lazy, PARITY, sizeMask } from "./lazyFlags.js";

export class CoreFlags extends CoreMemory {
  /** Records a flag-setting operation; dst, src and res are already masked to size. */
  setLazy(op: Lazy, size: number, dst: number, src: number, res: number): void {
    setLazy(this.s, op, size, dst, src, res);
  }

  /** INC and DEC keep CF: fold the current CF into EFLAGS before recording them. */
  setLazyKeepCarry(op: Lazy, size: number, dst: number, res: number): void { setLazyKeepCarry(this.s, op, size, dst, res); }

  cf(): number { return lazyCf(this.s); }
  zf(): number { return lazyZf(this.s); }
  sf(): number { return lazySf(this.s); }
  pf(): number { return lazyPf(this.s); }
  af(): number { return lazyAf(this.s); }
  of(): number { return lazyOf(this.s); }

  /** The architectural EFLAGS value (bit 1 reads as 1: SDM 1 3.4.3). */
  getEflags(): number { return lazyEflags(this.s); }
  /** Replaces EFLAGS wholesale; the caller has applied the privilege rules. */
  setEflags(v: number): void { writeEflags(this.s, v); }
  /** Materialises the lazy flags, then sets or clears selected arithmetic bits. */
  setArithFlags(mask: number, bits: number): void { setArithFlags(this.s, mask, bits); }

  /** Evaluates condition code `c` (SDM 2A B.1.4.7), with fast paths after CMP/SUB. */
  cond(c: number): boolean { return lazyCond(this.s, c); }

  parity(v: number): number {
    return PARITY[v & 0xff];
  }
}

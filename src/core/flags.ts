// Lazy arithmetic flags. An arithmetic instruction records its operation, operands and
// result; OF SF ZF AF PF CF are computed only when something reads them (Jcc, PUSHF,
// ADC...). Results are stored masked to the operand size. SDM 1 3.4.3.1 and appendix A.

import { Reg, Flag } from "../state/layout.js";
import { CoreMemory } from "./memory.js";

export const enum Lazy { NONE = 0, ADD = 1, ADC = 2, SUB = 3, SBB = 4, LOGIC = 5, INC = 6, DEC = 7 }

/** PARITY[b] = PF for a result whose low byte is b (even number of set bits). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let v = i; v !== 0; v >>= 1) bits += v & 1;
  PARITY[i] = (bits & 1) === 0 ? 1 : 0;
}

/** Mask of an operand of `size` bytes. */
export function sizeMask(size: number): number {
  return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
}

export class CoreFlags extends CoreMemory {
  /** Records a flag-setting operation; dst, src and res are already masked to size. */
  setLazy(op: Lazy, size: number, dst: number, src: number, res: number): void {
    const s = this.s;
    s[Reg.LAZY_OP] = op;
    s[Reg.LAZY_SIZE] = size;
    s[Reg.LAZY_DST] = dst;
    s[Reg.LAZY_SRC] = src;
    s[Reg.LAZY_RES] = res;
  }

  /** INC and DEC keep CF: fold the current CF into EFLAGS before recording them. */
  setLazyKeepCarry(op: Lazy, size: number, dst: number, res: number): void {
    const s = this.s;
    const cf = this.cf();
    s[Reg.EFLAGS] = (s[Reg.EFLAGS] & ~Flag.CF) | cf;
    this.setLazy(op, size, dst, 1, res);
  }

  cf(): number {
    const s = this.s;
    switch (s[Reg.LAZY_OP]) {
      case Lazy.ADD: return (s[Reg.LAZY_RES] >>> 0) < (s[Reg.LAZY_DST] >>> 0) ? 1 : 0;
      case Lazy.ADC: return (s[Reg.LAZY_RES] >>> 0) <= (s[Reg.LAZY_DST] >>> 0) ? 1 : 0;
      case Lazy.SUB: return (s[Reg.LAZY_DST] >>> 0) < (s[Reg.LAZY_SRC] >>> 0) ? 1 : 0;
      case Lazy.SBB: return (s[Reg.LAZY_DST] >>> 0) <= (s[Reg.LAZY_SRC] >>> 0) ? 1 : 0;
      case Lazy.LOGIC: return 0;
      default: return s[Reg.EFLAGS] & Flag.CF;
    }
  }
  zf(): number {
    const s = this.s;
    return s[Reg.LAZY_OP] === Lazy.NONE ? (s[Reg.EFLAGS] >> 6) & 1 : s[Reg.LAZY_RES] === 0 ? 1 : 0;
  }
  sf(): number {
    const s = this.s;
    return s[Reg.LAZY_OP] === Lazy.NONE ? (s[Reg.EFLAGS] >> 7) & 1 : (s[Reg.LAZY_RES] >>> (s[Reg.LAZY_SIZE] * 8 - 1)) & 1;
  }
  pf(): number {
    const s = this.s;
    return s[Reg.LAZY_OP] === Lazy.NONE ? (s[Reg.EFLAGS] >> 2) & 1 : PARITY[s[Reg.LAZY_RES] & 0xff];
  }
  af(): number {
    const s = this.s;
    const op = s[Reg.LAZY_OP];
    if (op === Lazy.NONE) return (s[Reg.EFLAGS] >> 4) & 1;
    if (op === Lazy.LOGIC) return 0;
    return ((s[Reg.LAZY_DST] ^ s[Reg.LAZY_SRC] ^ s[Reg.LAZY_RES]) >> 4) & 1;
  }
  of(): number {
    const s = this.s;
    const op = s[Reg.LAZY_OP];
    const top = s[Reg.LAZY_SIZE] * 8 - 1;
    const d = s[Reg.LAZY_DST], x = s[Reg.LAZY_SRC], r = s[Reg.LAZY_RES];
    switch (op) {
      case Lazy.ADD: case Lazy.ADC: case Lazy.INC: return (((d ^ r) & (x ^ r)) >>> top) & 1;
      case Lazy.SUB: case Lazy.SBB: case Lazy.DEC: return (((d ^ x) & (d ^ r)) >>> top) & 1;
      case Lazy.LOGIC: return 0;
      default: return (s[Reg.EFLAGS] >> 11) & 1;
    }
  }

  /** The architectural EFLAGS value (bit 1 reads as 1: SDM 1 3.4.3). */
  getEflags(): number {
    const s = this.s;
    if (s[Reg.LAZY_OP] === Lazy.NONE) return s[Reg.EFLAGS] | 2;
    return (s[Reg.EFLAGS] & ~Flag.ARITH) | 2 | this.cf() | (this.pf() << 2) | (this.af() << 4) |
      (this.zf() << 6) | (this.sf() << 7) | (this.of() << 11);
  }
  /** Replaces EFLAGS wholesale; the caller has applied the privilege rules. */
  setEflags(v: number): void {
    const s = this.s;
    s[Reg.EFLAGS] = (v & ~0x8028) | 2; // bits 3, 5, 15 read as 0, bit 1 as 1
    s[Reg.LAZY_OP] = Lazy.NONE;
  }
  /** Materialises the lazy flags, then sets or clears selected arithmetic bits. */
  setArithFlags(mask: number, bits: number): void {
    const v = this.getEflags();
    this.setEflags((v & ~mask) | (bits & mask));
  }

  /** Evaluates condition code `c` (SDM 2A B.1.4.7), with fast paths after CMP/SUB. */
  cond(c: number): boolean {
    const s = this.s;
    if (s[Reg.LAZY_OP] === Lazy.SUB) {
      const d = s[Reg.LAZY_DST], x = s[Reg.LAZY_SRC];
      const sh = 32 - s[Reg.LAZY_SIZE] * 8;
      switch (c) {
        case 2: return (d >>> 0) < (x >>> 0);
        case 3: return (d >>> 0) >= (x >>> 0);
        case 4: return d === x;
        case 5: return d !== x;
        case 6: return (d >>> 0) <= (x >>> 0);
        case 7: return (d >>> 0) > (x >>> 0);
        case 12: return (d << sh) >> sh < (x << sh) >> sh;
        case 13: return (d << sh) >> sh >= (x << sh) >> sh;
        case 14: return (d << sh) >> sh <= (x << sh) >> sh;
        case 15: return (d << sh) >> sh > (x << sh) >> sh;
      }
    }
    let r: boolean;
    switch (c >> 1) {
      case 0: r = this.of() !== 0; break;
      case 1: r = this.cf() !== 0; break;
      case 2: r = this.zf() !== 0; break;
      case 3: r = (this.cf() | this.zf()) !== 0; break;
      case 4: r = this.sf() !== 0; break;
      case 5: r = this.pf() !== 0; break;
      case 6: r = this.sf() !== this.of(); break;
      default: r = this.zf() !== 0 || this.sf() !== this.of(); break;
    }
    return (c & 1) !== 0 ? !r : r;
  }

  parity(v: number): number {
    return PARITY[v & 0xff];
  }
}

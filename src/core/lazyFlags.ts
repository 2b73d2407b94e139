// Lazy arithmetic flags over the flat state. An arithmetic instruction records its
// operation, operands and result (Reg.LAZY_*); OF SF ZF AF PF CF are computed only when
// something reads them (Jcc, PUSHF, ADC...). Results are stored masked to the operand
// size. SDM 1 3.4.3.1 and appendix A.
//
// Portable: compiled by tsc (the TS engine's CoreFlags calls these) and by asc (the wasm
// build), see docs/engine-decision.md. Unsigned comparisons are written
// `<u32>(x >>> 0) < <u32>(y >>> 0)`: under asc `x >>> 0` stays a signed i32, so the
// plain JS idiom `(x >>> 0) < (y >>> 0)` would compile to a signed compare.

import { Reg, Flag } from "../state/layout.js";
import { Words, newBytes } from "../state/flatViews.js";

export const enum Lazy { NONE = 0, ADD = 1, ADC = 2, SUB = 3, SBB = 4, LOGIC = 5, INC = 6, DEC = 7 }

/** PARITY[b] = PF for a result whose low byte is b (even number of set bits). */
export const PARITY = newBytes(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let v = i; v !== 0; v >>= 1) bits += v & 1;
  PARITY[i] = (bits & 1) === 0 ? 1 : 0;
}

/** Mask of an operand of `size` bytes. */
export function sizeMask(size: i32): i32 {
  return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
}

/** Records a flag-setting operation; dst, src and res are already masked to size. */
export function setLazy(s: Words, op: i32, size: i32, dst: i32, src: i32, res: i32): void {
  s[Reg.LAZY_OP] = op;
  s[Reg.LAZY_SIZE] = size;
  s[Reg.LAZY_DST] = dst;
  s[Reg.LAZY_SRC] = src;
  s[Reg.LAZY_RES] = res;
}

export function lazyCf(s: Words): i32 {
  switch (s[Reg.LAZY_OP]) {
    case Lazy.ADD: return <u32>(s[Reg.LAZY_RES] >>> 0) < <u32>(s[Reg.LAZY_DST] >>> 0) ? 1 : 0;
    case Lazy.ADC: return <u32>(s[Reg.LAZY_RES] >>> 0) <= <u32>(s[Reg.LAZY_DST] >>> 0) ? 1 : 0;
    case Lazy.SUB: return <u32>(s[Reg.LAZY_DST] >>> 0) < <u32>(s[Reg.LAZY_SRC] >>> 0) ? 1 : 0;
    case Lazy.SBB: return <u32>(s[Reg.LAZY_DST] >>> 0) <= <u32>(s[Reg.LAZY_SRC] >>> 0) ? 1 : 0;
    case Lazy.LOGIC: return 0;
    default: return s[Reg.EFLAGS] & Flag.CF;
  }
}
export function lazyZf(s: Words): i32 {
  return s[Reg.LAZY_OP] === Lazy.NONE ? (s[Reg.EFLAGS] >> 6) & 1 : s[Reg.LAZY_RES] === 0 ? 1 : 0;
}
export function lazySf(s: Words): i32 {
  return s[Reg.LAZY_OP] === Lazy.NONE ? (s[Reg.EFLAGS] >> 7) & 1 : (s[Reg.LAZY_RES] >>> (s[Reg.LAZY_SIZE] * 8 - 1)) & 1;
}
export function lazyPf(s: Words): i32 {
  return s[Reg.LAZY_OP] === Lazy.NONE ? (s[Reg.EFLAGS] >> 2) & 1 : <i32>PARITY[s[Reg.LAZY_RES] & 0xff];
}
export function lazyAf(s: Words): i32 {
  const op = s[Reg.LAZY_OP];
  if (op === Lazy.NONE) return (s[Reg.EFLAGS] >> 4) & 1;
  if (op === Lazy.LOGIC) return 0;
  return ((s[Reg.LAZY_DST] ^ s[Reg.LAZY_SRC] ^ s[Reg.LAZY_RES]) >> 4) & 1;
}
export function lazyOf(s: Words): i32 {
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
export function lazyEflags(s: Words): i32 {
  if (s[Reg.LAZY_OP] === Lazy.NONE) return s[Reg.EFLAGS] | 2;
  return (s[Reg.EFLAGS] & ~Flag.ARITH) | 2 | lazyCf(s) | (lazyPf(s) << 2) | (lazyAf(s) << 4) |
    (lazyZf(s) << 6) | (lazySf(s) << 7) | (lazyOf(s) << 11);
}

/** Replaces EFLAGS wholesale; the caller has applied the privilege rules. */
export function writeEflags(s: Words, v: i32): void {
  s[Reg.EFLAGS] = (v & ~0x8028) | 2; // bits 3, 5, 15 read as 0, bit 1 as 1
  s[Reg.LAZY_OP] = Lazy.NONE;
}

/** Materialises the lazy flags, then replaces the arithmetic bits in `mask` by `bits`. */
export function setArithFlags(s: Words, mask: i32, bits: i32): void {
  // Replacing all six needs none of the old ones computed.
  const old = mask === Flag.ARITH ? s[Reg.EFLAGS] : lazyEflags(s);
  writeEflags(s, (old & ~mask) | (bits & mask));
}

/** INC and DEC keep CF (SDM 2A INC): fold the current CF into EFLAGS, then record them. */
export function setLazyKeepCarry(s: Words, op: i32, size: i32, dst: i32, res: i32): void {
  s[Reg.EFLAGS] = (s[Reg.EFLAGS] & ~Flag.CF) | lazyCf(s);
  setLazy(s, op, size, dst, 1, res);
}

/** Evaluates condition code `c` (SDM 2A B.1.4.7), with fast paths after CMP/SUB. */
export function lazyCond(s: Words, c: i32): bool {
  if (s[Reg.LAZY_OP] === Lazy.SUB) {
    const d = s[Reg.LAZY_DST], x = s[Reg.LAZY_SRC];
    const sh = 32 - s[Reg.LAZY_SIZE] * 8;
    switch (c) {
      case 2: return <u32>(d >>> 0) < <u32>(x >>> 0);
      case 3: return <u32>(d >>> 0) >= <u32>(x >>> 0);
      case 4: return d === x;
      case 5: return d !== x;
      case 6: return <u32>(d >>> 0) <= <u32>(x >>> 0);
      case 7: return <u32>(d >>> 0) > <u32>(x >>> 0);
      case 12: return (d << sh) >> sh < (x << sh) >> sh;
      case 13: return (d << sh) >> sh >= (x << sh) >> sh;
      case 14: return (d << sh) >> sh <= (x << sh) >> sh;
      case 15: return (d << sh) >> sh > (x << sh) >> sh;
    }
  }
  let r: bool;
  switch (c >> 1) {
    case 0: r = lazyOf(s) !== 0; break;
    case 1: r = lazyCf(s) !== 0; break;
    case 2: r = lazyZf(s) !== 0; break;
    case 3: r = (lazyCf(s) | lazyZf(s)) !== 0; break;
    case 4: r = lazySf(s) !== 0; break;
    case 5: r = lazyPf(s) !== 0; break;
    case 6: r = lazySf(s) !== lazyOf(s); break;
    default: r = lazyZf(s) !== 0 || lazySf(s) !== lazyOf(s); break;
  }
  return (c & 1) !== 0 ? !r : r;
}

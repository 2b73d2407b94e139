// Portable (docs/engine-decision.md): the shifts and rotates of group 2 (C0/C1/D0-D3), on
// the flat state's lazy flags. Core.shiftE runs every size and operand through it; the hot
// loop runs a 32-bit register by an immediate through it inline (Kind.FAST_SHIFT_RI32).

import { Flag } from "../state/layout.js";
import { Words } from "../state/flatViews.js";
import { PARITY, sizeMask, lazyCf, setArithFlags } from "./lazyFlags.js";
import { ShiftOp } from "../isa/kind.js";

/**
 * Shifts or rotates `v` (of `size` bytes) by a count already masked to 1..31 (SDM 2A
 * SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR: the count is masked to 5 bits on IA-32), sets the
 * flags and returns the result masked to the size.
 */
export function shiftRotate(s: Words, op: i32, size: i32, v: i32, c: i32): i32 {
  const bits = size * 8, m = sizeMask(size);
  const a = v & m;
  const top = bits - 1;
  let r = 0, cf = 0, ovf = 0;
  switch (op) {
    case ShiftOp.ROL: {
      // A rotate's count is taken modulo the width; CF and OF only change.
      const n = c & top;
      r = n === 0 ? a : ((a << n) | (a >>> (bits - n))) & m;
      cf = r & 1; ovf = ((r >>> top) & 1) ^ cf;
      setArithFlags(s, Flag.CF | Flag.OF, cf | (ovf << 11));
      return r;
    }
    case ShiftOp.ROR: {
      const n = c & top;
      r = n === 0 ? a : ((a >>> n) | (a << (bits - n))) & m;
      cf = (r >>> top) & 1; ovf = cf ^ ((r >>> (top - 1)) & 1);
      setArithFlags(s, Flag.CF | Flag.OF, cf | (ovf << 11));
      return r;
    }
    case ShiftOp.RCL: case ShiftOp.RCR: {
      // Through CF: the count is taken modulo width + 1 for 8 and 16 bits.
      const n = size === 4 ? c : c % (bits + 1);
      cf = lazyCf(s);
      r = a;
      for (let i = 0; i < n; i++) {
        if (op === ShiftOp.RCL) { const out = (r >>> top) & 1; r = ((r << 1) | cf) & m; cf = out; }
        else { const out = r & 1; r = ((r >>> 1) | (cf << top)) & m; cf = out; }
      }
      ovf = op === ShiftOp.RCL ? ((r >>> top) & 1) ^ cf : ((r >>> top) ^ (r >>> (top - 1))) & 1;
      if (n !== 0) setArithFlags(s, Flag.CF | Flag.OF, cf | (ovf << 11));
      return r;
    }
    case ShiftOp.SHL: case ShiftOp.SAL:
      r = c < 32 ? (a << c) & m : 0;
      cf = c <= bits ? (a >>> (bits - c)) & 1 : 0;
      ovf = ((r >>> top) & 1) ^ cf;
      break;
    case ShiftOp.SHR:
      r = a >>> c;
      cf = c <= bits ? (a >>> (c - 1)) & 1 : 0;
      ovf = (a >>> top) & 1;
      break;
    default: { // SAR
      const sa = (a << (32 - bits)) >> (32 - bits);
      r = (sa >> (c > 31 ? 31 : c)) & m;
      cf = (sa >> (c - 1 > 31 ? 31 : c - 1)) & 1;
      ovf = 0;
      break;
    }
  }
  // The shifts set SF, ZF and PF from the result and leave AF 0 here (undefined: SDM 2A SAL).
  const f = cf | (ovf << 11) | (<i32>PARITY[r & 0xff] << 2) | (r === 0 ? Flag.ZF : 0) | (((r >>> top) & 1) << 7);
  setArithFlags(s, Flag.ARITH, f);
  return r;
}

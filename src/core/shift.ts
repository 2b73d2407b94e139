// Portable (docs/engine-decision.md): the shifts and rotates of group 2 (C0/C1/D0-D3), on
// the flat state's lazy flags. Core.shiftE runs every size and operand through
// shiftRotate; the hot loop runs a 32-bit register by an immediate through it inline
// (Kind.FAST_SHIFT_RI32). Each operation is its own function, so that a compiled block
// (blockCompiler.ts), which knows the operation, calls one small enough for V8 to inline.
//
// Every function takes `v` (of `size` bytes) and a count already masked to 1..31 (SDM 2A
// SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR: the count is masked to 5 bits on IA-32), sets the
// flags and returns the result masked to the size.

import { Flag } from "../state/layout.js";
import { Words } from "../state/flatViews.js";
import { PARITY, sizeMask, lazyCf, setArithFlags } from "./lazyFlags.js";
import { ShiftOp } from "../isa/kind.js";

/** Any group-2 operation `op` (ShiftOp). */
export function shiftRotate(s: Words, op: i32, size: i32, v: i32, c: i32): i32 {
  switch (op) {
    case ShiftOp.ROL: return rol(s, size, v, c);
    case ShiftOp.ROR: return ror(s, size, v, c);
    case ShiftOp.RCL: case ShiftOp.RCR: return rcx(s, op, size, v, c);
    case ShiftOp.SHL: case ShiftOp.SAL: return shl(s, size, v, c);
    case ShiftOp.SHR: return shr(s, size, v, c);
    default: return sar(s, size, v, c);
  }
}

// A rotate's count is taken modulo the width; CF and OF only change.
export function rol(s: Words, size: i32, v: i32, c: i32): i32 {
  const bits = size * 8, m = sizeMask(size), a = v & m, top = bits - 1;
  const n = c & top;
  const r = n === 0 ? a : ((a << n) | (a >>> (bits - n))) & m;
  const cf = r & 1;
  setArithFlags(s, Flag.CF | Flag.OF, cf | ((((r >>> top) & 1) ^ cf) << 11));
  return r;
}

export function ror(s: Words, size: i32, v: i32, c: i32): i32 {
  const bits = size * 8, m = sizeMask(size), a = v & m, top = bits - 1;
  const n = c & top;
  const r = n === 0 ? a : ((a >>> n) | (a << (bits - n))) & m;
  const cf = (r >>> top) & 1;
  setArithFlags(s, Flag.CF | Flag.OF, cf | ((cf ^ ((r >>> (top - 1)) & 1)) << 11));
  return r;
}

/** RCL (`op` ShiftOp.RCL) or RCR through CF: the count is taken modulo width + 1 for 8 and 16 bits. */
export function rcx(s: Words, op: i32, size: i32, v: i32, c: i32): i32 {
  const bits = size * 8, m = sizeMask(size), top = bits - 1;
  const n = size === 4 ? c : c % (bits + 1);
  let cf = lazyCf(s);
  let r = v & m;
  for (let i = 0; i < n; i++) {
    if (op === ShiftOp.RCL) { const out = (r >>> top) & 1; r = ((r << 1) | cf) & m; cf = out; }
    else { const out = r & 1; r = ((r >>> 1) | (cf << top)) & m; cf = out; }
  }
  const ovf = op === ShiftOp.RCL ? ((r >>> top) & 1) ^ cf : ((r >>> top) ^ (r >>> (top - 1))) & 1;
  if (n !== 0) setArithFlags(s, Flag.CF | Flag.OF, cf | (ovf << 11));
  return r;
}

export function shl(s: Words, size: i32, v: i32, c: i32): i32 {
  const bits = size * 8, m = sizeMask(size), a = v & m;
  const r = c < 32 ? (a << c) & m : 0;
  const cf = c <= bits ? (a >>> (bits - c)) & 1 : 0;
  return shifted(s, size, r, cf, ((r >>> (bits - 1)) & 1) ^ cf);
}

export function shr(s: Words, size: i32, v: i32, c: i32): i32 {
  const bits = size * 8, a = v & sizeMask(size);
  const cf = c <= bits ? (a >>> (c - 1)) & 1 : 0;
  return shifted(s, size, a >>> c, cf, (a >>> (bits - 1)) & 1);
}

export function sar(s: Words, size: i32, v: i32, c: i32): i32 {
  const bits = size * 8, m = sizeMask(size);
  const sa = ((v & m) << (32 - bits)) >> (32 - bits);
  const r = (sa >> (c > 31 ? 31 : c)) & m;
  return shifted(s, size, r, (sa >> (c - 1 > 31 ? 31 : c - 1)) & 1, 0);
}

/**
 * The flags of SHL, SHR and SAR (and SHLD, SHRD: Core.shiftDouble): CF and OF as given,
 * SF, ZF and PF from the result `r` (masked to the size), and AF 0 here (undefined: SDM 2A
 * SAL, SHLD). Returns the result.
 */
export function shifted(s: Words, size: i32, r: i32, cf: i32, ovf: i32): i32 {
  const f = cf | (ovf << 11) | (<i32>PARITY[r & 0xff] << 2) | (r === 0 ? Flag.ZF : 0) | (((r >>> (size * 8 - 1)) & 1) << 7);
  setArithFlags(s, Flag.ARITH, f);
  return r;
}

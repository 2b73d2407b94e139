// 64-bit products and quotients from 32-bit halves, without BigInt (no allocation in the
// hot loop). Results land in `wide`.
//
// Portable: compiled by tsc (TS engine) and by asc (wasm build), see
// docs/engine-decision.md. The two builds hold intermediates differently (a product of
// two 16-bit halves is an exact double under tsc, a wrapped i32 under asc); every result
// is taken modulo 2^32 so both agree, and tests/engine-portable.test.ts checks that.

/** Results of the last mul32/imul32 (lo, hi) or divu64 (q, r), as int32 bit patterns. */
export class Wide {
  lo: i32 = 0;
  hi: i32 = 0;
  q: i32 = 0;
  r: i32 = 0;
}
export const wide = new Wide();

/** Unsigned 32x32 -> 64 product. */
export function mul32(a: i32, b: i32): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  wide.lo = ((mid << 16) | (p00 & 0xffff)) | 0;
  wide.hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Signed 32x32 -> 64 product: the unsigned product corrected for negative inputs. */
export function imul32(a: i32, b: i32): void {
  mul32(a, b);
  let hi = wide.hi;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  wide.hi = hi;
}

/**
 * Unsigned (hi:lo) / d for hi < d (all three read as unsigned 32-bit), in two 16-bit
 * steps so every intermediate stays below 2^48 and is exact in a double.
 * `<f64><u32>(x >>> 0)` is the portable unsigned-to-double conversion (a no-op pair
 * under tsc, f64.convert_i32_u under asc); `<i32><u32>(q) | 0` the way back for q < 2^32.
 */
export function divu64(hi: i32, lo: i32, d: i32): void {
  const dd: f64 = <f64><u32>(d >>> 0);
  const n1: f64 = <f64><u32>(hi >>> 0) * 65536.0 + <f64>(lo >>> 16);
  const q1: f64 = Math.floor(n1 / dd);
  const r1: f64 = n1 - q1 * dd;
  const n0: f64 = r1 * 65536.0 + <f64>(lo & 0xffff);
  const q0: f64 = Math.floor(n0 / dd);
  wide.q = <i32><u32>(q1 * 65536.0 + q0) | 0;
  wide.r = <i32><u32>(n0 - q0 * dd) | 0;
}

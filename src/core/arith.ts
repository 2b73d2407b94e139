// 64-bit products and quotients from 32-bit halves, without BigInt (no allocation in the
// hot loop). Results land in `wide`.

/** Results of the last mul32/imul32 (lo, hi) or divu64 (q, r). */
export const wide = { lo: 0, hi: 0, q: 0, r: 0 };

/** Unsigned 32x32 -> 64 product. */
export function mul32(a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  wide.lo = ((mid << 16) | (p00 & 0xffff)) | 0;
  wide.hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Signed 32x32 -> 64 product: the unsigned product corrected for negative inputs. */
export function imul32(a: number, b: number): void {
  mul32(a, b);
  let hi = wide.hi;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  wide.hi = hi;
}

/**
 * Unsigned (hi:lo) / d for hi < d, in two 16-bit steps so every intermediate stays
 * below 2^48 and is exact in a double.
 */
export function divu64(hi: number, lo: number, d: number): void {
  const n1 = hi * 65536 + (lo >>> 16);
  const q1 = Math.floor(n1 / d);
  const r1 = n1 - q1 * d;
  const n0 = r1 * 65536 + (lo & 0xffff);
  const q0 = Math.floor(n0 / d);
  wide.q = (q1 * 65536 + q0) | 0;
  wide.r = (n0 - q0 * d) | 0;
}

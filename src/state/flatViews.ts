// The element views portable code (core/hotLoop.ts, lazyFlags.ts, tlbHit.ts) reads the flat
// state through, named by what they hold. Under tsc they are the standard typed arrays.
// The wasm build reads flatViews.wasm.ts instead, where they are arrays placed directly
// over the flat state: asc then addresses an element from the array's own address,
// without loading a data pointer from the view object on every access (which TurboFan
// cannot hoist, as any store might alias it).

/** 32-bit words: state words, the decode cache, RAM as aligned words, TLB maps. */
export type Words = Int32Array;
/** Bytes: RAM, the code-page map. */
export type Bytes = Uint8Array;
/** 16-bit halves: a TLB model's slot map. */
export type Halves = Uint16Array;
/** Doubles: wide counters, a TLB model's clock and stamps. */
export type Doubles = Float64Array;

/** The little-endian word at RAM byte offset `p` (any alignment). */
export function ramRead32(ram32: Words, view: DataView, p: i32): i32 {
  return (p & 3) === 0 ? ram32[p >> 2] : view.getInt32(p, true);
}

/** Stores the little-endian word `v` at RAM byte offset `p` (any alignment). */
export function ramWrite32(ram32: Words, view: DataView, p: i32, v: i32): void {
  if ((p & 3) === 0) ram32[p >> 2] = v; else view.setInt32(p, v, true);
}

/** A table of `n` zeroed bytes that lives outside the flat state (e.g. PARITY). */
export function newBytes(n: i32): Bytes {
  return new Uint8Array(n);
}

// The wasm build's twin of flatViews.ts (tools/build-wasm.mjs reads it in place of it).
// Each view is a StaticArray whose address is where its elements start in the flat state
// (assembly/index.ts places them with viewAt). Indexing one is a load at that address
// plus the scaled index, as asconfig.json's uncheckedBehavior "always" drops the bounds
// check; nothing ever reads the header a real StaticArray would have before it.

export type Words = StaticArray<i32>;
export type Bytes = StaticArray<u8>;
export type Halves = StaticArray<u16>;
export type Doubles = StaticArray<f64>;

// @ts-ignore: asc decorator
@inline export function ramRead32(ram32: Words, view: DataView, p: i32): i32 {
  return load<i32>(changetype<usize>(ram32) + <usize>p); // wasm loads may be unaligned
}

// @ts-ignore: asc decorator
@inline export function ramWrite32(ram32: Words, view: DataView, p: i32, v: i32): void {
  store<i32>(changetype<usize>(ram32) + <usize>p, v);
}

export function newBytes(n: i32): Bytes {
  return new StaticArray<u8>(n);
}

/** The view of type T whose elements start at byte address `at`. */
// @ts-ignore: asc decorator
@inline export function viewAt<T>(at: usize): T {
  return changetype<T>(at);
}

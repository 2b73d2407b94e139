// Flat-state accessors of the accessor-style kernel (aluKernelFlat.ts), tsc side: word
// `i` of the flat state is W[i]. asc reads flatMemory.wasm.ts instead (tools/build-wasm.mjs:
// a sibling `.wasm.ts` replaces a portable module in the wasm build), where it is a raw
// load/store at the state's address in linear memory.
let W: Int32Array = new Int32Array(0);

export function attach(words: Int32Array): void {
  W = words;
}
export function ld(i: i32): i32 {
  return W[i];
}
export function st(i: i32, v: i32): void {
  W[i] = v;
}

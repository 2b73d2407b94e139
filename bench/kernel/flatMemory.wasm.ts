// Flat-state accessors of the accessor-style kernel, asc side (see flatMemory.ts): raw
// loads and stores at BASE, the flat state's address in linear memory.
let BASE: usize = 0;

export function attachBase(base: usize): void {
  BASE = base;
}
// @ts-ignore: asc decorator
@inline export function ld(i: i32): i32 {
  return load<i32>(BASE + (<usize>i << 2));
}
// @ts-ignore: asc decorator
@inline export function st(i: i32, v: i32): void {
  store<i32>(BASE + (<usize>i << 2), v);
}

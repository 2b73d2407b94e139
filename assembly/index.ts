// The WebAssembly build entry. The wasm engine (the hot loop of src/core compiled by
// AssemblyScript) is issue #4 and not written yet; today this module only compiles the
// shared state layout, so that both engines are held to one set of offsets from the start.
import { Reg, STATE_BYTES, DECODE_OFFSET, RAM_OFFSET } from "../src/state/layout";

/** Byte offset of a register word in the flat state (the same offsets the TS engine uses). */
export function registerOffset(reg: i32): i32 {
  return reg * 4;
}
export const stateBytes: i32 = STATE_BYTES;
export const decodeOffset: i32 = DECODE_OFFSET;
export const ramOffset: i32 = RAM_OFFSET;
export const eipOffset: i32 = Reg.EIP * 4;

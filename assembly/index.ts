// The WebAssembly build entry (tools/build-wasm.mjs compiles it with asc): the wasm
// engine's hot loop (core/hotLoop.ts, the same source the TS engine runs) over a flat
// state that lives in this module's memory, which the TypeScript Core shares
// (vmm/wasmEngine.ts). It also exports the portable slice's functions one by one, so
// tests can run the two builds on the same bytes (tests/engine-portable.test.ts).
import { Reg, STATE_BYTES, DECODE_OFFSET, RAM_OFFSET, COUNTER_OFFSET, BLOCK_SLOTS, WASM_FLAT_BASE } from "../src/state/layout.js";
import { HotViews, runHot } from "../src/core/hotLoop.js";
import { deliverProtected, iretProtected } from "../src/core/protectedEvent.js";
import { SliceWord } from "../src/core/sliceRule.js";
import { Words, viewAt } from "../src/state/flatViews.js";
import { WALK_REF_WORDS } from "../src/core/pageWalk.js";
import { lazyCf, lazyZf, lazySf, lazyPf, lazyAf, lazyOf, lazyEflags, lazyCond, writeEflags } from "../src/core/lazyFlags.js";
import { mul32, imul32, divu64, wide } from "../src/core/arith.js";

/** Byte offset of a register word in the flat state (the same offsets the TS engine uses). */
export function registerOffset(reg: i32): i32 {
  return reg * 4;
}
export const stateBytes: i32 = STATE_BYTES;
export const decodeOffset: i32 = DECODE_OFFSET;
export const ramOffset: i32 = RAM_OFFSET;
export const counterOffset: i32 = COUNTER_OFFSET;
export const eipOffset: i32 = Reg.EIP * 4;

// The flat state: one block of this module's linear memory laid out by state/layout.ts.
// The host reads and writes it through memory.buffer at stateBase().
let flat: usize = 0;
let S: Words = viewAt<Words>(0);
let H: HotViews | null = null;

/**
 * Sets up the flat state for `ramBytes` of guest RAM (once) at WASM_FLAT_BASE and returns
 * that address. The host made the memory big enough (vmm/wasmEngine.ts), and it is all
 * zeros, as the state starts: it is not an ArrayBuffer, whose constructor would zero it
 * and so make the OS back every page of the guest's RAM at start-up (about 130 ms for 32
 * MiB). The loop's views of it are constants (core/hotViews.wasm.ts); what else the loop
 * keeps is allocated here, below WASM_FLAT_BASE, and nothing allocates after this call.
 */
export function allocateState(ramBytes: i32): usize {
  if (flat !== 0) abort();
  flat = <usize>WASM_FLAT_BASE;
  S = viewAt<Words>(flat);
  H = new HotViews(ramBytes, false, false, new StaticArray<i32>(2 * BLOCK_SLOTS), new StaticArray<f64>(SliceWord.COUNT),
    new StaticArray<i32>(WALK_REF_WORDS), false);
  // The module's static data and these objects must end below the flat state.
  if (heap.alloc(1) >= flat) abort();
  return flat;
}

/** Address of the loop's HotViews.blockSkip, which the host's BlockCache writes (vmm/wasmEngine.ts). */
export function blockSkip(): usize {
  return changetype<usize>(H!.blockSkip);
}

/** Address of the loop's HotViews.slice (core/sliceRule.ts), which the host's run loop keeps (Cpu). */
export function sliceWords(): usize {
  return changetype<usize>(H!.slice);
}

/** Says whether a walk observer listens (CoreMemory.walkObserver): the loop then leaves its walks to the host. */
export function setObservedWalks(on: bool): void {
  H!.observedWalks = on;
}

/** Turns the loop's calls of hostRunBlock at branch targets on or off (Core.setBlocks), at every target or at loop heads only. */
export function setBlocks(on: bool, loopHeadsOnly: bool): void {
  H!.blocks = on;
  H!.loopHeadsOnly = loopHeadsOnly;
}

/**
 * `n` pairs of INT `vector` (software, so the gate's DPL is checked) and IRETD through
 * core/protectedEvent.ts as this module compiled it, on the engine's state, for
 * bench/int-iret.mjs; the pairs done before one declined. A pair leaves the registers as
 * they were; it counts, and writes its frame on the ring-0 stack.
 */
export function eventPairs(n: i32, vector: i32): i32 {
  const eip = S[Reg.EIP];
  for (let i = 0; i < n; i++) {
    if (!deliverProtected(H!, vector, 0, false, true, eip) || !iretProtected(H!)) return i;
  }
  return n;
}

/** The wasm engine: runs at most `budget` steps (core/hotLoop.ts runHot). */
export function run(budget: i32, settle: bool, events: bool): i32 {
  return runHot(H!, budget, settle, events);
}
export function stateBase(): usize {
  return flat;
}

// The slice, on the flat state.
export function cf(): i32 { return lazyCf(S); }
export function zf(): i32 { return lazyZf(S); }
export function sf(): i32 { return lazySf(S); }
export function pf(): i32 { return lazyPf(S); }
export function af(): i32 { return lazyAf(S); }
export function oflag(): i32 { return lazyOf(S); }
export function eflags(): i32 { return lazyEflags(S); }
export function setEflags(v: i32): void { writeEflags(S, v); }
export function cond(c: i32): bool { return lazyCond(S, c); }

export function mul(a: i32, b: i32): void { mul32(a, b); }
export function imul(a: i32, b: i32): void { imul32(a, b); }
export function divu(hi: i32, lo: i32, d: i32): void { divu64(hi, lo, d); }
export function wideLo(): i32 { return wide.lo; }
export function wideHi(): i32 { return wide.hi; }
export function wideQ(): i32 { return wide.q; }
export function wideR(): i32 { return wide.r; }

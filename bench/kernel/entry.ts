// asc entry of the measurement kernel (bench/engine-kernel.mjs): the kernel over a flat
// state allocated in this module's memory.
import { Reg, totalBytes, DECODE_OFFSET, RETIRE_COUNTER_WORD, RETIRE_COUNTER_SLOTS } from "../../src/state/layout.js";
import { runKernel } from "./aluKernel.js";
import { runKernelFlat } from "./aluKernelFlat.js";
import { attachBase } from "./flatMemory.js";

let flat: ArrayBuffer = new ArrayBuffer(0);
let S: Int32Array = new Int32Array(0);
let D: Int32Array = new Int32Array(0);

export function allocateState(ramBytes: i32): usize {
  flat = new ArrayBuffer(<i32>totalBytes(<f64>ramBytes));
  S = Int32Array.wrap(flat, 0, Reg.STATE_WORDS);
  D = Int32Array.wrap(flat, DECODE_OFFSET, RETIRE_COUNTER_WORD + RETIRE_COUNTER_SLOTS);
  attachBase(changetype<usize>(flat));
  return changetype<usize>(flat);
}

export function run(budget: i32): i32 {
  return runKernel(S, D, budget);
}

/** The accessor-style twin (aluKernelFlat.ts): raw loads and stores at the state's address. */
export function runFlat(budget: i32): i32 {
  return runKernelFlat(budget);
}

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

// Fault signalling through the host (docs/engine-decision.md): the wasm build records a
// fault in the flat state and calls an imported function that throws the TS engine's
// FAULT object; the exception unwinds the wasm frames to the JS caller of the export.
// @ts-ignore: asc decorator
@external("env", "hostFault") declare function hostFault(): void;

/** Records vector 13 and faults when x < 0; otherwise clears the record and returns x. */
export function faultProbe(x: i32): i32 {
  S[Reg.EXIT_VECTOR] = 13;
  if (x < 0) hostFault();
  S[Reg.EXIT_VECTOR] = 0;
  return x;
}

// Architectural faults raised inside an instruction. The hot loop and the TS paths
// throw one preallocated object (no allocation per fault); the vector and error code
// travel in the flat state (Reg.EXIT_*), where the delivering code reads them.

// The wasm build reads fault.wasm.ts instead (docs/engine-decision.md, decision 3): it
// records the fault the same way and has the host throw this same FAULT.

import { recordFault } from "./faultFlag.js";
export { Vector } from "./vector.js";

export class CpuFault {
  readonly name = "CpuFault";
}
/** The one instance thrown for every guest fault. */
export const FAULT = new CpuFault();

/**
 * Records a fault in the state and returns the object to throw: `throw fault(...)`.
 * V8 tiers a function up (and gives it type feedback) only when it returns or loops, so
 * a function that always throws stays in the bytecode interpreter with generic, slow
 * stores; here the stores are in a function that returns, and the throw is in the
 * caller, which is usually optimized already.
 */
export function fault(s: Int32Array, vector: number, error: number, hasError: boolean): CpuFault {
  recordFault(s, vector, error, hasError);
  return FAULT;
}

/** Records a fault in the state and unwinds to the loop that delivers it. */
export function raiseFault(s: Int32Array, vector: number, error: number, hasError: boolean): never {
  throw fault(s, vector, error, hasError);
}

/** True for exceptions that push an error code (SDM 3A 6.13). */
export function pushesErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

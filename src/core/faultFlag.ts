// Portable (docs/engine-decision.md): how a fault is recorded in the flat state, for the
// thrown FAULT of core/fault.ts and for a fault flagged without unwinding, by code that
// both engines run and that must return rather than throw (the wasm build's raiseFault,
// core/pageWalk.ts). The caller of flagFault tests Reg.HOT_FAULTED and leaves; the run
// loop then delivers what Reg.EXIT_* holds, as after a thrown FAULT.

import { Reg } from "../state/layout.js";
import { Words } from "../state/flatViews.js";

/**
 * Records fault `vector` (with `error` when `hasError`) in the state (Reg.EXIT_*), where
 * the delivering code reads it: for a fault thrown (core/fault.ts) or flagged.
 */
export function recordFault(s: Words, vector: i32, error: i32, hasError: bool): void {
  s[Reg.EXIT_VECTOR] = vector;
  s[Reg.EXIT_ERROR] = error;
  s[Reg.EXIT_HAS_ERROR] = hasError ? 1 : 0;
}

/** Records fault `vector` as recordFault() does and flags it (Reg.HOT_FAULTED). */
export function flagFault(s: Words, vector: i32, error: i32, hasError: bool): void {
  recordFault(s, vector, error, hasError);
  s[Reg.HOT_FAULTED] = 1;
}

// Portable (docs/engine-decision.md): a fault recorded without unwinding, for code that
// both engines run and that must return rather than throw (the wasm build's raiseFault,
// core/pageWalk.ts). The caller tests Reg.HOT_FAULTED and leaves; the run loop then
// delivers what Reg.EXIT_* holds, as after a thrown FAULT (core/fault.ts).

import { Reg } from "../state/layout.js";
import { Words } from "../state/flatViews.js";

/** Records fault `vector` (with `error` when `hasError`) in the state and flags it. */
export function flagFault(s: Words, vector: i32, error: i32, hasError: bool): void {
  s[Reg.EXIT_VECTOR] = vector;
  s[Reg.EXIT_ERROR] = error;
  s[Reg.EXIT_HAS_ERROR] = hasError ? 1 : 0;
  s[Reg.HOT_FAULTED] = 1;
}

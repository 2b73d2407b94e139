// The wasm build's twin of fault.ts (tools/build-wasm.mjs reads it in place of fault.ts).
// A fault is recorded in the flat state as fault.ts records it, and instead of unwinding
// (wasm cannot throw a JavaScript object, and a JS exception crossing wasm frames is slow)
// it sets Reg.HOT_FAULTED: the hot loop returns Exit.FAULT right after every raiseFault,
// and Core.run finishes the instruction as it does after a thrown FAULT (decision 3).
import { Reg } from "../state/layout.js";
import { Words } from "../state/flatViews.js";

export function raiseFault(s: Words, vector: i32, error: i32, hasError: bool): void {
  s[Reg.EXIT_VECTOR] = vector;
  s[Reg.EXIT_ERROR] = error;
  s[Reg.EXIT_HAS_ERROR] = hasError ? 1 : 0;
  s[Reg.HOT_FAULTED] = 1;
}

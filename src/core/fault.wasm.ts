// The wasm build's twin of fault.ts (tools/build-wasm.mjs reads it in place of fault.ts).
// A fault is recorded in the flat state as fault.ts records it, and instead of unwinding
// (wasm cannot throw a JavaScript object, and a JS exception crossing wasm frames is slow)
// it sets Reg.HOT_FAULTED (faultFlag.ts): the hot loop returns Exit.FAULT right after every
// raiseFault, and Core.run finishes the instruction as it does after a thrown FAULT (decision 3).
import { Words } from "../state/flatViews.js";
import { flagFault } from "./faultFlag.js";

export function raiseFault(s: Words, vector: i32, error: i32, hasError: bool): void {
  flagFault(s, vector, error, hasError);
}

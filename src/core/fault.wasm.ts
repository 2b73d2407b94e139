// The wasm build's twin of fault.ts (tools/build-wasm.mjs reads it in place of fault.ts):
// wasm cannot throw a JavaScript object, so a fault is recorded in the flat state as
// fault.ts records it and the host's `fault` import throws fault.ts's FAULT, which
// unwinds the wasm frames to the TypeScript caller of the export (decision 3).
import { Reg } from "../state/layout.js";

// @ts-ignore: asc decorator
@external("env", "fault") declare function hostFault(): void;

export function raiseFault(s: Int32Array, vector: i32, error: i32, hasError: bool): void {
  s[Reg.EXIT_VECTOR] = vector;
  s[Reg.EXIT_ERROR] = error;
  s[Reg.EXIT_HAS_ERROR] = hasError ? 1 : 0;
  hostFault();
}

// V8's inlining budget, raised for vmxlab's generated code. V8 inlines callees into an
// optimized function only while their bytecode adds up to --max-inlined-bytecode-size-
// cumulative (920 bytes by default). A compiled block of the TS engine (core/blockCompiler.ts)
// is a straight run of calls of small portable functions, one or more per guest instruction
// (aluAdd, flatPhysAt, ...); past the budget the rest become real calls. Measured on
// 2026-12-07, TS engine, best of 3 (docs/performance.md): bench-alu 285 -> 684 MIPS,
// bench-mem-paged 152 -> 238 MIPS with 4000; bench-kernel unchanged within noise.

import v8 from "node:v8";

const FLAG = "--max-inlined-bytecode-size-cumulative";
/** The budget vmxlab sets, in bytes of bytecode (2000 gave most of the gain, 8000 no more). */
export const INLINING_BUDGET = 4000;

let done = false;

/**
 * Raises V8's cumulative inlining budget for the rest of this process, once, unless the
 * process was started with the flag (the user's choice stands). Called before any guest
 * code runs; it changes how V8 optimizes, never what any code computes.
 */
export function widenInlining(): void {
  if (done) return;
  done = true;
  if (process.execArgv.some((a) => a.startsWith(FLAG))) return;
  v8.setFlagsFromString(`${FLAG}=${INLINING_BUDGET}`);
}

// Engines: how the host runs the guest (docs/engine-decision.md). "ts" is the hot loop
// as tsc builds it, run by V8; "wasm" is the same source built by AssemblyScript
// (vmm/wasmEngine.ts). The engine is invisible to the guest (DESIGN.md invariant 1);
// vmm/lockstep.ts runs two engines side by side to check it.

export type EngineName = "ts" | "wasm";
export const ENGINE_NAMES: readonly EngineName[] = ["ts", "wasm"];

/** The engine asked for is unknown or cannot run in this build (one line for the user). */
export class EngineError extends Error {}

/**
 * The engine a Machine gets unless told otherwise, measured with `npm run bench`
 * (docs/performance.md, 2026-12-07 16:42 UTC run): the wasm engine is the faster on guest
 * kernels (bench-kernel 1.73x), the TS engine on loops (3.0x, 1.8x, 1.5x: both engines
 * compile blocks). Kernels, with their traps and page faults, are what vmxlab runs, so wasm.
 */
export const DEFAULT_ENGINE: EngineName = "wasm";

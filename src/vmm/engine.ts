// Engines: how the host runs the guest (docs/engine-decision.md). "ts" is the hot loop
// as tsc builds it, run by V8; "wasm" is the same source built by AssemblyScript
// (vmm/wasmEngine.ts). The engine is invisible to the guest (DESIGN.md invariant 1);
// vmm/lockstep.ts runs two engines side by side to check it.

export type EngineName = "ts" | "wasm";
export const ENGINE_NAMES: readonly EngineName[] = ["ts", "wasm"];

/** The engine asked for is unknown or cannot run in this build (one line for the user). */
export class EngineError extends Error {}

/**
 * The engine a Machine gets unless told otherwise: the faster one, measured with
 * `npm run bench` (docs/performance.md: the wasm engine was ahead of the TS engine on all
 * four bench guests).
 */
export const DEFAULT_ENGINE: EngineName = "wasm";

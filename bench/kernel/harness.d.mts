// Types of harness.mjs for tests/engine-portable.test.ts.
export const CODE_AT: number;
export const RAM_BYTES: number;
export const LOOP_REGS: Record<number, number>;
export function aluLoopCode(iter: number): Uint8Array;
export function engineCore(iter: number): Promise<{
  s: Int32Array; ram: Uint8Array; buffer: ArrayBuffer;
  run(budget: number): number; syncMode(): void;
}>;
export function tsKernel(): Promise<(s: Int32Array, d: Int32Array, budget: number) => number>;
export function tsKernelFlat(): Promise<{ attach(words: Int32Array): void; run(budget: number): number }>;
export function wasmKernel(): Promise<{
  run(budget: number): number; runFlat(budget: number): number; faultProbe(x: number): number;
  memory: WebAssembly.Memory; base: number; FAULT: object;
}>;

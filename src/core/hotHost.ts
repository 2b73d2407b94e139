// What the portable hot loop (hotLoop.ts) asks of the TypeScript side: decoding, page
// crossings and every instruction or operand off its inline paths. Under tsc these are
// calls on the Core that runs the loop; the wasm build reads hotHost.wasm.ts instead,
// where the same names are imports the wasm engine's host answers with the same Core
// (docs/engine-decision.md, decisions 2 and 6). Any of them may raise a fault.

/** The Core methods the hot loop calls (core/interpreter.ts implements them). */
export interface HotHost {
  decodeAt(lin: number, phys: number, at: number): number;
  nextPhys(eip: number): number;
  execute(kind: number, at: number, info: number): boolean;
  load32(at: number, info: number): number;
  store32(at: number, info: number, v: number): void;
  writeE(at: number, info: number, size: number, v: number): void;
  readE(at: number, info: number, size: number): number;
  alu(op: number, size: number, a: number, b: number): number;
  runBlock(eip: number, phys: number, left: number): number;
  settle(exit: number): number;
}

/** Physical memory as the general path reads and writes it, devices included (CoreMemory). */
export interface PhysicalMemory {
  physRead32(p: number): number;
  physWrite32(p: number, v: number): void;
}

let host: HotHost | null = null;
let memory: PhysicalMemory | null = null;

/** Makes `h` the Core whose loop runs next (set by Core.run before each call). */
export function attachHost(h: HotHost): void { host = h; }

/** Makes `m` the memory a general page walk (core/pageWalk.ts) reads beyond RAM (set by CoreMemory.tryWalk). */
export function attachMemory(m: PhysicalMemory): void { memory = m; }

export function hostDecode(lin: i32, phys: i32, at: i32): i32 { return host!.decodeAt(lin, phys, at); }
export function hostNextPhys(eip: i32): i32 { return host!.nextPhys(eip); }
export function hostExecute(kind: i32, at: i32, info: i32): bool { return host!.execute(kind, at, info); }
export function hostLoad32(at: i32, info: i32): i32 { return host!.load32(at, info); }
export function hostStore32(at: i32, info: i32, v: i32): void { host!.store32(at, info, v); }
export function hostWriteE(at: i32, info: i32, size: i32, v: i32): void { host!.writeE(at, info, size, v); }
export function hostReadE(at: i32, info: i32, size: i32): i32 { return host!.readE(at, info, size); }
export function hostAlu(op: i32, size: i32, a: i32, b: i32): i32 { return host!.alu(op, size, a, b); }
export function hostRunBlock(eip: i32, phys: i32, left: i32): i32 { return host!.runBlock(eip, phys, left); }
export function hostSettle(exit: i32): i32 { return host!.settle(exit); }
export function hostPhysRead32(p: i32): i32 { return memory!.physRead32(p); }
export function hostPhysWrite32(p: i32, v: i32): void { memory!.physWrite32(p, v); }

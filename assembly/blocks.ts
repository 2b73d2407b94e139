// The second WebAssembly build entry (tools/build-wasm.mjs, asconfig.json target "blocks"):
// the portable functions a compiled block calls (core/wasmBlockEmitter.ts), compiled from
// the same sources as the engine, in a module of their own over the engine's memory
// (imported: vmm/wasmEngine.ts instantiates it with the engine's). The engine's module
// does not export them itself: an exported function cannot be inlined into its one
// caller, and runHot (core/hotLoop.ts) relies on asc inlining these into the loop.
// Words and HotViews parameters are addresses in that memory: a block passes the flat
// state's and the engine's HotViews (assembly/index.ts hotViews()), whose layout is the
// same here, compiled from the same class.
//
// This module's own static data and heap (the PARITY table lazyFlags.ts builds at start)
// lie in the engine's first KiB, which the engine's build leaves unused (its data start at
// 1024); asconfig.json's memoryBase keeps them off address 0.
export { aluAdd, aluSub, aluAnd, aluOr, aluXor, alu32, incDec32, ea32, flatPhysAt, jccTaken } from "../src/core/hotLoop.js";
export { rol, ror, rcx, shl, shr, sar } from "../src/core/shift.js";

// The wasm build's twin of hotHost.ts: the same functions as imports, which the wasm
// engine (vmm/wasmEngine.ts) answers with the Core that shares this module's memory.
// @ts-ignore: asc decorator
@external("env", "decode") export declare function hostDecode(lin: i32, phys: i32, at: i32): i32;
// @ts-ignore: asc decorator
@external("env", "nextPhys") export declare function hostNextPhys(eip: i32): i32;
// @ts-ignore: asc decorator
@external("env", "execute") export declare function hostExecute(kind: i32, at: i32, info: i32): bool;
// @ts-ignore: asc decorator
@external("env", "load32") export declare function hostLoad32(at: i32, info: i32): i32;
// @ts-ignore: asc decorator
@external("env", "store32") export declare function hostStore32(at: i32, info: i32, v: i32): void;
// @ts-ignore: asc decorator
@external("env", "writeE") export declare function hostWriteE(at: i32, info: i32, size: i32, v: i32): void;
// @ts-ignore: asc decorator
@external("env", "readE") export declare function hostReadE(at: i32, info: i32, size: i32): i32;
// @ts-ignore: asc decorator
@external("env", "alu") export declare function hostAlu(op: i32, size: i32, a: i32, b: i32): i32;
// Called at branch targets when blocks are on (HotViews.blocks; core/blockCompiler.ts).
// @ts-ignore: asc decorator
@external("env", "runBlock") export declare function hostRunBlock(eip: i32, phys: i32, left: i32): i32;
// @ts-ignore: asc decorator
@external("env", "settle") export declare function hostSettle(exit: i32): i32;
// A page walk's paging-structure accesses beyond plain RAM (core/pageWalk.ts). The loop's
// own walks decline before needing them; the host answers with CoreMemory.physRead32/physWrite32.
// @ts-ignore: asc decorator
@external("env", "physRead32") export declare function hostPhysRead32(p: i32): i32;
// @ts-ignore: asc decorator
@external("env", "physWrite32") export declare function hostPhysWrite32(p: i32, v: i32): void;

// The wasm engine (issue #4, docs/engine-decision.md): the hot loop core/hotLoop.ts as
// compiled by AssemblyScript (dist/vmxlab-core.wasm, built by `npm run build`), running on
// a flat state that lives in the module's memory. The TypeScript Cpu is built over that
// same memory, so everything off the hot loop (decoding, the general instruction paths,
// cpu/, devices) is the TS engine's own code, reached through the module's imports, and
// a run can change engines between two instructions.
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { Cpu } from "../cpu/cpu.js";
import { FAULT } from "../core/fault.js";
import { Reg, totalBytes, BLOCK_SLOTS, WASM_FLAT_BASE } from "../state/layout.js";
import type { TlbConfig } from "../core/tlbModel.js";
import { EngineError } from "./engine.js";
import { SliceWord } from "../core/sliceRule.js";

// The build writes it to dist/; the path works from dist/vmm/ and from src/vmm/ (tests
// that import the sources).
const WASM_FILE = fileURLToPath(new URL("../../dist/vmxlab-core.wasm", import.meta.url));

/** Bytes of a WebAssembly page. */
const WASM_PAGE = 65536;

interface CoreExports {
  allocateState(ramBytes: number): number;
  run(budget: number, settle: boolean, events: boolean): number;
  setBlocks(on: number, loopHeadsOnly: number): void;
  setObservedWalks(on: number): void;
  blockSkip(): number;
  sliceWords(): number;
  eventPairs(n: number, vector: number): number;
}

const compiled = new Map<string, WebAssembly.Module>();

/** The module built into `file` (dist/), compiled once per process. */
function builtModule(file: string): WebAssembly.Module {
  let module = compiled.get(file);
  if (module === undefined) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      throw new EngineError(`the wasm engine is not built (${file} is missing; run npm run build)`);
    }
    module = new WebAssembly.Module(new Uint8Array(bytes));
    compiled.set(file, module);
  }
  return module;
}

/**
 * A Cpu whose hot loop runs as WebAssembly. `state` is a flat state to continue from
 * (as MachineOptions.state), copied into the module's memory.
 */
export function createWasmCpu(ramBytes: number, tlbs: { itlb?: TlbConfig; dtlb?: TlbConfig } = {}, state?: ArrayBuffer): Cpu {
  let cpu: Cpu | null = null;
  /**
   * The loop's calls into the host (core/hotHost.wasm.ts), answered by the Cpu on the same
   * memory. A guest fault in one is caught here, where it is still a JavaScript exception,
   * and becomes Reg.HOT_FAULTED, which the loop tests after every such call (fault.wasm.ts
   * does the same for the faults the loop raises itself); anything else propagates.
   */
  const caught = (e: unknown): 0 => {
    if (e !== FAULT) throw e;
    cpu!.s[Reg.HOT_FAULTED] = 1;
    return 0;
  };
  const env = {
    abort(): never { throw new Error("the wasm engine aborted (an assertion in the AssemblyScript runtime)"); },
    decode(lin: number, phys: number, at: number) { try { return cpu!.decodeAt(lin, phys, at); } catch (e) { return caught(e); } },
    nextPhys(eip: number) { try { return cpu!.nextPhys(eip); } catch (e) { return caught(e); } },
    execute(kind: number, at: number, info: number) { try { return cpu!.execute(kind, at, info); } catch (e) { return caught(e); } },
    load32(at: number, info: number) { try { return cpu!.load32(at, info); } catch (e) { return caught(e); } },
    store32(at: number, info: number, v: number) { try { cpu!.store32(at, info, v); } catch (e) { caught(e); } },
    writeE(at: number, info: number, size: number, v: number) { try { cpu!.writeE(at, info, size, v); } catch (e) { caught(e); } },
    readE(at: number, info: number, size: number) { try { return cpu!.readE(at, info, size); } catch (e) { return caught(e); } },
    alu: (op: number, size: number, a: number, b: number) => cpu!.alu(op, size, a, b),
    // At a loop's head, with blocks on (Core.setBlocks): BlockCache.run, which runs a
    // compiled block (core/blockCompiler.ts), JavaScript over this memory. Blocks cannot fault.
    runBlock: (eip: number, phys: number, left: number) => cpu!.runBlock(eip, phys, left),
    // Faults inside settle() are delivered there; what escapes it ends the run (cpu/cpu.ts).
    settle: (exit: number) => cpu!.settle(exit),
    // A general page walk's paging-structure accesses beyond plain RAM (core/pageWalk.ts);
    // the loop's own walks decline before they would need one.
    physRead32: (p: number) => cpu!.physRead32(p),
    physWrite32: (p: number, v: number) => cpu!.physWrite32(p, v),
  };
  // The memory is made here, big enough for the module's own data and the flat state, so
  // that it never grows: growing detaches the old ArrayBuffer, and one detached buffer in a
  // process makes V8 check every typed-array access for detachment from then on (the TS
  // side of every exit, and a TS engine in the same process, ran 15-20 % slower).
  // The module keeps its static data and objects below the flat state, at WASM_FLAT_BASE.
  const memory = new WebAssembly.Memory({ initial: Math.ceil((WASM_FLAT_BASE + totalBytes(ramBytes)) / WASM_PAGE) });
  const buffer = memory.buffer;
  const exports = new WebAssembly.Instance(builtModule(WASM_FILE), { env: { ...env, memory } }).exports as unknown as CoreExports;
  const base = exports.allocateState(ramBytes) >>> 0;
  if (memory.buffer !== buffer || base !== WASM_FLAT_BASE) throw new Error("the wasm engine's memory grew, or its flat state is not at WASM_FLAT_BASE");
  if (state !== undefined) new Uint8Array(buffer, base, state.byteLength).set(new Uint8Array(state));
  cpu = new Cpu(ramBytes, tlbs, buffer as ArrayBuffer, base, state !== undefined);
  cpu.wasmRun = exports.run;
  cpu.shareLoopArrays(new Int32Array(buffer, exports.blockSkip() >>> 0, 2 * BLOCK_SLOTS),
    new Float64Array(buffer, exports.sliceWords() >>> 0, SliceWord.COUNT));
  cpu.wasmLoop = {
    // Loop blocks only (blockCompiler.ts loopsOnly): the loop asks only at a loop's head.
    setBlocks: (on) => exports.setBlocks(on ? 1 : 0, 1),
    setObservedWalks: (on) => exports.setObservedWalks(on ? 1 : 0),
    eventPairs: (n, vector) => exports.eventPairs(n, vector),
  };
  return cpu;
}

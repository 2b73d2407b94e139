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
import type { TlbConfig } from "../core/tlbModel.js";
import { EngineError } from "./engine.js";


// The build writes it to dist/; the path works from dist/vmm/ and from src/vmm/ (tests
// that import the sources).
const WASM_FILE = fileURLToPath(new URL("../../dist/vmxlab-core.wasm", import.meta.url));


interface CoreExports {
  memory: WebAssembly.Memory;
  allocateState(ramBytes: number): number;
  run(budget: number): number;
}

let compiled: WebAssembly.Module | null = null;

function coreModule(): WebAssembly.Module {
  if (compiled === null) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(WASM_FILE);
    } catch {
      throw new EngineError(`the wasm engine is not built (${WASM_FILE} is missing; run npm run build)`);
    }
    compiled = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return compiled;
}

/**
 * A Cpu whose hot loop runs as WebAssembly. `state` is a flat state to continue from
 * (as MachineOptions.state), copied into the module's memory.
 */
export function createWasmCpu(ramBytes: number, tlbs: { itlb?: TlbConfig; dtlb?: TlbConfig } = {}, state?: ArrayBuffer): Cpu {
  let cpu: Cpu | null = null;
  // The loop's calls into the host (core/hotHost.wasm.ts), answered by the Cpu on the same
  // memory, and the fault seam (core/fault.wasm.ts): throwing FAULT unwinds the wasm
  // frames to Core.run's catch, exactly as a fault does in the TS engine.
  const env = {
    abort(): never { throw new Error("the wasm engine aborted (an assertion in the AssemblyScript runtime)"); },
    fault(): never { throw FAULT; },
    decode: (lin: number, phys: number, at: number) => cpu!.decodeAt(lin, phys, at),
    nextPhys: (eip: number) => cpu!.nextPhys(eip),
    execute: (kind: number, at: number, info: number) => cpu!.execute(kind, at, info),
    load32: (at: number, info: number) => cpu!.load32(at, info),
    store32: (at: number, info: number, v: number) => cpu!.store32(at, info, v),
    writeE: (at: number, info: number, size: number, v: number) => cpu!.writeE(at, info, size, v),
    readByte: (at: number, info: number) => cpu!.readByteOperand(at, info),
    alu: (op: number, size: number, a: number, b: number) => cpu!.alu(op, size, a, b),
  };
  const exports = new WebAssembly.Instance(coreModule(), { env }).exports as unknown as CoreExports;
  const base = exports.allocateState(ramBytes) >>> 0;
  const buffer = exports.memory.buffer; // taken after the allocation grew the memory
  if (state !== undefined) new Uint8Array(buffer, base, state.byteLength).set(new Uint8Array(state));
  cpu = new Cpu(ramBytes, tlbs, buffer as ArrayBuffer, base, state !== undefined);
  cpu.wasmRun = exports.run;
  return cpu;
}

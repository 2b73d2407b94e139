// Shared set-up of the measurement kernel (bench/kernel/aluKernel.ts) for
// bench/engine-kernel.mjs and tests/engine-portable.test.ts: the bench-alu loop in guest
// RAM, a TS-engine Core that decodes it into the flat state's decode cache, and loaders
// for the kernel's two builds (tsc: dist/kernel-ts, asc: dist/bench-kernel.wasm).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dist = (p) => path.join(ROOT, "dist", p);

/** Where the loop sits in guest RAM, and the guest RAM size of every flat state here. */
export const CODE_AT = 0x1000;
export const RAM_BYTES = 64 * 1024;

/**
 * The timed loop of guests/bench-alu.asm (ten instructions, encodings from SDM 2A), with
 * `iter` iterations, followed by HLT. Hand-assembled; the test checks the decoder reads
 * the kinds the comment names.
 */
export function aluLoopCode(iter) {
  const imm = (v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  return Uint8Array.from([
    0x01, 0xd8, //             add eax, ebx       (01 /r)
    0x29, 0xf3, //             sub ebx, esi       (29 /r)
    0x31, 0xc6, //             xor esi, eax       (31 /r)
    0xc1, 0xe7, 0x03, //       shl edi, 3         (C1 /4 ib)
    0x01, 0xcf, //             add edi, ecx
    0x81, 0xf3, ...imm(0x5a5a5a5a), // xor ebx, 0x5A5A5A5A (81 /6 id)
    0x40, //                   inc eax            (40+rd)
    0x41, //                   inc ecx
    0x81, 0xf9, ...imm(iter), // cmp ecx, iter    (81 /7 id)
    0x75, 0xe5, //             jnz -27 (back to the add)
    0xf4, //                   hlt
  ]);
}

/** The registers bench-alu sets before its loop (EAX EBX ESI EDI, ECX = 0). */
export const LOOP_REGS = { 0: 0x12345678, 3: 0x9abcdef0 | 0, 6: 0x0f1e2d3c, 7: 0x4b5a6978, 1: 0 };

/**
 * A TS-engine Core (dist/core/interpreter.js) in flat 32-bit protected mode with the loop
 * in RAM and EIP on it. Running it fills the decode cache the kernel reads.
 */
export async function engineCore(iter) {
  const { Core } = await import(pathUrl(dist("core/interpreter.js")));
  const core = new Core(RAM_BYTES);
  const s = core.s;
  // CS: base 0, limit 4 GiB, 32-bit (what the guest's GDT gives it); CR0.PE.
  s[22 + 1] = 0; s[28 + 1] = -1; s[71] = 1; s[72] = 1; s[46] = 1;
  for (const [r, v] of Object.entries(LOOP_REGS)) s[Number(r)] = v;
  s[8] = CODE_AT;
  core.ram.set(aluLoopCode(iter), CODE_AT);
  core.syncMode();
  return core;
}

function pathUrl(p) {
  return new URL(`file://${p}`).href;
}

/** The kernel as tsc compiled it: runKernel(s, d, budget). */
export async function tsKernel() {
  return (await import(pathUrl(dist("kernel-ts/bench/kernel/aluKernel.js")))).runKernel;
}

/**
 * The accessor-style twin as tsc compiled it: attach(words) points ld/st at a flat state
 * (an Int32Array over all of it), then runKernelFlat(budget).
 */
export async function tsKernelFlat() {
  const { runKernelFlat } = await import(pathUrl(dist("kernel-ts/bench/kernel/aluKernelFlat.js")));
  const { attach } = await import(pathUrl(dist("kernel-ts/bench/kernel/flatMemory.js")));
  return { attach, run: runKernelFlat };
}

/**
 * Both kernels as asc compiled them, with their own flat state of RAM_BYTES in wasm
 * memory: run (typed-array style) and runFlat (raw loads and stores), and faultProbe.
 */
export async function wasmKernel() {
  const { FAULT } = await import(pathUrl(dist("core/fault.js")));
  const bytes = fs.readFileSync(dist("bench-kernel.wasm"));
  const env = {
    abort() { throw new Error("wasm abort"); },
    hostFault() { throw FAULT; }, // the TS engine's one fault object (core/fault.ts)
  };
  const { instance } = await WebAssembly.instantiate(bytes, { env });
  const x = instance.exports;
  const base = x.allocateState(RAM_BYTES);
  return { run: x.run, runFlat: x.runFlat, faultProbe: x.faultProbe, memory: x.memory, base, FAULT };
}

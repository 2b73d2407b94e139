// npm run bench:kernel: the measurement behind docs/engine-decision.md. Runs the
// register-only loop of guests/bench-alu.asm three ways on this host, from the same
// decoded records in the same flat-state layout:
//   engine    the TS engine's hot loop (dist/core/interpreter.js Core.run), for reference
//   kernel-ts bench/kernel/aluKernel.ts compiled by tsc, run by V8
//   kernel-wasm the same source compiled by asc (dist/bench-kernel.wasm)
//   acc-ts, acc-wasm  the accessor-style twin (aluKernelFlat.ts): flat-state words through
//             ld()/st(), an Int32Array under tsc, raw load/store under asc
//   w2j, acc-w2j  with --wasm2js: the asc build turned back into JavaScript by binaryen's
//             wasm2js (asm.js style over one heap), run by V8
// Each run executes N instructions in calls of at most 2^20 (as Cpu.runFor slices the
// real loop); the best of K runs is reported, because this host is shared and noisy.
//
//   node bench/engine-kernel.mjs [--n INSTRUCTIONS] [--repeat K] [--wasm2js]
import os from "node:os";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { engineCore, tsKernel, tsKernelFlat, wasmKernel } from "./kernel/harness.mjs";
import { DECODE_OFFSET, RAM_OFFSET } from "../dist/state/layout.js";

// Word indices from state/layout.ts (a const enum, so not in the emitted JS).
const Reg = { EAX: 0, STATE_WORDS: 96 };

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`engine-kernel: ${name} takes a positive integer`);
    process.exit(2);
  }
  return v;
};
const N = opt("--n", 30_000_000);
const REPEAT = opt("--repeat", 5);
const SLICE = 1 << 20;
const ITER = Math.ceil(N / 10) + 1000; // the loop must not end inside the run

/** A Core that has run the first iterations, so the loop sits in its decode cache. */
async function warmCore() {
  const core = await engineCore(ITER);
  if (core.run(1000) !== 0) throw new Error("warm-up did not run 1000 instructions");
  return core;
}

function time(run) {
  let left = N;
  const t0 = process.hrtime.bigint();
  while (left > 0) {
    const b = Math.min(left, SLICE);
    const exit = run(b);
    if (exit !== 0) throw new Error(`run stopped early with exit ${exit}`);
    left -= b;
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** dist/bench-kernel.wasm through wasm2js, as an ES module with its one import inlined. */
async function wasm2jsKernel() {
  const out = new URL("../dist/bench-kernel.w2j.mjs", import.meta.url);
  if (!fs.existsSync(out)) {
    const js = execFileSync(new URL("../node_modules/.bin/wasm2js", import.meta.url).pathname,
      [new URL("../dist/bench-kernel.wasm", import.meta.url).pathname, "-O3", "--enable-nontrapping-float-to-int",
        "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals"], { encoding: "utf8", maxBuffer: 1 << 26 });
    fs.writeFileSync(out, js.replace("import * as env from 'env';", "const env = { abort() { throw new Error('wasm abort'); } };"));
  }
  const k = await import(out.href);
  return k;
}

const runs = {
  async engine() {
    const core = await warmCore();
    return { secs: time((b) => core.run(b)), eax: core.s[Reg.EAX] };
  },
  async "kernel-ts"() {
    const core = await warmCore();
    const buf = new Uint8Array(core.buffer).slice().buffer;
    const s = new Int32Array(buf, 0, Reg.STATE_WORDS), d = new Int32Array(buf, DECODE_OFFSET);
    const k = await tsKernel();
    return { secs: time((b) => k(s, d, b)), eax: s[Reg.EAX] };
  },
  async "kernel-wasm"() {
    const core = await warmCore();
    const w = await wasmKernel();
    const bytes = new Uint8Array(core.buffer);
    new Uint8Array(w.memory.buffer, w.base, bytes.length).set(bytes);
    const secs = time((b) => w.run(b));
    return { secs, eax: new Int32Array(w.memory.buffer, w.base, Reg.STATE_WORDS)[Reg.EAX] };
  },
  async "acc-ts"() {
    const core = await warmCore();
    const buf = new Uint8Array(core.buffer).slice().buffer;
    const k = await tsKernelFlat();
    const words = new Int32Array(buf);
    k.attach(words);
    return { secs: time((b) => k.run(b)), eax: words[Reg.EAX] };
  },
  async "acc-wasm"() {
    const core = await warmCore();
    const w = await wasmKernel();
    const bytes = new Uint8Array(core.buffer);
    new Uint8Array(w.memory.buffer, w.base, bytes.length).set(bytes);
    const secs = time((b) => w.runFlat(b));
    return { secs, eax: new Int32Array(w.memory.buffer, w.base, Reg.STATE_WORDS)[Reg.EAX] };
  },
};

if (args.includes("--wasm2js")) {
  const k = await wasm2jsKernel();
  for (const [name, fn] of [["w2j", "run"], ["acc-w2j", "runFlat"]]) {
    runs[name] = async () => {
      const core = await warmCore();
      const base = k.allocateState(core.buffer.byteLength - RAM_OFFSET); // the same RAM size
      const bytes = new Uint8Array(core.buffer);
      new Uint8Array(k.memory.buffer, base, bytes.length).set(bytes);
      const secs = time((b) => k[fn](b));
      return { secs, eax: new Int32Array(k.memory.buffer, base, Reg.STATE_WORDS)[Reg.EAX] };
    };
  }
}

const asc = JSON.parse(fs.readFileSync(new URL("../node_modules/assemblyscript/package.json", import.meta.url), "utf8")).version;
console.log(`host: ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log(`node ${process.version} (V8 ${process.versions.v8}), assemblyscript ${asc}`);
console.log(`${N.toLocaleString("en-US")} instructions of the bench-alu loop per run, best of ${REPEAT}, calls of <= ${SLICE}`);
const best = {};
let eax;
for (let r = 0; r < REPEAT; r++) {
  // Interleaved, so a burst of load from other processes hits every variant alike.
  for (const [name, run] of Object.entries(runs)) {
    const { secs, eax: e } = await run();
    if (eax === undefined) eax = e;
    else if (e !== eax) throw new Error(`${name} ended with EAX ${e}, the first run with ${eax}`);
    const mips = N / secs / 1e6;
    best[name] = Math.max(best[name] ?? 0, mips);
    console.log(`  ${name.padEnd(12)} run ${r + 1}: ${mips.toFixed(1)} MIPS`);
  }
}
// Cost of one fault signalled from wasm by a throwing import (docs/engine-decision.md).
{
  const w = await wasmKernel();
  const FAULTS = 100000;
  let bestNs = Infinity;
  for (let r = 0; r < REPEAT; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < FAULTS; i++) {
      try { w.faultProbe(-1); } catch (e) { if (e !== w.FAULT) throw e; }
    }
    bestNs = Math.min(bestNs, Number(process.hrtime.bigint() - t0) / FAULTS);
  }
  console.log(`fault from wasm through a throwing import, caught in JS: ${bestNs.toFixed(0)} ns (best of ${REPEAT})`);
}
console.log("\nvariant       best MIPS  vs engine");
for (const [name, mips] of Object.entries(best)) {
  console.log(`${name.padEnd(12)}  ${mips.toFixed(1).padStart(9)}  ${(mips / best.engine).toFixed(2).padStart(8)}x`);
}

// npm run bench:micro -- micro-benchmarks (tinybench) of the parts of the hot path that a
// change can slow down without changing any result: the decoder, the TLB lookup, and
// memory access through CoreMemory. They import the compiled library (dist/, built by
// `npm run bench:micro`) and print operations per second, so a regression shows as a
// drop in one row. Numbers only mean something against a run on the same machine.
//
//   node bench/micro.mjs [--time MS] [--json FILE]
//
// Each task does BATCH operations per call (one call of a few nanoseconds is below what
// a timer resolves). ns/op is the median call time / BATCH and ops/s its inverse: the
// median, because on a shared host the mean carries every GC pause and preemption.
//
// The machine state comes from real guests, not from poking registers: bench-kernel.img
// runs until it has turned paging on (4 KiB pages: 0-4 MiB identity-mapped through one
// page table, two-level walks), bench-mem.img until its buffer at 1 MiB is filled
// (paging off). Only public members and the decoder's documented entry points are
// used, except Core.decodeAt, the cache fill the hot loop itself calls.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Bench } from "tinybench";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BATCH = 1000;

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined) {
    console.error(`bench:micro: ${name} needs a value`);
    process.exit(2);
  }
  return v;
}
const timeMs = Number(option("--time", "500"));
if (!(timeMs > 0)) {
  console.error("bench:micro: --time takes a positive number of milliseconds");
  process.exit(2);
}
const jsonOut = option("--json", null);

const dist = (p) => pathToFileURL(path.join(ROOT, "dist", p)).href;
let lib, decoder;
try {
  lib = await import(dist("index.js"));
  decoder = await import(dist("isa/decode.js"));
} catch (e) {
  console.error(`bench:micro: the library is not built (npm run build): ${String(e?.message ?? e).split("\n")[0]}`);
  process.exit(1);
}

/** A Machine that has run `image` until `ready(machine)` holds (checked every 1,000 instructions). */
function machineAt(image, ready) {
  const m = new lib.Machine({ ramBytes: 32 << 20 });
  m.onSerial = () => {};
  m.loadImage(new Uint8Array(fs.readFileSync(path.join(ROOT, "guests", image))), { name: image });
  for (let i = 0; i < 10_000 && !ready(m); i++) {
    const r = m.run({ maxInstructions: 1000 });
    if (r.reason !== "limit") throw new Error(`${image} stopped (${r.reason}) before the state the benchmark needs`);
  }
  if (!ready(m)) throw new Error(`${image} never reached the state the benchmark needs`);
  return m;
}

// An instruction mix, assembled by NASM (bits 32) from:
//   mov eax,ebx / mov eax,[esi+ebx] / movzx edx,byte [esi+ebx+1] / add [esi+ebx*4+0x10],eax /
//   mov [0x12345678],ecx / lea edi,[eax+ecx*2+0x40] / push ebp / pop edi /
//   add eax,0x9E3779B9 / cmp ecx,65536 / jnz $+0x20 / call $+0x100 / ret / shl eax,5 /
//   imul ebx,ecx,12 / xor edx,edx / test al,0x40 / inc ecx / dec dword [ebp-8] / rep movsd /
//   out dx,al / in al,dx / int 0x80 / mov ax,[bx+si] / lock add [edi],eax /
//   o16 mov word [eax],0x1234 / setz al / mov cr3,eax / invlpg [edi] / iretd
const MIX = Buffer.from(
  "89d88b041e0fb6541e0101449e10890d785634128d7c4840555f05b979379e81f900000100751ee8fb000000c3c1e0056bd90c31d2a84041ff4df8f3a5eeeccd8066678b00f0010766c70034120f94c00f22d80f013fcf",
  "hex",
);

// Instruction start offsets in MIX, found by decoding it once (and checked: 30 of them).
const record = new Int32Array(decoder.DECODED_WORDS);
const starts = [];
{
  let pos = 0;
  while (pos < MIX.length) {
    const at = pos;
    const len = decoder.decode({ byteAt: (o) => MIX[at + o] }, true, record, 0);
    if (len <= 0) throw new Error(`mix does not decode at offset ${at}`);
    starts.push(at);
    pos += len;
  }
  if (starts.length !== 30) throw new Error(`expected 30 instructions in the mix, decoded ${starts.length}`);
}

const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs) });
const notes = {};

// --- Decoder ---------------------------------------------------------------------------
{
  let base = 0;
  const src = { byteAt: (o) => MIX[base + o] };
  const out = new Int32Array(decoder.DECODED_WORDS * starts.length);
  bench.add("decode: instruction mix (isa/decode.ts, from a byte array)", () => {
    for (let k = 0; k < BATCH; k++) {
      const i = k % starts.length;
      base = starts[i];
      decoder.decode(src, true, out, i * decoder.DECODED_WORDS);
    }
  });
  notes["decode: instruction mix (isa/decode.ts, from a byte array)"] = "30 instructions, decoded in turn";
}
{
  // The cache fill: fetch through the TLB, decode, specialize, tag the slot. The mix
  // is copied into guest RAM at 2 MiB (paging off: bench-mem.img after its fill loop).
  const m = machineAt("bench-mem.img", isFilled);
  const cpu = m.cpu;
  const CODE = 0x200000;
  cpu.ram.set(MIX, CODE);
  if (typeof cpu.decodeAt !== "function") throw new Error("Core.decodeAt is gone: update bench/micro.mjs");
  const slotWords = decoder.DECODED_WORDS;
  bench.add("decodeAt: instruction mix into the decode cache (core/interpreter.ts)", () => {
    for (let k = 0; k < BATCH; k++) {
      const i = k % starts.length;
      const lin = CODE + starts[i];
      cpu.decodeAt(lin, lin, (lin & 0xffff) * slotWords);
    }
  });
  notes["decodeAt: instruction mix into the decode cache (core/interpreter.ts)"] = "fetch + decode + specialize + tag, paging off";
}

function isFilled(m) {
  // bench-mem.img fills 65,537 dwords from 1 MiB: the guard dword at 1 MiB + 64 KiB is
  // its last store (0x12345678 + 65,536 x 0x9E3779B9 mod 2^32, never 0).
  return m.cpu.ram32[(0x100000 + 65536) / 4] !== 0;
}

// --- TLB lookup and memory access, paging on --------------------------------------------
{
  const m = machineAt("bench-kernel.img", (mm) => mm.cpu.paging);
  const cpu = m.cpu;
  // 0-4 MiB is mapped by 4 KiB pages (bench-kernel.asm). 8 pages fit in the 64-entry
  // data TLB (hits after the first pass); 1,024 pages do not (4-way LRU, 16 sets: every
  // access misses and walks).
  const HIT_PAGES = 8, MISS_PAGES = 1024;
  bench.add("TLB: translation hit (xlateRead, 8 pages)", () => {
    let x = 0;
    for (let k = 0; k < BATCH; k++) x ^= cpu.xlateRead(((k & (HIT_PAGES - 1)) << 12) | 0x10);
    return x;
  });
  bench.add("TLB: translation miss, 2-level walk (xlateRead, 1,024 pages)", () => {
    let x = 0;
    for (let k = 0; k < BATCH; k++) x ^= cpu.xlateRead((((k * 17) & (MISS_PAGES - 1)) << 12) | 0x10);
    return x;
  });
  notes["TLB: translation miss, 2-level walk (xlateRead, 1,024 pages)"] = "pages visited with stride 17 so every access evicts";
  const BUF = 0x300000; // 3 MiB: inside the identity map, unused by the guest
  bench.add("memory: rd32 paged (TLB hits, 16 KiB)", () => {
    let x = 0;
    for (let k = 0; k < BATCH; k++) x ^= cpu.rd32(BUF + ((k * 4) & 0x3ffc));
    return x;
  });
  bench.add("memory: wr32 paged (TLB hits, 16 KiB)", () => {
    for (let k = 0; k < BATCH; k++) cpu.wr32(BUF + ((k * 4) & 0x3ffc), k);
  });
}
{
  const m = machineAt("bench-mem.img", isFilled);
  const cpu = m.cpu;
  if (cpu.paging) throw new Error("bench-mem.img should run with paging off");
  const BUF = 0x100000;
  bench.add("memory: rd32 flat (paging off, 16 KiB)", () => {
    let x = 0;
    for (let k = 0; k < BATCH; k++) x ^= cpu.rd32(BUF + ((k * 4) & 0x3ffc));
    return x;
  });
  bench.add("memory: wr32 flat (paging off, 16 KiB)", () => {
    for (let k = 0; k < BATCH; k++) cpu.wr32(BUF + ((k * 4) & 0x3ffc), k);
  });
}

await bench.run();

const cpus = os.cpus();
console.log(`${cpus[0]?.model?.trim()}, ${cpus.length} cores, Node ${process.version}; tinybench, ${timeMs} ms per task, ${BATCH} operations per call`);
const rows = [];
for (const task of bench.tasks) {
  const r = task.result;
  if (r.state !== "completed") {
    rows.push({ name: task.name, error: r.error ? String(r.error.message ?? r.error) : r.state });
    continue;
  }
  rows.push({
    name: task.name,
    opsPerSecond: (BATCH * 1e3) / r.latency.p50,
    nsPerOp: (r.latency.p50 * 1e6) / BATCH,
    rmePercent: r.latency.rme,
    samples: r.latency.samplesCount ?? r.latency.samples?.length ?? null,
    note: notes[task.name] ?? null,
  });
}
const w = Math.max(...rows.map((r) => r.name.length));
console.log(`${"task".padEnd(w)}  ${"ops/s".padStart(14)}  ${"ns/op".padStart(8)}  ${"rme %".padStart(6)}`);
for (const r of rows) {
  if (r.error) console.log(`${r.name.padEnd(w)}  error: ${r.error}`);
  else console.log(`${r.name.padEnd(w)}  ${Math.round(r.opsPerSecond).toLocaleString("en-US").padStart(14)}  ${r.nsPerOp.toFixed(2).padStart(8)}  ${r.rmePercent.toFixed(1).padStart(6)}`);
}
if (jsonOut) {
  fs.writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), cpu: cpus[0]?.model, cores: cpus.length, node: process.version, timeMs, batch: BATCH, rows }, null, 2) + "\n");
  console.log(`wrote ${jsonOut}`);
}
process.exitCode = rows.some((r) => r.error) ? 1 : 0;

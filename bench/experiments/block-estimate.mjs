// An estimate, not part of vmxlab: what compiling decoded instructions into straight-line
// JavaScript blocks would gain over the interpreter (docs/engine-decision.md, "Next: block
// compilation"). bench-alu's ten-instruction loop is written out as a naive block compiler
// would emit it: operands as constants, registers still in the flat state, every lazy-flag
// store and every retire counter kept, no liveness analysis. It runs the loop's 300 M
// instructions and must end with the guest's own checksum (FB64818A, which Bochs, QEMU and
// v86 print too); the interpreters run the real guest in the same process, alternating, so
// they share the host's noise.
//
//   npm run build && node bench/experiments/block-estimate.mjs [--repeat K]

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { Machine } = await import(pathToFileURL(path.join(ROOT, "dist/index.js")).href);
const i = process.argv.indexOf("--repeat");
const repeat = i > 0 ? Number(process.argv[i + 1]) : 3;
const ITER = 30_000_000, BODY = 10; // guests/bench-alu.asm
// State words (src/state/layout.ts Reg, a const enum that tsc does not emit).
const EAX = 0, ECX = 1, EBX = 3, ESI = 6, EDI = 7, EFL = 9;
const LOP = 10, LRES = 11, LDST = 12, LSRC = 13, LSIZE = 14, STATE_WORDS = 128;
const ADD = 1, SUB = 3, LOGIC = 5, INC = 6; // lazyFlags.ts Lazy

// The handlers a block would call (the same stores the hot loop's inline cases make).
function alu(s, op, dst, b) {
  const a = s[dst];
  let r;
  if (op === 0) { r = (a + b) | 0; s[LOP] = ADD; } else if (op === 5 || op === 7) { r = (a - b) | 0; s[LOP] = SUB; } else { r = a ^ b; s[LOP] = LOGIC; }
  s[LSIZE] = 4; s[LDST] = a; s[LSRC] = b; s[LRES] = r;
  if (op !== 7) s[dst] = r;
}
function inc(s, r) {
  const v = s[r], res = (v + 1) | 0;
  const cf = s[LOP] === ADD ? ((s[LRES] >>> 0) < (s[LDST] >>> 0) ? 1 : 0) : s[LOP] === LOGIC ? 0 : s[EFL] & 1;
  s[EFL] = (s[EFL] & ~1) | cf;
  s[r] = res; s[LOP] = INC; s[LSIZE] = 4; s[LDST] = v; s[LSRC] = 1; s[LRES] = res;
}
function shl(s, r, c) {
  const v = s[r], res = v << c, cf = (v >>> (32 - c)) & 1;
  s[r] = res;
  s[EFL] = (s[EFL] & ~0x8d5) | cf | ((((res >>> 31) ^ cf) & 1) << 11) | (res === 0 ? 0x40 : 0) | ((res >>> 31) << 7);
  s[LOP] = 0;
}
// The loop body as one block; d holds a retire counter per table row.
function block(s, d) {
  alu(s, 0, EAX, s[EBX]); d[0]++;
  alu(s, 5, EBX, s[ESI]); d[1]++;
  alu(s, 6, ESI, s[EAX]); d[2]++;
  shl(s, EDI, 3); d[3]++;
  alu(s, 0, EDI, s[ECX]); d[0]++;
  alu(s, 6, EBX, 0x5A5A5A5A); d[4]++;
  inc(s, EAX); d[5]++;
  inc(s, ECX); d[5]++;
  alu(s, 7, ECX, ITER); d[6]++;
  d[7]++; // JNZ
  return s[LRES] !== 0;
}

function runBlocks() {
  const s = new Int32Array(STATE_WORDS), d = new Int32Array(8);
  s[EAX] = 0x12345678; s[EBX] = 0x9ABCDEF0 | 0; s[ESI] = 0x0F1E2D3C; s[EDI] = 0x4B5A6978;
  const t = process.hrtime.bigint();
  let n = 0;
  while (block(s, d)) n += BODY;
  n += BODY;
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  const sum = (s[EAX] + s[EBX] + s[ESI] + s[EDI] + s[ECX]) >>> 0;
  if (sum !== 0xFB64818A || n !== ITER * BODY) throw new Error(`block estimate: checksum ${sum.toString(16)}, ${n} instructions`);
  return n / secs / 1e6;
}

function runGuest(engine) {
  const m = new Machine({ engine });
  m.loadImage(fs.readFileSync(path.join(ROOT, "guests/bench-alu.img")), {});
  let t2 = 0n, t3 = 0n;
  m.onSerial = (b) => { if (b === 2) t2 = process.hrtime.bigint(); else if (b === 3) t3 = process.hrtime.bigint(); };
  m.run({ maxInstructions: 2e9 });
  return (ITER * BODY + 8) / (Number(t3 - t2) / 1e9) / 1e6; // bench-alu.asm NINSN in its timed region
}

const best = { block: 0, ts: 0, wasm: 0 };
for (let k = 0; k < repeat; k++) {
  best.block = Math.max(best.block, runBlocks());
  best.ts = Math.max(best.ts, runGuest("ts"));
  best.wasm = Math.max(best.wasm, runGuest("wasm"));
}
console.log(`bench-alu, best of ${repeat}, MIPS: naive block ${best.block.toFixed(0)}, TS interpreter ${best.ts.toFixed(0)}, wasm interpreter ${best.wasm.toFixed(0)}; block/TS ${(best.block / best.ts).toFixed(2)}x, block/wasm ${(best.block / best.wasm).toFixed(2)}x`);

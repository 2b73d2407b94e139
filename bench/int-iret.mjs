// Cost of one protected-mode event delivery with a stack switch and its IRETD, without
// the hot loop: boots guests/bench-kernel.img until it runs in ring 3 (3,000,000
// instructions), then delivers INT 0x80 (through its DPL-3 interrupt gate: TSS stack, five
// pushes) and returns with IRETD (back to ring 3), N times, three ways:
//   general   cpu.deliver(0x80, ...) and cpu.iret(true) on the TS engine: the path cpu/
//             takes (core/protectedEvent.ts first, with the bookkeeping around it);
//   ts        deliverProtected and iretProtected (core/protectedEvent.ts) as tsc built them;
//   wasm      the same two as asc built them, in the wasm engine's module (its eventPairs).
// Prints the best nanoseconds per pair of each way and build given, alternating builds.
//
//   node bench/int-iret.mjs DIST... [--repeat K] [--pairs N]

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = "usage: node bench/int-iret.mjs DIST... [--repeat K] [--pairs N]";
const dists = [];
let repeat = 7, pairs = 300000;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const count = () => {
    const n = Number(argv[++i]);
    if (!Number.isInteger(n) || n < 1) { console.error(`int-iret: ${a} takes an integer >= 1\n${USAGE}`); process.exit(2); }
    return n;
  };
  if (a === "--repeat") repeat = count();
  else if (a === "--pairs") pairs = count();
  else if (a.startsWith("-")) { console.error(`int-iret: unknown option '${a}'\n${USAGE}`); process.exit(2); }
  else dists.push(path.resolve(a));
}
if (dists.length === 0) dists.push(path.join(ROOT, "dist"));

const image = fs.readFileSync(path.join(ROOT, "guests/bench-kernel.img"));
const SOFTWARE = 0; // cpu/interrupts.ts Source.SOFTWARE: INT n checks the gate's DPL
const EIP = 8, CS_SEL = 17; // state/layout.ts Reg.EIP, Reg.SEG_SEL + Seg.CS
const best = new Map();
const builds = [];
for (const d of dists) {
  builds.push([d, await import(pathToFileURL(path.join(d, "index.js")).href), await import(pathToFileURL(path.join(d, "core/protectedEvent.js")).href)]);
}

/** A Machine of `mod` on `engine`, in ring 3 of bench-kernel's timed loop. */
function inRing3(mod, engine) {
  const m = new mod.Machine({ ramBytes: 32 << 20, engine });
  m.loadImage(image, { name: "bench-kernel" });
  m.run({ maxInstructions: 3_000_000 });
  if ((m.cpu.s[CS_SEL] & 3) !== 3) throw new Error("bench-kernel is not in ring 3 after 3,000,000 instructions");
  return m.cpu;
}

/** Nanoseconds per pair of `pairsOf(n)`, which must do n pairs. */
function timed(pairsOf) {
  const t = process.hrtime.bigint();
  pairsOf(pairs);
  return Number(process.hrtime.bigint() - t) / pairs;
}

const WAYS = {
  general(mod) {
    const c = inRing3(mod, "ts");
    return timed((n) => {
      for (let i = 0; i < n; i++) { c.deliver(0x80, 0, false, SOFTWARE, c.s[EIP]); c.iret(true); }
    });
  },
  ts(mod, pe) {
    const c = inRing3(mod, "ts"), h = c.hot;
    return timed((n) => {
      for (let i = 0; i < n; i++) {
        if (!pe.deliverProtected(h, 0x80, 0, false, true, c.s[EIP]) || !pe.iretProtected(h)) throw new Error("int-iret: core/protectedEvent.ts declined the pair");
      }
    });
  },
  wasm(mod) {
    const c = inRing3(mod, "wasm");
    return timed((n) => {
      if (c.wasmLoop.eventPairs(n, 0x80) !== n) throw new Error("int-iret: the wasm build of core/protectedEvent.ts declined the pair");
    });
  },
};

for (let rep = 0; rep < repeat; rep++) {
  for (const [d, mod, pe] of builds) {
    for (const [way, run] of Object.entries(WAYS)) {
      const key = `${d} ${way}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, run(mod, pe)));
    }
  }
}
for (const [key, ns] of best) console.log(`${key}: ${ns.toFixed(0)} ns per INT 0x80 + IRETD (best of ${repeat} x ${pairs})`);

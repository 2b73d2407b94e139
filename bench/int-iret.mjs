// Cost of one protected-mode event delivery with a stack switch and its IRETD, without
// the hot loop: boots guests/bench-kernel.img until it runs in ring 3 (3,000,000
// instructions), then calls cpu.deliver(0x80, ...) (INT 0x80 through its DPL-3 interrupt
// gate: TSS stack, five pushes) and cpu.iret(true) (back to ring 3) N times. Prints the best
// nanoseconds per pair of each build given, alternating between them.
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
for (const d of dists) builds.push([d, await import(pathToFileURL(path.join(d, "index.js")).href)]);
for (let rep = 0; rep < repeat; rep++) {
  for (const [d, mod] of builds) {
    const m = new mod.Machine({ ramBytes: 32 << 20 });
    m.loadImage(image, { name: "bench-kernel" });
    m.run({ maxInstructions: 3_000_000 });
    const c = m.cpu;
    if ((c.s[CS_SEL] & 3) !== 3) throw new Error("bench-kernel is not in ring 3 after 3,000,000 instructions");
    const t = process.hrtime.bigint();
    for (let i = 0; i < pairs; i++) {
      c.deliver(0x80, 0, false, SOFTWARE, c.s[EIP]);
      c.iret(true);
    }
    const ns = Number(process.hrtime.bigint() - t) / pairs;
    best.set(d, Math.min(best.get(d) ?? Infinity, ns));
  }
}
for (const [d, ns] of best) console.log(`${d}: ${ns.toFixed(0)} ns per INT 0x80 + IRETD (best of ${repeat} x ${pairs})`);

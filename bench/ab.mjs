// A/B of two builds of vmxlab in one Node process: fresh Machine runs of the bench
// guests, alternating between the builds (base, new, new, base, ...), each timed between
// the guest's 0x02 and 0x03 marker bytes (docs/benchmark.md). Prints the best and median
// wall time and process CPU time of each build, their ratios new/base, every run, and
// whether the two builds ended each guest identically: exit, instructions, cycle count,
// every event counter, both TLB models' hits/misses/evictions, final EIP and serial output.
//
//   node bench/ab.mjs BASE_DIST NEW_DIST [--repeat K] [--guest NAME]... [--engine ts|wasm]
//
// BASE_DIST and NEW_DIST are `dist` directories built with `npx tsc -p tsconfig.json` (each
// needs its `../src/cost/profiles`), e.g. a worktree of the base commit:
//   git worktree add /tmp/base COMMIT && ln -s $PWD/node_modules /tmp/base/ && (cd /tmp/base && npx tsc -p tsconfig.json)
//   node bench/ab.mjs /tmp/base/dist dist --repeat 9 --guest bench-kernel

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GUESTS = ["bench-kernel", "bench-alu", "bench-mem", "bench-mem-paged"];
const USAGE = "usage: node bench/ab.mjs BASE_DIST NEW_DIST [--repeat K] [--guest NAME]... [--engine ts|wasm]";

function fail(msg) {
  console.error(`ab: ${msg}`);
  console.error(USAGE);
  process.exit(2);
}

const dists = [];
const guests = [];
let repeat = 5;
let engine; // the builds' default unless --engine names one
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--repeat") {
    repeat = Number(argv[++i]);
    if (!Number.isInteger(repeat) || repeat < 1) fail("--repeat takes an integer >= 1");
  } else if (a === "--engine") {
    engine = argv[++i];
    if (engine !== "ts" && engine !== "wasm") fail("--engine takes ts or wasm");
  } else if (a === "--guest") {
    const g = String(argv[++i] ?? "").replace(/\.img$/, "").replace(/^.*\//, "");
    if (!GUESTS.includes(g)) fail(`unknown guest '${g}' (have: ${GUESTS.join(", ")})`);
    guests.push(g);
  } else if (a === "-h" || a === "--help") {
    console.log(USAGE);
    process.exit(0);
  } else if (a.startsWith("-")) {
    fail(`unknown option '${a}'`);
  } else dists.push(path.resolve(a));
}
if (dists.length !== 2) fail("give two dist directories");
for (const d of dists) if (!fs.existsSync(path.join(d, "index.js"))) fail(`${d}/index.js missing (build it with npx tsc -p tsconfig.json)`);
if (guests.length === 0) guests.push(...GUESTS);

const builds = [];
for (const [i, d] of dists.entries()) builds.push({ name: i === 0 ? "base" : "new", mod: await import(pathToFileURL(path.join(d, "index.js")).href) });

function runOnce(mod, guest) {
  const m = new mod.Machine({ ramBytes: 32 << 20, engine });
  m.loadImage(fs.readFileSync(path.join(ROOT, "guests", `${guest}.img`)), { name: guest });
  let out = "", t2 = 0n, t3 = 0n, c2 = null, c3 = null;
  m.onSerial = (byte) => {
    const b = byte & 0xff;
    if (b === 0x02 && t2 === 0n) { t2 = process.hrtime.bigint(); c2 = process.cpuUsage(); }
    else if (b === 0x03 && t2 !== 0n && t3 === 0n) { t3 = process.hrtime.bigint(); c3 = process.cpuUsage(c2); }
    out += String.fromCharCode(b);
  };
  const r = m.run({ maxInstructions: 2e9 });
  if (t3 === 0n) throw new Error(`${guest} did not write both markers (${r.reason})`);
  const c = m.cpu;
  const signature = JSON.stringify({
    reason: r.reason, exitCode: r.exitCode, instructions: r.instructions, cycles: c.accounting.cycles(),
    counts: Array.from(c.counts), eip: c.s[8],
    dtlb: [c.dtlb.hits, c.dtlb.misses, c.dtlb.evictions], itlb: [c.itlb.hits, c.itlb.misses, c.itlb.evictions], out,
  });
  return { wall: Number(t3 - t2) / 1e9, cpu: (c3.user + c3.system) / 1e6, signature, instructions: r.instructions, cycles: c.accounting.cycles(), out };
}

const best = (a) => Math.min(...a);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const f3 = (x) => x.toFixed(3);
for (const guest of guests) {
  const wall = { base: [], new: [] }, cpu = { base: [], new: [] }, sig = {};
  let last;
  for (let k = 0; k < repeat; k++) {
    for (const b of k % 2 === 0 ? builds : [...builds].reverse()) {
      const r = runOnce(b.mod, guest);
      wall[b.name].push(r.wall); cpu[b.name].push(r.cpu);
      if (sig[b.name] === undefined) sig[b.name] = r.signature;
      else if (sig[b.name] !== r.signature) console.log(`${guest}: two runs of the ${b.name} build ended differently`);
      last = r;
    }
  }
  const same = sig.base === sig.new;
  console.log(`${guest}: ${same ? "identical" : "DIFFERENT"} end state; instructions ${last.instructions}, cycles ${last.cycles}, serial ${JSON.stringify(last.out.replace(/[\x02\x03]/g, "").trim().split("\n").join(" | "))}`);
  console.log(`  wall s: best base ${f3(best(wall.base))} new ${f3(best(wall.new))} (new/base ${f3(best(wall.new) / best(wall.base))}), median new/base ${f3(median(wall.new) / median(wall.base))}`);
  console.log(`  cpu  s: best base ${f3(best(cpu.base))} new ${f3(best(cpu.new))} (new/base ${f3(best(cpu.new) / best(cpu.base))}), median new/base ${f3(median(cpu.new) / median(cpu.base))}`);
  console.log(`  wall runs base ${wall.base.map(f3).join(" ")} | new ${wall.new.map(f3).join(" ")}`);
  if (!same) process.exitCode = 1;
}

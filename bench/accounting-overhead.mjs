// npm run bench:accounting -- what per-instruction cycle accounting costs the hot loop.
//
// Builds a second copy of vmxlab, both engines, whose hot loop does not count retirements
// (the lines that touch the retire counters in src/core/hotLoop.ts are removed: tsc builds
// the copy's TS engine and asc its wasm engine from that one source; so are the counting
// steps the block compiler plans for both engines' blocks), then runs each bench
// guest on both builds, alternating, and reports the best time of each, per engine. The
// copy without counting computes wrong cycles; it exists only to be timed.
//
//   node bench/accounting-overhead.mjs [--repeat K] [--instructions N]

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GUESTS = ["bench-alu", "bench-mem", "bench-mem-paged", "bench-kernel"];
const COUNT_LINE = /^\s*d\[RETIRE_COUNTER_WORD \+ d\[at \+ Dw\.COUNTER\]\](\+\+|--);.*$/gm;
// The one place a block's plan gets its counting steps (Step.COUNT), which both block
// emitters (JS and wasm) turn into counter adds.
const BLOCK_COUNT = /for \(const \[counter, n\] of this\.n\) this\.steps\.push\(\{ step: Step\.COUNT, counter, n \}\);/g;

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) { console.error(`${name} needs a positive integer`); process.exit(2); }
  return v;
}
const repeat = option("--repeat", 5);
const instructions = option("--instructions", 100_000_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-nocount-"));
try {
  fs.cpSync(path.join(ROOT, "src"), path.join(tmp, "src"), { recursive: true });
  fs.cpSync(path.join(ROOT, "assembly"), path.join(tmp, "assembly"), { recursive: true });
  fs.cpSync(path.join(ROOT, "tools"), path.join(tmp, "tools"), { recursive: true });
  for (const f of ["tsconfig.json", "package.json", "asconfig.json"]) fs.copyFileSync(path.join(ROOT, f), path.join(tmp, f)); // package.json: ESM
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(tmp, "node_modules"));
  const loop = path.join(tmp, "src/core/hotLoop.ts");
  const text = fs.readFileSync(loop, "utf8");
  const removed = text.match(COUNT_LINE)?.length ?? 0;
  if (removed < 3) throw new Error(`expected the 3 retire-counter lines in hotLoop.ts, found ${removed}: update COUNT_LINE`);
  fs.writeFileSync(loop, text.replace(COUNT_LINE, ""));
  // Compiled blocks (both engines) count in the code they generate: drop that too.
  const blocks = path.join(tmp, "src/core/blockCompiler.ts");
  const blockText = fs.readFileSync(blocks, "utf8");
  const blockCounts = blockText.match(BLOCK_COUNT)?.length ?? 0;
  if (blockCounts !== 1) throw new Error(`expected the one place blockCompiler.ts plans retire-counter adds, found ${blockCounts}: update BLOCK_COUNT`);
  fs.writeFileSync(blocks, blockText.replace(BLOCK_COUNT, "void this.n;"));
  const tsc = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(tmp, "tsconfig.json")], { encoding: "utf8" });
  if (tsc.status !== 0) throw new Error(`tsc failed on the copy:\n${tsc.stdout}${tsc.stderr}`);
  const asc = spawnSync(process.execPath, [path.join(tmp, "tools/build-wasm.mjs")], { encoding: "utf8" });
  if (asc.status !== 0) throw new Error(`asc failed on the copy:\n${asc.stdout}${asc.stderr}`);

  const counting = await import(pathToFileURL(path.join(ROOT, "dist/index.js")).href);
  const plain = await import(pathToFileURL(path.join(tmp, "dist/index.js")).href);
  const time = (lib, image, engine) => {
    const m = new lib.Machine({ ramBytes: 32 << 20, engine });
    m.loadImage(image, {});
    const t0 = process.hrtime.bigint();
    const r = m.run({ maxInstructions: instructions });
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, instructions: r.instructions };
  };
  console.log(`${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}; best of ${repeat}, ${instructions.toLocaleString("en-US")} instructions each`);
  console.log("engine guest              no counting   counting    overhead");
  for (const engine of ["ts", "wasm"]) {
    for (const g of GUESTS) {
      const image = new Uint8Array(fs.readFileSync(path.join(ROOT, "guests", `${g}.img`)));
      let a = Infinity, b = Infinity;
      for (let i = 0; i < repeat; i++) {
        a = Math.min(a, time(plain, image, engine).seconds);
        b = Math.min(b, time(counting, image, engine).seconds);
      }
      console.log(`${engine.padEnd(6)} ${g.padEnd(18)} ${a.toFixed(3).padStart(8)} s ${b.toFixed(3).padStart(8)} s ${(((b / a) - 1) * 100).toFixed(1).padStart(8)}%`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

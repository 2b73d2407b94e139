// One vmxlab run of a bench guest in a process of its own, as each peer gets one (and as a
// user's `vmxlab run` is): V8's optimizations, inline caches and process-wide state then
// come from this engine alone. bench/run.mjs spawns it and reads the one JSON line it
// prints: the serial output, the host times (ns, as strings) of the first 0x02 marker and
// of the first 0x03 after it, and how the run ended.
//
//   node bench/vmxlab-child.mjs ENTRY IMAGE [ENGINE]

import fs from "node:fs";
import { pathToFileURL } from "node:url";

const [entry, image, engine] = process.argv.slice(2);
const { Machine } = await import(pathToFileURL(entry).href);
const m = new Machine({ ramBytes: 32 << 20, ...(engine ? { engine } : {}) });
m.loadImage(new Uint8Array(fs.readFileSync(image)), { name: image });
const bytes = [];
let t2 = null, t3 = null;
m.onSerial = (byte) => {
  const b = byte & 0xff, t = process.hrtime.bigint();
  bytes.push(b);
  if (b === 0x02 && t2 === null) t2 = t;
  else if (b === 0x03 && t2 !== null && t3 === null) t3 = t;
};
let result;
try {
  const r = m.run({ maxInstructions: 2e9 });
  result = { reason: r.reason, exitCode: r.exitCode ?? null, message: r.message ?? null, instructions: r.instructions };
} catch (e) {
  result = { error: `vmxlab threw: ${String(e?.message ?? e).split("\n")[0]}` };
}
const serial = Buffer.from(bytes).toString("latin1");
process.stdout.write(JSON.stringify({ ...result, serial, t2: t2?.toString() ?? null, t3: t3?.toString() ?? null }) + "\n");

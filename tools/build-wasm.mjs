// Builds the WebAssembly modules with AssemblyScript (asconfig.json holds the options).
// Portable sources import each other as "./x.js" (what Node's ESM loader needs after tsc);
// asc looks for "./x.js.ts", so its file reader maps that name back to "./x.ts". A module
// that must differ between the two builds (raw memory access, host imports) has a sibling
// "x.wasm.ts", which asc reads in place of "x.ts"; tsc never sees it.
//
//   node tools/build-wasm.mjs
//
// asconfig.json holds the shared options and each target's output; the entry of each
// target is listed here (asc reads "entries" only at the top level of asconfig.json).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ENTRIES = {
  release: "assembly/index.ts", // the wasm engine: dist/vmxlab-core.wasm
  blocks: "assembly/blocks.ts", // what its compiled blocks call: dist/vmxlab-blocks.wasm
};

function readFile(name, baseDir) {
  let file = path.resolve(baseDir, name.endsWith(".js.ts") ? name.slice(0, -".js.ts".length) + ".ts" : name);
  const wasmTwin = file.replace(/\.ts$/, ".wasm.ts");
  if (!file.endsWith(".wasm.ts") && fs.existsSync(wasmTwin)) file = wasmTwin;
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

let failed = false;
process.chdir(ROOT);
for (const [target, entry] of Object.entries(ENTRIES)) {
  const { error } = await asc.main([entry, "--config", "asconfig.json", "--target", target], { readFile, stdout: process.stdout, stderr: process.stderr });
  if (error) {
    console.error(`build-wasm: target ${target}: ${error.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);

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
};

// `/* @inline */` before a portable function: the engine's module (target release) inlines
// it at every call site. V8 does not inline one wasm function into another, and a call
// costs a stack check, a frame and the spilling of every live value (the wasm ABI has
// no callee-saved registers); Binaryen inlines only small functions and single callers.
const INLINE_MARK = /\/\* @inline \*\/ /g;
let target = "";

function readFile(name, baseDir) {
  let file = path.resolve(baseDir, name.endsWith(".js.ts") ? name.slice(0, -".js.ts".length) + ".ts" : name);
  const wasmTwin = file.replace(/\.ts$/, ".wasm.ts");
  if (!file.endsWith(".wasm.ts") && fs.existsSync(wasmTwin)) file = wasmTwin;
  try {
    const text = fs.readFileSync(file, "utf8");
    return target === "release" ? text.replace(INLINE_MARK, "@inline ") : text;
  } catch {
    return null;
  }
}

let failed = false;
process.chdir(ROOT);
for (const [name, entry] of Object.entries(ENTRIES)) {
  target = name;
  const { error } = await asc.main([entry, "--config", "asconfig.json", "--target", name], { readFile, stdout: process.stdout, stderr: process.stderr });
  if (error) {
    console.error(`build-wasm: target ${name}: ${error.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);

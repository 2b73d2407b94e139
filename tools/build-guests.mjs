#!/usr/bin/env node
// Build every guest kernel: guests/NAME.asm -> guests/NAME.elf or guests/NAME.img.
// The output name comes from the source's first line, "; output: NAME.ext", so the
// source alone says whether it is a multiboot ELF or a boot image (docs/guests.md).
//
//   npm run guests                 build all into guests/
//   node tools/build-guests.mjs hello compute   build only these
//
// As a module: listGuests(), outputNameOf(asmPath), buildGuest(asmPath, outPath).

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const GUESTS_DIR = path.join(ROOT, "guests");
export const INCLUDE_DIR = path.join(GUESTS_DIR, "include");

/** True when `nasm` runs. */
export function nasmAvailable() {
  const r = spawnSync("nasm", ["-v"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

/** The output file name declared on the first line of an .asm file. */
export function outputNameOf(asmPath) {
  const text = fs.readFileSync(asmPath, "utf8");
  const first = text.split(/\r?\n/, 1)[0];
  const m = /^\s*;\s*output:\s*([A-Za-z0-9._-]+\.(elf|img))\s*$/.exec(first);
  if (!m) {
    throw new Error(`${asmPath}: first line must be "; output: <name>.elf" or "; output: <name>.img"`);
  }
  return m[1];
}

/**
 * Every guest source in guests/, sorted by name.
 * @returns {{ name: string, asmPath: string, outName: string, outPath: string, kind: "elf"|"img" }[]}
 */
export function listGuests(dir = GUESTS_DIR) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".asm"))
    .sort()
    .map((f) => {
      const asmPath = path.join(dir, f);
      const outName = outputNameOf(asmPath);
      return {
        name: f.slice(0, -4),
        asmPath,
        outName,
        outPath: path.join(dir, outName),
        kind: outName.endsWith(".elf") ? "elf" : "img",
      };
    });
}

/** Assemble one guest with nasm; throws with nasm's message on failure. */
export function buildGuest(asmPath, outPath) {
  // nasm wants the include directory with a trailing separator.
  const args = ["-f", "bin", "-I", INCLUDE_DIR + path.sep, "-o", outPath, asmPath];
  const r = spawnSync("nasm", args, { encoding: "utf8" });
  if (r.error && r.error.code === "ENOENT") {
    throw new Error("nasm is not installed (apt-get install nasm)");
  }
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`nasm failed on ${path.relative(ROOT, asmPath)}:\n${(r.stderr || r.stdout).trim()}`);
  }
  return outPath;
}

function main(argv) {
  if (!nasmAvailable()) {
    console.error("build-guests: nasm is not installed (apt-get install nasm)");
    return 2;
  }
  let guests;
  try {
    guests = listGuests();
  } catch (e) {
    console.error(`build-guests: ${e.message}`);
    return 2;
  }
  if (argv.length) {
    const unknown = argv.filter((n) => !guests.some((g) => g.name === n));
    if (unknown.length) {
      console.error(`build-guests: no guest named ${unknown.join(", ")} in guests/`);
      return 2;
    }
    guests = guests.filter((g) => argv.includes(g.name));
  }
  let failed = 0;
  for (const g of guests) {
    try {
      buildGuest(g.asmPath, g.outPath);
      const size = fs.statSync(g.outPath).size;
      console.log(`${path.relative(ROOT, g.outPath)}  ${size} bytes`);
    } catch (e) {
      console.error(e.message);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}

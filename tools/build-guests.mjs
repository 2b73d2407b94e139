#!/usr/bin/env node
// Build every guest kernel: guests/NAME.asm (NASM) or guests/NAME.c (GCC, docs/guests.md
// "C guests") -> guests/NAME.elf or guests/NAME.img. The output name comes from the
// source's first line, "; output: NAME.ext" or "// output: NAME.elf", so the source alone
// says whether it is a multiboot ELF or a boot image (docs/guests.md).
//
//   npm run guests                 build all into guests/
//   node tools/build-guests.mjs hello compute   build only these
//
// As a module: listGuests(), outputNameOf(srcPath), buildGuest(srcPath, outPath, { cflags }),
// nasmAvailable(), cToolchain(), hostedBuild(srcPath, outPath).

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const GUESTS_DIR = path.join(ROOT, "guests");
export const INCLUDE_DIR = path.join(GUESTS_DIR, "include");
/** The linker script every C guest is linked with. */
const C_LINKER_SCRIPT = path.join(INCLUDE_DIR, "c-guest.ld");

/**
 * How a C guest is compiled: 32-bit, freestanding, no PIC, no stack protector or CET
 * notes, general registers only (vmxlab models no x87 or SSE), and no loop turned into a
 * memset call (the guest's own memset would call itself). The optimisation level is the
 * guest's choice, from its "// cflags:" line.
 */
const C_FLAGS = ["-m32", "-march=i686", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector",
  "-fno-asynchronous-unwind-tables", "-fcf-protection=none", "-mgeneral-regs-only", "-fno-tree-loop-distribute-patterns",
  "-I", INCLUDE_DIR];

/** True when `nasm` runs. */
export function nasmAvailable() {
  const r = spawnSync("nasm", ["-v"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

/** The output file name declared on the first line of a guest source. */
export function outputNameOf(srcPath) {
  const text = fs.readFileSync(srcPath, "utf8");
  const first = text.split(/\r?\n/, 1)[0];
  const c = srcPath.endsWith(".c");
  const m = (c ? /^\s*\/\/\s*output:\s*([A-Za-z0-9._-]+\.(elf))\s*$/ : /^\s*;\s*output:\s*([A-Za-z0-9._-]+\.(elf|img))\s*$/).exec(first);
  if (!m) {
    throw new Error(c ? `${srcPath}: first line must be "// output: <name>.elf"` : `${srcPath}: first line must be "; output: <name>.elf" or "; output: <name>.img"`);
  }
  return m[1];
}

/**
 * Every guest source in guests/, sorted by name.
 * @returns {{ name: string, srcPath: string, lang: "asm"|"c", outName: string, outPath: string, kind: "elf"|"img" }[]}
 */
export function listGuests(dir = GUESTS_DIR) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".asm") || f.endsWith(".c"))
    .sort()
    .map((f) => {
      const srcPath = path.join(dir, f);
      const outName = outputNameOf(srcPath);
      const lang = f.endsWith(".c") ? "c" : "asm";
      return {
        name: f.slice(0, f.lastIndexOf(".")),
        srcPath,
        lang,
        outName,
        outPath: path.join(dir, outName),
        kind: outName.endsWith(".elf") ? "elf" : "img",
      };
    });
}

/** Builds one guest (NASM or GCC by its extension); throws with the tool's message on failure. */
export function buildGuest(srcPath, outPath, { cflags } = {}) {
  return srcPath.endsWith(".c") ? buildC(srcPath, outPath, cflags) : assemble(srcPath, outPath);
}

function assemble(asmPath, outPath) {
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

/** Runs a tool; its first output line, or null when it does not run or fails. */
function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split("\n", 1)[0].trim();
}

/**
 * The C toolchain as it stands here: the version lines of gcc and ld, and the 32-bit
 * libgcc (64-bit division and the like), or null when gcc cannot build for -m32 (Debian:
 * apt-get install gcc-multilib).
 */
export function cToolchain() {
  const gcc = firstLine("gcc", ["--version"]), ld = firstLine("ld", ["--version"]);
  const libgcc = firstLine("gcc", ["-m32", "-print-libgcc-file-name"]);
  if (gcc === null || ld === null || libgcc === null || !fs.existsSync(libgcc)) return null;
  return { versions: `${gcc}; ${ld}`, libgcc };
}

/** A C guest's "// name: value" line (cflags, toolchain), or "" when it has none. */
export function cGuestLine(srcPath, name) {
  const m = new RegExp(`^//\\s*${name}:\\s*(.*?)\\s*$`, "m").exec(fs.readFileSync(srcPath, "utf8"));
  return m ? m[1] : "";
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error && r.error.code === "ENOENT") throw new Error(`${cmd} is not installed (apt-get install gcc gcc-multilib)`);
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} failed on ${what}:\n${(r.stderr || r.stdout).trim()}`);
}

/**
 * A C guest: compiled with C_FLAGS and its own "// cflags:" (or `cflags`, for tests that
 * build it other ways), linked by c-guest.ld at 1 MiB with the 32-bit libgcc, no build ID
 * (so that a rebuild is byte-identical).
 */
function buildC(cPath, outPath, cflags = cGuestLine(cPath, "cflags")) {
  const tc = cToolchain();
  if (tc === null) throw new Error("gcc cannot build 32-bit code here (apt-get install gcc gcc-multilib)");
  const obj = `${outPath}.o`;
  try {
    run("gcc", [...C_FLAGS, ...cflags.split(/\s+/).filter(Boolean), "-c", cPath, "-o", obj], path.relative(ROOT, cPath));
    run("ld", ["-m", "elf_i386", "-nostdlib", "-T", C_LINKER_SCRIPT, "--build-id=none", "--no-warn-rwx-segments", "-o", outPath, obj, tc.libgcc],
      path.relative(ROOT, cPath));
  } finally {
    fs.rmSync(obj, { force: true });
  }
  return outPath;
}

/**
 * The same C program built for the host (-DHOSTED: it writes to stdout and exits), which
 * is the oracle for what the guest prints: the host CPU running the same C.
 */
export function hostedBuild(cPath, outPath) {
  run("gcc", ["-O2", "-DHOSTED", "-I", INCLUDE_DIR, "-o", outPath, cPath], path.relative(ROOT, cPath));
  return outPath;
}

function main(argv) {
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
  if (guests.some((g) => g.lang === "asm") && !nasmAvailable()) {
    console.error("build-guests: nasm is not installed (apt-get install nasm)");
    return 2;
  }
  const tc = guests.some((g) => g.lang === "c") ? cToolchain() : null;
  let failed = 0;
  for (const g of guests) {
    try {
      buildGuest(g.srcPath, g.outPath);
      const size = fs.statSync(g.outPath).size;
      console.log(`${path.relative(ROOT, g.outPath)}  ${size} bytes`);
      // A C guest records the toolchain that built it: another GCC emits other bytes.
      if (g.lang === "c" && tc !== null && cGuestLine(g.srcPath, "toolchain") !== tc.versions) {
        console.warn(`${path.relative(ROOT, g.srcPath)}: built with "${tc.versions}"; update its "// toolchain:" line`);
      }
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

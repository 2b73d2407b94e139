#!/usr/bin/env node
// Run a boot image on v86 (npm `v86`, 0.5.x) inside this Node process, headless, and
// stream its COM1 output (shared/PEERS.md).
//
// v86 ships no BIOS: Debian's `seabios` package gives it one (bios.bin and
// vgabios-stdvga.bin). The image is padded to a 1.44 MB floppy (fda), or to whole
// sectors as a hard disk (hda) when larger, and SeaBIOS boots it. v86 has no
// isa-debug-exit device, so this runner registers a write handler on port 0xF4 (the
// port our guests write their exit status to, as on QEMU) that ends the run; a guest
// that halts without writing it runs until the timeout. Serial bytes arrive
// synchronously from v86's UART emulation as `serial0-output-byte` events and are
// timestamped on arrival, so a guest's marker bytes can be timed on the host side.
//
//   import { runV86, available } from "./tools/peers/v86.mjs";
//   const r = await runV86("guests/bench-alu.img", { jit: false, onByte(b, ns) {} });
//   // r = { serial: Buffer, exitStatus: number|null, exitReason: 'debug-exit N'|'timeout'|'error: ...',
//   //       timedOut, instructions (v86's own counter, approximate in JIT mode) }
//
// CLI:  node tools/peers/v86.mjs [--no-jit] [--timeout SECONDS] IMAGE
//   prints the guest's serial output and exits with its debug-exit status (124 on timeout,
//   2 on bad input or when v86 or SeaBIOS is missing).

import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { peerCli } from "./peerCli.mjs";

const FLOPPY_BYTES = 1474560;
const SECTOR = 512;
const BIOS = "/usr/share/seabios/bios.bin";
const VGA_BIOS = "/usr/share/seabios/vgabios-stdvga.bin";
const DEBUG_EXIT_PORT = 0xf4;

const require = createRequire(import.meta.url);

/** The path of the installed v86 package's main module, or null. */
function v86Entry() {
  try {
    return require.resolve("v86");
  } catch {
    return null;
  }
}

/** The v86 package version (package.json), or null when it is not installed. */
export function version() {
  const entry = v86Entry();
  if (!entry) return null;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(entry), "..", "package.json"), "utf8"));
    return pkg.version ?? null;
  } catch {
    return null;
  }
}

/** Why v86 cannot run here (one line), or null when it can. */
export function missing() {
  if (!v86Entry()) return "v86 is not installed (npm install, it is a devDependency)";
  if (!fs.existsSync(BIOS) || !fs.existsSync(VGA_BIOS)) return `SeaBIOS is not installed (apt-get install seabios: ${BIOS})`;
  return null;
}

/** True when the v86 package and Debian's SeaBIOS images are present. */
export function available() {
  return missing() === null;
}

/** An ArrayBuffer holding exactly `bytes` (v86 takes { buffer: ArrayBuffer }). */
function arrayBufferOf(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/**
 * Run `imagePath` (a boot sector or disk image) on v86.
 * @param {string} imagePath
 * @param {{ jit?: boolean, timeoutMs?: number, memoryMb?: number,
 *           onByte?: (byte: number, hrtimeNs: bigint) => void }} [opts]
 *   jit: false sets v86's `disable_jit` (its interpreter alone)
 * @returns {Promise<{ serial: Buffer, exitStatus: number|null, exitReason: string,
 *                     timedOut: boolean, instructions: number }>}
 */
export async function runV86(imagePath, { jit = true, timeoutMs = 120000, memoryMb = 32, onByte } = {}) {
  const why = missing();
  if (why) throw new Error(why);
  const image = fs.readFileSync(imagePath);
  const disk = new Uint8Array(image.length <= FLOPPY_BYTES ? FLOPPY_BYTES : Math.ceil(image.length / SECTOR) * SECTOR);
  disk.set(image);
  const { V86 } = await import(pathToFileURL(v86Entry()).href);

  const chunks = [];
  let emulator = null;
  let timer = null;
  try {
    const result = await new Promise((resolve, reject) => {
      try {
        emulator = new V86({
          wasm_path: path.join(path.dirname(v86Entry()), "v86.wasm"),
          bios: { buffer: arrayBufferOf(fs.readFileSync(BIOS)) },
          vga_bios: { buffer: arrayBufferOf(fs.readFileSync(VGA_BIOS)) },
          [image.length <= FLOPPY_BYTES ? "fda" : "hda"]: { buffer: disk.buffer },
          memory_size: memoryMb << 20,
          autostart: true,
          disable_jit: !jit,
          disable_keyboard: true,
          disable_mouse: true,
          disable_speaker: true,
        });
      } catch (e) {
        reject(e);
        return;
      }
      emulator.add_listener("serial0-output-byte", (b) => {
        const t = process.hrtime.bigint();
        chunks.push(b);
        if (onByte) onByte(b, t);
      });
      emulator.add_listener("emulator-ready", () => {
        // v86 has no isa-debug-exit: our guests write their status to port 0xF4 (as on
        // QEMU), so a handler there ends the run. The io object is v86's internal port map.
        const io = emulator.v86?.cpu?.io;
        if (!io || typeof io.register_write !== "function") {
          resolve({ exitStatus: null, exitReason: "error: this v86 build has no cpu.io.register_write (cannot see the exit port)" });
          return;
        }
        io.register_write(DEBUG_EXIT_PORT, {}, (value) => resolve({ exitStatus: value & 0xff, exitReason: `debug-exit ${value & 0xff}` }));
      });
      timer = setTimeout(() => resolve({ exitStatus: null, exitReason: "timeout", timedOut: true }), timeoutMs);
    });
    const instructions = emulator.get_instruction_counter();
    return { serial: Buffer.from(chunks), timedOut: false, instructions, ...result };
  } finally {
    if (timer) clearTimeout(timer);
    if (emulator) await emulator.destroy();
  }
}

function cli(argv) {
  return peerCli(argv, {
    name: "v86.mjs",
    usage: "usage: node tools/peers/v86.mjs [--no-jit] [--timeout SECONDS] IMAGE",
    timeoutMs: 120000,
    flags: { "--no-jit": "bool" },
    run: (image, o, timeoutMs) => runV86(image, { jit: !o["--no-jit"], timeoutMs }),
    output: (r) => r.serial,
    noExit: (r) => r.exitReason,
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // v86 keeps timers alive after destroy() in some builds: exit explicitly.
  process.exit(await cli(process.argv.slice(2)));
}

// Private helper of bench/run.mjs: run a boot image on QEMU TCG, headless, and stream
// its serial output with host timestamps. (The shared QEMU oracle runner lives in
// tools/peers/qemu.mjs and belongs to the oracle tests; this one only serves the bench.)

import { spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

const FLOPPY_BYTES = 1474560;
const QEMU = "qemu-system-i386";

export function qemuAvailable() {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, QEMU), fs.constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}

/**
 * @param {string} imagePath boot image (padded here to a 1.44 MB floppy)
 * @param {{ timeoutMs?: number, onByte?: (byte: number, hrtimeNs: bigint) => void }} [opts]
 * @returns {Promise<{ serial: Buffer, exitReason: string, timedOut: boolean }>}
 */
export async function runQemu(imagePath, { timeoutMs = 120000, onByte } = {}) {
  const image = await fsp.readFile(imagePath);
  if (image.length > FLOPPY_BYTES) throw new Error(`${imagePath} does not fit on a floppy`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "vmxlab-qemu-"));
  const floppy = path.join(dir, "floppy.img");
  let child = null;
  let timer = null;
  try {
    const padded = Buffer.alloc(FLOPPY_BYTES);
    image.copy(padded);
    await fsp.writeFile(floppy, padded);
    const args = [
      "-accel", "tcg",
      "-m", "32",
      "-display", "none",
      "-vga", "none",
      "-no-reboot",
      "-monitor", "none",
      "-serial", "stdio",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
      "-drive", `if=floppy,format=raw,file=${floppy}`,
      "-boot", "a",
    ];
    child = spawn(QEMU, args, { stdio: ["ignore", "pipe", "pipe"] });
    const chunks = [];
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      const t = process.hrtime.bigint();
      chunks.push(chunk);
      if (onByte) for (const b of chunk) onByte(b, t);
    });
    child.stderr.on("data", (d) => {
      stderr = (stderr + d).slice(-2000);
    });
    let timedOut = false;
    timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }, timeoutMs);
    const { code, signal, err } = await new Promise((resolve) => {
      child.on("close", (code, signal) => resolve({ code, signal }));
      child.on("error", (err) => resolve({ code: null, signal: null, err }));
    });
    let exitReason;
    if (timedOut) exitReason = "timeout";
    else if (err) exitReason = `error: ${err.message}`;
    else if (signal) exitReason = `signal ${signal}`;
    // isa-debug-exit: the process exits with (value << 1) | 1
    else if (code !== null && code % 2 === 1) exitReason = `debug-exit ${(code - 1) / 2}`;
    else exitReason = `exit ${code}${stderr ? ": " + stderr.trim().split("\n").pop() : ""}`;
    return { serial: Buffer.concat(chunks), exitReason, timedOut };
  } finally {
    if (timer) clearTimeout(timer);
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

#!/usr/bin/env node
// Run a vmxlab guest on QEMU TCG (qemu-system-i386, headless) and collect its COM1 output:
// the reference emulator for whole-guest output (docs/guests.md, shared/PEERS.md).
//
//   import { runQemu, guestOutput } from "./tools/peers/qemu.mjs";
//   const r = await runQemu("guests/compute.elf", { append: "iterations=3", timeoutMs: 30000 });
//   // r = { serial: Buffer, exitStatus: number|null, rawStatus, signal, timedOut, stderr }
//   guestOutput(r.serial)   // the guest's own bytes, without anything the BIOS printed
//
//   // virtio guests run on QEMU's microvm, devices in -device order (docs/guests.md):
//   await runQemu("guests/vblk.elf", { virtio: [{ type: "blk", file: "disk.img", serial: "vmxlab-virtio-blk" }] });
//
// CLI:  node tools/peers/qemu.mjs [--append STR] [--timeout SECONDS] [--raw] IMAGE
//   prints the guest output and exits with the guest's status (124 on timeout, 125 when
//   the guest ended without writing the debug-exit port, 2 on bad input).
//
// .elf images boot through QEMU's multiboot loader (-kernel, with -append as the
// cmdline); .img images are padded in a temporary copy to a 1.44 MB floppy (or, when
// larger, to a whole number of sectors as an IDE disk) and booted by SeaBIOS.

import { spawn, spawnSync } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { peerCli } from "./peerCli.mjs";

export const QEMU = "qemu-system-i386";
const FLOPPY_BYTES = 1474560;
const SECTOR = 512;

/** True when qemu-system-i386 runs. */
export function available() {
  const r = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

// Flags from shared/PEERS.md: no display, no reboot on triple fault (the run just
// ends), COM1 on stdout, and the debug-exit device at port 0xF4 (exit = value*2+1).
const BASE_ARGS = [
  "-accel", "tcg",
  "-m", "32",
  "-display", "none",
  "-vga", "none",
  "-no-reboot",
  "-monitor", "none",
  "-serial", "stdio",
  "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
];

/**
 * QEMU arguments for virtio-mmio devices on a microvm (acpi=off: eight version-2
 * transports at 0xfeb00000 + 0x200*i on IRQ 5+i; the first -device lands on transport 7).
 * A console shares one muxed stdio chardev with COM1, so its output interleaves with
 * the serial port's in the order the guest wrote them, and stdin goes to the console.
 * A "net" is a virtio-net device on a UDP tunnel (-netdev dgram: each frame one datagram
 * from 127.0.0.1:local to 127.0.0.1:remote, the framing vmxlab's --net udp: uses).
 * @param {({ type: "blk", file: string, serial?: string } | { type: "console" } | { type: "net", local: number, remote: number, mac: string })[]} devices
 * @returns {{ machine: string[], serial: string[], devices: string[] }}
 */
export function virtioArgs(devices) {
  const machine = ["-M", "microvm,acpi=off", "-global", "virtio-mmio.force-legacy=false"];
  const hasConsole = devices.some((d) => d.type === "console");
  const serial = hasConsole ? ["-chardev", "stdio,id=io,mux=on", "-serial", "chardev:io"] : ["-serial", "stdio"];
  const out = [];
  devices.forEach((d, i) => {
    if (d.type === "blk") {
      out.push("-drive", `file=${d.file},format=raw,if=none,id=vblk${i}`, "-device", `virtio-blk-device,drive=vblk${i}${d.serial ? `,serial=${d.serial}` : ""}`);
    } else if (d.type === "console") {
      out.push("-device", "virtio-serial-device", "-device", "virtconsole,chardev=io");
    } else if (d.type === "net") {
      out.push("-netdev", `dgram,id=vnet${i},local.type=inet,local.host=127.0.0.1,local.port=${d.local},remote.type=inet,remote.host=127.0.0.1,remote.port=${d.remote}`,
        "-device", `virtio-net-device,netdev=vnet${i},mac=${d.mac}`);
    } else throw new Error(`unknown virtio device type ${d.type}`);
  });
  return { machine, serial, devices: out };
}

/**
 * Run one guest image on QEMU.
 * @param {string} imagePath a multiboot .elf or a boot .img
 * @param {{ append?: string, timeoutMs?: number, extraArgs?: string[],
 *           onByte?: (byte: number, hrtimeNs: bigint) => void, input?: Buffer|string,
 *           virtio?: Parameters<typeof virtioArgs>[0], hardDisk?: boolean }} [opts]
 *   input: bytes for the guest to receive on COM1 (QEMU's stdin), or on the virtio console
 *   virtio: run on microvm with these virtio-mmio devices (virtioArgs)
 *   hardDisk: boot a .img as the first IDE hard disk (-boot c) even when it fits a floppy
 * @returns {Promise<{ serial: Buffer, exitStatus: number|null, rawStatus: number|null,
 *                     signal: string|null, timedOut: boolean, stderr: string }>}
 *   exitStatus is the value the guest wrote to port 0xF4, or null when the run ended
 *   another way (timeout, triple fault with -no-reboot, QEMU error).
 */
export async function runQemu(imagePath, { append, timeoutMs = 60000, extraArgs = [], onByte, input, virtio, hardDisk = false } = {}) {
  const ext = path.extname(imagePath).toLowerCase();
  const image = await fsp.readFile(imagePath); // throws ENOENT with the path in it
  const args = [...BASE_ARGS];
  if (virtio) {
    const v = virtioArgs(virtio);
    const at = args.indexOf("-serial");
    args.splice(at, 2, ...v.serial);
    args.unshift(...v.machine);
    extraArgs = [...extraArgs, ...v.devices];
  }
  let dir = null;
  if (ext === ".elf") {
    args.push("-kernel", imagePath);
    if (append !== undefined) args.push("-append", append);
  } else if (ext === ".img") {
    if (append !== undefined) throw new Error(`${imagePath}: a boot image has no cmdline (append is for .elf)`);
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "vmxlab-qemu-"));
    const disk = path.join(dir, "disk.img");
    if (image.length <= FLOPPY_BYTES && !hardDisk) {
      const padded = Buffer.alloc(FLOPPY_BYTES);
      image.copy(padded);
      await fsp.writeFile(disk, padded);
      args.push("-drive", `if=floppy,format=raw,file=${disk}`, "-boot", "a");
    } else {
      const padded = Buffer.alloc(Math.ceil(image.length / SECTOR) * SECTOR);
      image.copy(padded);
      await fsp.writeFile(disk, padded);
      args.push("-drive", `if=ide,index=0,media=disk,format=raw,file=${disk}`, "-boot", "c");
    }
  } else {
    throw new Error(`${imagePath}: expected a .elf (multiboot) or .img (boot sector) guest`);
  }
  args.push(...extraArgs);

  let timer = null;
  try {
    const child = spawn(QEMU, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    if (input !== undefined) child.stdin.end(input); // COM1 receives these bytes
    const chunks = [];
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      chunks.push(chunk);
      if (onByte) {
        const t = process.hrtime.bigint();
        for (const b of chunk) onByte(b, t);
      }
    });
    child.stderr.on("data", (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    let timedOut = false;
    timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL"); // only the QEMU process we spawned
    }, timeoutMs);
    const { code, signal, err } = await new Promise((resolve) => {
      child.on("close", (code, signal) => resolve({ code, signal, err: null }));
      child.on("error", (e) => resolve({ code: null, signal: null, err: e }));
    });
    if (err) {
      if (err.code === "ENOENT") throw new Error(`${QEMU} is not installed (apt-get install qemu-system-x86)`);
      throw err;
    }
    // isa-debug-exit makes QEMU exit with (value << 1) | 1. QEMU's own errors also exit
    // with 1, but then it has printed "qemu-system-i386: ..." on stderr.
    const qemuError = stderr.includes(`${QEMU}:`) && code === 1 && chunks.length === 0;
    const exitStatus = !timedOut && !qemuError && code !== null && code % 2 === 1 ? (code - 1) / 2 : null;
    return { serial: Buffer.concat(chunks), exitStatus, rawStatus: code, signal, timedOut, stderr };
  } finally {
    if (timer) clearTimeout(timer);
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  }
}

// What a BIOS may print on COM1 before it hands over to the guest. Debian's SeaBIOS
// with -vga none prints nothing there, but other builds (or sgabios) print a banner
// that ends with "Booting from ...". Guests never start their output with these.
const BIOS_FIRST_LINE = /^(?:\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r|\n)*(?:SeaBIOS|iPXE|Machine UUID|Booting from|Press ESC)/;
const BOOTING_LINE = /(?:^|\n)[^\n]*Booting from [^\n]*\n/;

/**
 * The bytes the guest printed: when the serial stream starts with BIOS output, drop
 * everything up to and including the first "Booting from ..." line; otherwise return
 * the stream unchanged. (docs/guests.md, "Serial output".)
 * @param {Buffer} serial
 * @returns {Buffer}
 */
export function guestOutput(serial) {
  const text = serial.toString("latin1");
  if (!BIOS_FIRST_LINE.test(text)) return serial;
  const m = BOOTING_LINE.exec(text);
  if (!m) return serial;
  return serial.subarray(m.index + m[0].length);
}

function cli(argv) {
  return peerCli(argv, {
    name: "qemu.mjs",
    usage: "usage: node tools/peers/qemu.mjs [--append STR] [--timeout SECONDS] [--raw] IMAGE",
    timeoutMs: 60000,
    flags: { "--append": "value", "--raw": "bool" },
    run: (image, o, timeoutMs) => runQemu(image, { append: o["--append"], timeoutMs }),
    output: (r, o) => (o["--raw"] ? r.serial : guestOutput(r.serial)),
    noExit: (r) => {
      const why = r.stderr.trim() ? `: ${r.stderr.trim()}` : "";
      return `the guest did not write the debug-exit port (QEMU status ${r.rawStatus}${r.signal ? `, ${r.signal}` : ""})${why}`;
    },
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await cli(process.argv.slice(2));
}

/**
 * The guest's instruction stream as QEMU executes it: QEMU runs one instruction per
 * translation block (-singlestep) and logs every block it executes (-d exec,nochain),
 * limited to the linear range [from, from+length) so the BIOS is left out. Returns the
 * linear address (CS base + EIP) of each executed block in order. A REP string
 * instruction appears once per iteration (QEMU re-enters it for each element).
 * @param {string} imagePath a multiboot .elf
 * @param {{ append?: string, timeoutMs?: number, from?: number, length?: number }} [opts]
 * @returns {Promise<{ run: Awaited<ReturnType<typeof runQemu>>, addresses: number[] }>}
 */
export async function traceQemu(imagePath, { append, timeoutMs = 60000, from = 0x100000, length = 0x100000 } = {}) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "vmxlab-qemu-trace-"));
  const log = path.join(dir, "exec.log");
  try {
    const run = await runQemu(imagePath, {
      append, timeoutMs,
      extraArgs: ["-singlestep", "-d", "exec,nochain", "-dfilter", `0x${from.toString(16)}+0x${length.toString(16)}`, "-D", log],
    });
    const text = await fsp.readFile(log, "latin1");
    const addresses = [];
    // "Trace 0: 0x7f... [cs_base/eip/flags/...]" (QEMU 7.2 accel/tcg/cpu-exec.c)
    for (const m of text.matchAll(/^Trace \d+: 0x[0-9a-f]+ \[([0-9a-f]+)\/([0-9a-f]+)\//gm)) {
      addresses.push((parseInt(m[1], 16) + parseInt(m[2], 16)) >>> 0);
    }
    return { run, addresses };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

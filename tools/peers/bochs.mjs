// Run a boot image on Bochs (Debian's 2.7 build), headless, and stream its COM1 output.
//
// Bochs boots only through its BIOS, so the image is padded to a 1.44 MB floppy.
// The Debian build has no `nogui` display and has the debugger compiled in, so it runs
// under `script` (a pseudo-terminal for the `term` display) with an rc file holding
// `c` (continue). COM1 is a FIFO in a temporary directory; every chunk read from it is
// timestamped on arrival, so a guest's marker bytes can be timed on the host side.
// The guest ends the run by writing "Shutdown" to port 0x8900 (Bochs logs a PANIC for
// it and, with `panic: action=fatal`, exits).
//
//   import { runBochs, available } from "./tools/peers/bochs.mjs";
//   const r = await runBochs("guests/bench-alu.img", { timeoutMs: 60000, onByte(b, ns) {} });
//   // r = { serial: Buffer, exitReason: 'shutdown'|'timeout'|'panic: MSG'|'exit N'|'signal S'|'error: ...', timedOut }

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

const FLOPPY_BYTES = 1474560;
const BIOS_CANDIDATES = ["/usr/share/bochs/BIOS-bochs-latest"];
const VGABIOS_CANDIDATES = [
  "/usr/share/vgabios/vgabios.bin",
  "/usr/share/bochs/VGABIOS-lgpl-latest",
  "/usr/share/seabios/vgabios.bin",
];

function which(cmd) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

function firstExisting(paths) {
  return paths.find((p) => fs.existsSync(p)) ?? null;
}

/** The Bochs binary to run: `bochs-bin` (Debian, debugger build) or `bochs`. */
export function bochsBinary() {
  return which("bochs-bin") ?? which("bochs");
}

/** True when Bochs, its BIOS images, `script` and `mkfifo` are all present. */
export function available() {
  return Boolean(
    bochsBinary() &&
      which("script") &&
      which("mkfifo") &&
      firstExisting(BIOS_CANDIDATES) &&
      firstExisting(VGABIOS_CANDIDATES),
  );
}

/** Every live descendant pid of `pid` (children first found via /proc). */
function descendants(pid) {
  const children = new Map();
  let entries = [];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      // pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(e));
    } catch {
      /* process went away */
    }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    for (const c of children.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

/** Kill the child we spawned and everything it started (bochs-bin under script). */
function killTree(pid) {
  // Deepest first, so that script can still reap bochs-bin before it dies itself.
  const pids = descendants(pid).reverse();
  for (const p of [...pids, pid]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

function bochsrc({ bios, vgabios, floppy, fifo, log, megs, ips }) {
  return [
    `megs: ${megs}`,
    `romimage: file=${bios}`,
    `vgaromimage: file=${vgabios}`,
    `floppya: 1_44=${floppy}, status=inserted`,
    `boot: floppy`,
    `floppy_bootsig_check: disabled=0`,
    `display_library: term`,
    `com1: enabled=1, mode=file, dev=${fifo}`,
    `clock: sync=none, time0=local`,
    `cpu: count=1, ips=${ips}, reset_on_triple_fault=0`,
    `log: ${log}`,
    `panic: action=fatal`,
    `error: action=report`,
    `info: action=ignore`,
    `debug: action=ignore`,
    ``,
  ].join("\n");
}

/**
 * Run `imagePath` (a boot sector or floppy image) on Bochs.
 * @param {string} imagePath
 * @param {{ timeoutMs?: number, onByte?: (byte: number, hrtimeNs: bigint) => void,
 *           megs?: number, ips?: number }} [opts]
 * @returns {Promise<{ serial: Buffer, exitReason: string, timedOut: boolean, log: string }>}
 */
export async function runBochs(imagePath, { timeoutMs = 120000, onByte, megs = 32, ips = 500000000 } = {}) {
  const bin = bochsBinary();
  const bios = firstExisting(BIOS_CANDIDATES);
  const vgabios = firstExisting(VGABIOS_CANDIDATES);
  if (!bin || !bios || !vgabios || !which("script")) {
    throw new Error("bochs is not installed (need bochs-bin or bochs, bochsbios, vgabios and script)");
  }

  const image = await fsp.readFile(imagePath);
  if (image.length > FLOPPY_BYTES) {
    throw new Error(`${imagePath}: ${image.length} bytes does not fit on a 1.44 MB floppy`);
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "vmxlab-bochs-"));
  const floppy = path.join(dir, "floppy.img");
  const fifo = path.join(dir, "com1");
  const log = path.join(dir, "bochs.log");
  const rc = path.join(dir, "bochsrc");
  const cmds = path.join(dir, "cmds");

  let child = null;
  let timer = null;
  try {
    const padded = Buffer.alloc(FLOPPY_BYTES);
    image.copy(padded);
    await fsp.writeFile(floppy, padded);
    await fsp.writeFile(rc, bochsrc({ bios, vgabios, floppy, fifo, log, megs, ips }));
    await fsp.writeFile(cmds, "c\nquit\n");
    const mk = spawnSync("mkfifo", [fifo]);
    if (mk.status !== 0) throw new Error(`mkfifo failed: ${mk.stderr}`);

    const chunks = [];
    let timedOut = false;

    // The reader: opening a FIFO blocks (in the thread pool) until Bochs opens it for
    // writing; it ends when Bochs closes it (exit or kill).
    const reader = fs.createReadStream(fifo, { highWaterMark: 4096 });
    const readerDone = new Promise((resolve) => {
      reader.on("data", (chunk) => {
        const t = process.hrtime.bigint();
        chunks.push(chunk);
        if (onByte) for (const b of chunk) onByte(b, t);
      });
      reader.on("end", resolve);
      reader.on("error", resolve);
      reader.on("close", resolve);
    });

    const cmdline = `${bin} -q -f ${rc} -rc ${cmds}`;
    child = spawn("script", ["-qfec", cmdline, "/dev/null"], {
      cwd: dir,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let tail = "";
    const keep = (d) => {
      tail = (tail + d.toString("latin1")).slice(-4096);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);

    const exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => resolve({ code, signal }));
      child.on("error", (err) => resolve({ code: null, signal: null, err }));
    });

    timer = setTimeout(() => {
      timedOut = true;
      killTree(child.pid);
    }, timeoutMs);

    const { code, signal, err } = await exited;
    clearTimeout(timer);
    timer = null;
    // Make sure nothing of this run survives (bochs-bin lives in script's new session).
    killTree(child.pid);

    // If Bochs never opened the FIFO, the reader is still blocked in open(): open
    // the write side ourselves and close it, which gives the reader its EOF.
    try {
      const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      fs.closeSync(fd);
    } catch {
      /* no reader waiting (ENXIO) or already gone */
    }
    let grace;
    await Promise.race([readerDone, new Promise((r) => (grace = setTimeout(r, 2000)))]);
    clearTimeout(grace);
    reader.destroy();

    let logText = "";
    try {
      logText = await fsp.readFile(log, "latin1");
    } catch {
      /* no log */
    }
    let exitReason;
    if (timedOut) exitReason = "timeout";
    else if (err) exitReason = `error: ${err.message}`;
    else if (/Shutdown port: shutdown requested/.test(logText)) exitReason = "shutdown";
    else if (/>>PANIC<< (.*)/.test(logText)) exitReason = `panic: ${/>>PANIC<< (.*)/.exec(logText)[1].trim()}`;
    else if (signal) exitReason = `signal ${signal}`;
    else exitReason = `exit ${code}`;
    const panic = logText.split("\n").filter((l) => /PANIC|ERROR/.test(l)).slice(-5).join("\n");
    return {
      serial: Buffer.concat(chunks),
      exitReason,
      timedOut,
      log: panic || tail.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").slice(-1000),
    };
  } finally {
    if (timer) clearTimeout(timer);
    if (child && child.exitCode === null && child.signalCode === null) killTree(child.pid);
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

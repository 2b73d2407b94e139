// npm run bench: guest MIPS of vmxlab against Bochs, QEMU TCG and v86 (with and without
// its JIT), same images, same run; then the start-up time of each (spawn to the guest's
// first UART write) and the overhead of vmxlab's cycle accounting.
//
// Each bench guest writes marker byte 0x02 to its UART just before its timed loop and
// 0x03 just after it, then prints "instructions=N" (the exact number of instructions the
// timed region executes, computed by hand in the guest's source) and "checksum=X".
// The host timestamps the two markers as they arrive, so BIOS, boot and exit time
// drop out:  MIPS = N / (t(0x03) - t(0x02)) / 1e6.
//
//   node bench/run.mjs [--only ENGINE]... [--guest NAME]... [--repeat K] [--timeout SECONDS]
//                      [--no-qemu] [--startup-repeat K] [--accounting-repeat K] [--out FILE]
//   ENGINE: vmxlab, vmxlab-wasm, bochs, qemu, v86, v86-nojit
//
// An engine that is not present (not installed, not built) stays in the table as a
// column that says so. Results: tables on stdout and JSON in bench/results/latest.json.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { available as bochsAvailable, runBochs } from "../tools/peers/bochs.mjs";
import { available as qemuAvailable, runQemu } from "../tools/peers/qemu.mjs";
import { missing as v86Missing, runV86, version as v86Version } from "../tools/peers/v86.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GUESTS = [
  { name: "bench-alu", image: "guests/bench-alu.img", what: "register-only loop" },
  { name: "bench-mem", image: "guests/bench-mem.img", what: "load/store loop over 64 KiB" },
  { name: "bench-mem-paged", image: "guests/bench-mem-paged.img", what: "the same loop with 32-bit paging on" },
  { name: "bench-kernel", image: "guests/bench-kernel.img", what: "ring-3 system calls and demand page faults, unmap + INVLPG" },
];
const START_GUEST = "guests/bench-start.img";
const ENGINES = ["vmxlab", "vmxlab-wasm", "bochs", "qemu", "v86", "v86-nojit"];
const LABEL = {
  vmxlab: "vmxlab (TS)",
  "vmxlab-wasm": "vmxlab (wasm)",
  bochs: "Bochs",
  qemu: "QEMU TCG",
  v86: "v86 (JIT)",
  "v86-nojit": "v86 (no JIT)",
};
const USAGE =
  "usage: node bench/run.mjs [--only ENGINE]... [--guest NAME]... [--repeat K] [--timeout SECONDS] [--no-qemu]\n" +
  "                          [--startup-repeat K] [--accounting-repeat K] [--out FILE]\n" +
  `  ENGINE: ${ENGINES.join(", ")}; --startup-repeat 0 / --accounting-repeat 0 skip those parts`;

function usage(msg) {
  console.error(`bench: ${msg}`);
  console.error(USAGE);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    only: [],
    guests: [],
    repeat: 1,
    timeoutMs: 300000,
    qemu: true,
    startupRepeat: 3,
    accountingRepeat: 3,
    out: path.join(ROOT, "bench/results/latest.json"),
  };
  const count = (a, v, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) usage(`${a} takes an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--only") {
      const v = val();
      if (!ENGINES.includes(v)) usage(`--only takes one of ${ENGINES.join(", ")}, not '${v}'`);
      o.only.push(v);
    } else if (a === "--guest") {
      const v = val().replace(/\.(img|asm)$/, "").replace(/^.*\//, "");
      const g = GUESTS.find((x) => x.name === v || x.name === `bench-${v}`);
      if (!g) usage(`unknown guest '${v}' (have: ${GUESTS.map((x) => x.name).join(", ")})`);
      o.guests.push(g);
    } else if (a === "--repeat") {
      o.repeat = count(a, val(), 1);
    } else if (a === "--startup-repeat") {
      o.startupRepeat = count(a, val(), 0);
    } else if (a === "--accounting-repeat") {
      o.accountingRepeat = count(a, val(), 0);
    } else if (a === "--timeout") {
      const v = Number(val());
      if (!(v > 0)) usage("--timeout takes a positive number of seconds");
      o.timeoutMs = v * 1000;
    } else if (a === "--no-qemu") {
      o.qemu = false;
    } else if (a === "--out") {
      o.out = path.resolve(val());
    } else if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else {
      usage(`unknown option '${a}'`);
    }
  }
  if (o.guests.length === 0) o.guests = GUESTS;
  return o;
}

/** Collects serial bytes and the host time of the first 0x02 and the first 0x03 after it. */
function markerClock() {
  const bytes = [];
  let t2 = null;
  let t3 = null;
  return {
    onByte(b, t) {
      bytes.push(b);
      if (b === 0x02 && t2 === null) t2 = t;
      else if (b === 0x03 && t2 !== null && t3 === null) t3 = t;
    },
    get t2() {
      return t2;
    },
    get t3() {
      return t3;
    },
    get text() {
      return Buffer.from(bytes).toString("latin1");
    },
  };
}

/** Turn what a run produced into one measurement (or an error). */
function measure(clock, serialText, exitReason) {
  const text = serialText ?? clock.text;
  const n = /instructions=(\d+)/.exec(text);
  const sum = /checksum=([0-9A-Fa-f]+)/.exec(text);
  const base = { exitReason, checksum: sum ? sum[1].toUpperCase() : null };
  if (clock.t2 === null || clock.t3 === null) {
    return { ...base, error: `markers not seen (0x02 ${clock.t2 !== null ? "yes" : "no"}, 0x03 ${clock.t3 !== null ? "yes" : "no"}); exit: ${exitReason}` };
  }
  if (!n) return { ...base, error: `no instructions=N line; exit: ${exitReason}` };
  const instructions = Number(n[1]);
  const seconds = Number(clock.t3 - clock.t2) / 1e9;
  return { ...base, instructions, seconds, mips: instructions / seconds / 1e6 };
}

// ------------------------------------------------------------------------ engines

let vmxlabModule; // undefined: not tried yet; null: not available
let vmxlabWhy = "";

async function loadVmxlab() {
  if (vmxlabModule !== undefined) return vmxlabModule;
  // VMXLAB_ENTRY lets the bench drive another build of the library (or a stub).
  const entry = process.env.VMXLAB_ENTRY ? path.resolve(process.env.VMXLAB_ENTRY) : path.join(ROOT, "dist/index.js");
  try {
    const mod = await import(pathToFileURL(entry).href);
    if (typeof mod.Machine !== "function") throw new Error("dist/index.js exports no Machine");
    vmxlabModule = mod;
  } catch (e) {
    vmxlabModule = null;
    vmxlabWhy = fs.existsSync(entry) ? String(e?.message ?? e).split("\n")[0] : `${path.relative(ROOT, entry)} missing`;
  }
  return vmxlabModule;
}

/**
 * Why vmxlab's WebAssembly engine cannot run, or null when it can: the library selects it
 * with `new Machine({ engine: "wasm" })`, which throws when dist/vmxlab-core.wasm is missing
 * (or, in an older build, reports another engine back).
 */
async function wasmEngineMissing() {
  const mod = await loadVmxlab();
  if (!mod) return `not built: vmxlab library not built (${vmxlabWhy})`;
  try {
    const m = new mod.Machine({ ramBytes: 1 << 20, engine: "wasm" });
    if (m.engine === "wasm") return null;
    return "not built: this vmxlab build has no WebAssembly engine";
  } catch (e) {
    return `not built: ${String(e?.message ?? e).split("\n")[0]}`;
  }
}

/**
 * One vmxlab run in a child process (bench/vmxlab-child.mjs), as every peer runs in its
 * own: one process running both engines made each slower on the other's account (V8's
 * shared inline caches and optimizations; bench-kernel on the TS engine 16 MIPS in one
 * process against 21 alone, 2026-12-07).
 */
async function runVmxlab(guest, opts, engine) {
  if (!(await loadVmxlab())) return { error: `not built: vmxlab library (${vmxlabWhy})`, exitReason: "error" };
  const entry = process.env.VMXLAB_ENTRY ? path.resolve(process.env.VMXLAB_ENTRY) : path.join(ROOT, "dist/index.js");
  const child = spawnSync(process.execPath, [path.join(ROOT, "bench/vmxlab-child.mjs"), entry, path.join(ROOT, guest.image), ...(engine ? [engine] : [])],
    { encoding: "utf8", timeout: opts.timeoutMs, maxBuffer: 1 << 24 });
  let r;
  try {
    r = JSON.parse(child.stdout.trim().split("\n").pop() ?? "");
  } catch {
    const why = child.error ? String(child.error.message) : `exit ${child.status}: ${(child.stderr ?? "").trim().split("\n").pop()}`;
    return { error: `vmxlab child: ${why}`, exitReason: "error" };
  }
  if (r.error) return { error: r.error, exitReason: "error" };
  const clock = { t2: r.t2 === null ? null : BigInt(r.t2), t3: r.t3 === null ? null : BigInt(r.t3), text: r.serial };
  const exitReason = r.reason === "debug-exit" ? `debug-exit ${r.exitCode ?? "?"}` : `${r.reason}${r.message ? ": " + r.message : ""}`;
  const res = measure(clock, null, exitReason);
  if (typeof r.instructions === "number") res.totalInstructions = r.instructions;
  return res;
}

async function runPeer(runner, guest, opts) {
  const clock = markerClock();
  let r;
  try {
    r = await runner(path.join(ROOT, guest.image), { timeoutMs: opts.timeoutMs, onByte: clock.onByte });
  } catch (e) {
    return { error: String(e?.message ?? e).split("\n")[0], exitReason: "error" };
  }
  return measure(clock, r.serial.toString("latin1"), r.exitReason);
}

/** QEMU's result in the shape the others have (tools/peers/qemu.mjs reports the debug-exit value). */
async function runQemuPeer(image, opts) {
  const r = await runQemu(image, opts);
  return { ...r, exitReason: r.timedOut ? "timeout" : r.exitStatus !== null ? `debug-exit ${r.exitStatus}` : "no debug-exit" };
}

const RUNNERS = {
  vmxlab: (g, o) => runVmxlab(g, o, "ts"),
  "vmxlab-wasm": (g, o) => runVmxlab(g, o, "wasm"),
  bochs: (g, o) => runPeer(runBochs, g, o),
  qemu: (g, o) => runPeer(runQemuPeer, g, o),
  v86: (g, o) => runPeer((image, opts) => runV86(image, { ...opts, jit: true }), g, o),
  "v86-nojit": (g, o) => runPeer((image, opts) => runV86(image, { ...opts, jit: false }), g, o),
};

/** Why engine `e` cannot run here (one line), or null. */
async function whyMissing(e) {
  if (e === "vmxlab") return (await loadVmxlab()) ? null : `not built: vmxlab library (${vmxlabWhy}; npm run build)`;
  if (e === "vmxlab-wasm") return wasmEngineMissing();
  if (e === "bochs") return bochsAvailable() ? null : "missing: Bochs is not installed (apt-get install bochs bochs-term bochsbios vgabios)";
  if (e === "qemu") return qemuAvailable() ? null : "missing: QEMU is not installed (apt-get install qemu-system-x86)";
  if (e === "v86" || e === "v86-nojit") {
    const why = v86Missing();
    return why ? `missing: ${why}` : null;
  }
  return `unknown engine ${e}`;
}

// ------------------------------------------------------------------------ start-up

/**
 * Host milliseconds from spawning an emulator on bench-start.img to the arrival of the
 * guest's marker byte 0x02 (written right after it programs the UART), and to the
 * end of the run. vmxlab and v86 are spawned as CLI processes (node dist/cli/main.js,
 * node tools/peers/v86.mjs); QEMU and Bochs through their runners, which spawn them
 * after writing a padded floppy image to a temporary directory (a few ms, included).
 */
async function startupOnce(e, opts) {
  const image = path.join(ROOT, START_GUEST);
  const t0 = process.hrtime.bigint();
  let tMarker = null;
  const onByte = (b, t) => {
    if (b === 0x02 && tMarker === null) tMarker = t;
  };
  const ms = (t) => (t === null ? null : Number(t - t0) / 1e6);
  if (e === "vmxlab" || e === "vmxlab-wasm" || e === "v86") {
    const args = e === "v86" ? [path.join(ROOT, "tools/peers/v86.mjs"), image]
      : [path.join(ROOT, "dist/cli/main.js"), "run", image, "--engine", e === "vmxlab" ? "ts" : "wasm"];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
    child.stdout.on("data", (chunk) => {
      const t = process.hrtime.bigint();
      for (const b of chunk) onByte(b, t);
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    const code = await new Promise((resolve) => child.on("close", (c) => resolve(c)));
    clearTimeout(killer);
    const tEnd = process.hrtime.bigint();
    if (tMarker === null) return { error: `no marker (exit ${code})` };
    return { toMarkerMs: ms(tMarker), toExitMs: ms(tEnd) };
  }
  const runner = e === "qemu" ? runQemuPeer : runBochs;
  let r;
  try {
    r = await runner(image, { timeoutMs: opts.timeoutMs, onByte });
  } catch (err) {
    return { error: String(err?.message ?? err).split("\n")[0] };
  }
  const tEnd = process.hrtime.bigint();
  if (tMarker === null) return { error: `no marker (${r.exitReason})` };
  return { toMarkerMs: ms(tMarker), toExitMs: ms(tEnd) };
}

async function startup(engines, opts) {
  const out = {};
  for (const e of ["vmxlab", "vmxlab-wasm", "bochs", "qemu", "v86"].filter((x) => engines.includes(x))) {
    let best = null;
    const runs = [];
    for (let k = 0; k < opts.startupRepeat; k++) {
      process.stderr.write(`  start-up on ${LABEL[e]} (${k + 1}/${opts.startupRepeat}) ... `);
      const r = await startupOnce(e, opts);
      runs.push(r);
      process.stderr.write(r.error ? `error: ${r.error}\n` : `${fmt(r.toMarkerMs, 0)} ms to the marker\n`);
      if (!r.error && (!best || r.toMarkerMs < best.toMarkerMs)) best = r;
    }
    out[e] = best ? { ...best, runs: runs.map((r) => r.toMarkerMs ?? null) } : { error: runs[runs.length - 1]?.error ?? "not run" };
  }
  return out;
}

// ------------------------------------------------------------------------ accounting

/** Runs bench/accounting-overhead.mjs in a child process (it builds a second copy of vmxlab). */
function accounting(opts) {
  process.stderr.write(`  cycle-accounting overhead (bench/accounting-overhead.mjs --repeat ${opts.accountingRepeat}) ...\n`);
  const r = spawnSync(process.execPath, [path.join(ROOT, "bench/accounting-overhead.mjs"), "--repeat", String(opts.accountingRepeat)], {
    encoding: "utf8",
    cwd: ROOT,
  });
  if (r.status !== 0) return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n").slice(-1)[0] };
  const rows = {};
  for (const m of r.stdout.matchAll(/^(ts|wasm)\s+(\S+)\s+([\d.]+) s\s+([\d.]+) s\s+(-?[\d.]+)%$/gm)) {
    (rows[m[1]] ??= {})[m[2]] = { noCountingSeconds: Number(m[3]), countingSeconds: Number(m[4]), overheadPercent: Number(m[5]) };
  }
  return { text: r.stdout.trimEnd(), rows };
}

// ------------------------------------------------------------------------ main

function fmt(x, digits = 1) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "-";
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join("  ");
      return i === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
    })
    .join("\n");
}

/** Versions of the peers, for the record. */
function peerVersions() {
  const first = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return r.status === 0 ? r.stdout.split("\n")[0].trim() : null;
  };
  return {
    qemu: first("qemu-system-i386", ["--version"]),
    bochs: first("dpkg-query", ["-W", "-f=${Version}", "bochs"]),
    seabios: first("dpkg-query", ["-W", "-f=${Version}", "seabios"]) ?? (v86Missing()?.startsWith("SeaBIOS") ? null : "version unknown"),
    v86: v86Version(),
  };
}

function ratio(a, b) {
  return typeof a === "number" && typeof b === "number" && b > 0 ? a / b : null;
}

/** Issue #4's speed targets, as ratios to Bochs measured in the same run. */
const EACH_ENGINE_TARGET = 1.5;
const FASTER_ENGINE_TARGET = 2;

/**
 * How guest `g` stands against the targets: null when a ratio is missing (an engine or
 * Bochs did not run), else the list of targets it misses (empty when it meets them all).
 */
function targetMisses(g) {
  const ts = g.ratioVmxlabBochs, wasm = g.ratioWasmBochs;
  if (ts === null || wasm === null) return null;
  const misses = [];
  if (ts < EACH_ENGINE_TARGET) misses.push(`TS ${ts.toFixed(2)}x < ${EACH_ENGINE_TARGET}x`);
  if (wasm < EACH_ENGINE_TARGET) misses.push(`wasm ${wasm.toFixed(2)}x < ${EACH_ENGINE_TARGET}x`);
  if (Math.max(ts, wasm) < FASTER_ENGINE_TARGET) misses.push(`faster ${Math.max(ts, wasm).toFixed(2)}x < ${FASTER_ENGINE_TARGET}x`);
  return misses;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    peers: peerVersions(),
  };

  // Every engine keeps its column; one that cannot run says why.
  const wanted = opts.only.length > 0 ? ENGINES.filter((e) => opts.only.includes(e)) : ENGINES.filter((e) => opts.qemu || e !== "qemu");
  const engines = [];
  const skipped = {};
  for (const e of wanted) {
    const why = await whyMissing(e);
    if (why) skipped[e] = why;
    else engines.push(e);
  }

  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}`);
  const p = machine.peers;
  console.log(`peers: ${p.qemu ?? "QEMU missing"}; Bochs ${p.bochs ?? "missing"}; v86 ${p.v86 ?? "missing"} (SeaBIOS ${p.seabios ?? "missing"})`);
  for (const e of wanted) if (skipped[e]) console.log(`${LABEL[e]}: ${skipped[e]}`);

  const results = {};
  for (const guest of opts.guests) {
    results[guest.name] = { image: guest.image, what: guest.what };
    // In rounds: the k-th run of every emulator, then the next round. A slow phase of the
    // host (minutes long on a shared VM) then falls on every emulator's run of a round
    // alike, not on one emulator's whole block of runs, and best-of-K ratios stay fair.
    const runs = Object.fromEntries(engines.map((e) => [e, []]));
    for (let k = 0; k < opts.repeat; k++) {
      for (const e of engines) {
        process.stderr.write(`  ${guest.name} on ${LABEL[e]}${opts.repeat > 1 ? ` (${k + 1}/${opts.repeat})` : ""} ... `);
        const r = await RUNNERS[e](guest, opts);
        runs[e].push(r);
        process.stderr.write(r.error ? `error: ${r.error}\n` : `${fmt(r.mips)} MIPS (${fmt(r.seconds, 3)} s)\n`);
      }
    }
    for (const e of engines) {
      const ok = runs[e].filter((r) => !r.error);
      const best = ok.length ? ok.reduce((a, b) => (b.mips > a.mips ? b : a)) : null;
      results[guest.name][e] = best ? { ...best, runs: runs[e].map((r) => r.mips ?? null) } : { error: runs[e][runs[e].length - 1].error, runs: runs[e].map(() => null) };
    }
    // The same guest must compute the same checksum everywhere.
    const sums = engines.map((e) => results[guest.name][e]?.checksum).filter(Boolean);
    results[guest.name].checksumsAgree = new Set(sums).size <= 1;
    const g = results[guest.name];
    g.ratioVmxlabBochs = ratio(g.vmxlab?.mips, g.bochs?.mips);
    g.ratioWasmBochs = ratio(g["vmxlab-wasm"]?.mips, g.bochs?.mips);
    g.ratioVmxlabV86NoJit = ratio(g.vmxlab?.mips, g["v86-nojit"]?.mips);
    g.ratioWasmV86NoJit = ratio(g["vmxlab-wasm"]?.mips, g["v86-nojit"]?.mips);
    g.targetMisses = targetMisses(g);
  }

  const header = ["guest", "instructions"];
  for (const e of wanted) header.push(`${LABEL[e]} MIPS`);
  header.push("TS/Bochs", "wasm/Bochs", "TS/v86-nojit", "wasm/v86-nojit");
  const rows = [header];
  for (const guest of opts.guests) {
    const g = results[guest.name];
    const n = engines.map((e) => g[e]?.instructions).find((x) => x);
    const row = [guest.name + (g.checksumsAgree ? "" : " (checksums differ!)"), n ? n.toLocaleString("en-US") : "-"];
    for (const e of wanted) {
      if (skipped[e]) row.push(skipped[e].startsWith("not built") ? "not built" : "missing");
      else row.push(g[e]?.error ? "error" : fmt(g[e]?.mips));
    }
    for (const r of [g.ratioVmxlabBochs, g.ratioWasmBochs, g.ratioVmxlabV86NoJit, g.ratioWasmV86NoJit]) row.push(r ? `${r.toFixed(2)}x` : "-");
    rows.push(row);
  }
  console.log("");
  console.log(table(rows));
  console.log("");
  console.log(`best of ${opts.repeat}; MIPS = instructions between the 0x02 and 0x03 markers / host seconds between them`);
  // Issue #4: each engine at least 1.5x Bochs on every workload, the faster one at least 2x.
  const met = opts.guests.filter((guest) => results[guest.name].targetMisses?.length === 0).map((guest) => guest.name);
  const missed = opts.guests.filter((guest) => results[guest.name].targetMisses?.length > 0)
    .map((guest) => `${guest.name} (${results[guest.name].targetMisses.join(", ")})`);
  const unknown = opts.guests.filter((guest) => results[guest.name].targetMisses === null).map((guest) => guest.name);
  console.log(`targets (each engine >= ${EACH_ENGINE_TARGET}x Bochs, the faster >= ${FASTER_ENGINE_TARGET}x): ` +
    [met.length ? `met on ${met.join(", ")}` : "", missed.length ? `missed on ${missed.join("; ")}` : "",
      unknown.length ? `not measured on ${unknown.join(", ")} (an engine or Bochs did not run)` : ""].filter(Boolean).join("; "));

  let startupResults = null;
  if (opts.startupRepeat > 0) {
    startupResults = await startup(engines, opts);
    const srows = [["start-up (bench-start.img)", "spawn to guest marker ms", "spawn to exit ms"]];
    for (const e of ["vmxlab", "vmxlab-wasm", "bochs", "qemu", "v86"].filter((x) => wanted.includes(x))) {
      const s = startupResults[e];
      if (!s) srows.push([LABEL[e], skipped[e]?.startsWith("not built") ? "not built" : "missing", "-"]);
      else srows.push([LABEL[e], s.error ? "error" : fmt(s.toMarkerMs, 0), s.error ? "-" : fmt(s.toExitMs, 0)]);
    }
    console.log("");
    console.log(table(srows));
    console.log("");
    console.log(`best of ${opts.startupRepeat}; peers include their BIOS's boot, vmxlab starts the boot sector itself; v86 (JIT) in a Node process`);
  }

  let accountingResults = null;
  if (opts.accountingRepeat > 0 && engines.includes("vmxlab") && !process.env.VMXLAB_ENTRY) {
    accountingResults = accounting(opts);
    console.log("");
    console.log("cycle accounting (same build with the retire counters removed, bench/accounting-overhead.mjs):");
    console.log(accountingResults.error ? `error: ${accountingResults.error}` : accountingResults.text);
  }

  const out = {
    date: new Date().toISOString(),
    machine,
    repeat: opts.repeat,
    engines,
    skipped,
    results,
    startup: startupResults,
    accounting: accountingResults,
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(out, null, 2) + "\n");
  console.log("");
  console.log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}`);

  const failed = engines.some((e) => opts.guests.some((g) => results[g.name][e]?.error));
  const mismatch = opts.guests.some((g) => !results[g.name].checksumsAgree);
  if (mismatch) console.log("error: engines disagree on a guest's checksum (see the table)");
  process.exitCode = failed || mismatch ? 1 : 0;
}

main()
  .then(() => process.exit(process.exitCode ?? 0)) // v86 may leave timers behind after destroy()
  .catch((e) => {
    console.error(`bench: ${e?.stack ?? e}`);
    process.exit(1);
  });

// npm run bench: guest MIPS of vmxlab against Bochs (and QEMU TCG), same images, same run.
//
// Each bench guest writes marker byte 0x02 to its UART just before its timed loop and
// 0x03 just after it, then prints "instructions=N" (the exact number of instructions the
// timed region executes, computed by hand in the guest's source) and "checksum=X".
// The host timestamps the two markers as they arrive, so BIOS, boot and exit time
// drop out:  MIPS = N / (t(0x03) - t(0x02)) / 1e6.
//
//   node bench/run.mjs [--only vmxlab|bochs|qemu] [--guest NAME] [--repeat K]
//                      [--timeout SECONDS] [--no-qemu] [--out FILE]
//
// Results: a table on stdout and JSON in bench/results/latest.json.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { available as bochsAvailable, runBochs } from "../tools/peers/bochs.mjs";
import { available as qemuAvailable, runQemu } from "../tools/peers/qemu.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GUESTS = [
  { name: "bench-alu", image: "guests/bench-alu.img", what: "register-only loop" },
  { name: "bench-mem", image: "guests/bench-mem.img", what: "load/store loop over 64 KiB" },
  { name: "bench-mem-paged", image: "guests/bench-mem-paged.img", what: "the same loop with 32-bit paging on" },
];
const ENGINES = ["vmxlab", "bochs", "qemu"];
const LABEL = { vmxlab: "vmxlab", bochs: "Bochs", qemu: "QEMU TCG" };

function usage(msg) {
  console.error(`bench: ${msg}`);
  console.error(
    "usage: node bench/run.mjs [--only vmxlab|bochs|qemu] [--guest NAME] [--repeat K] [--timeout SECONDS] [--no-qemu] [--out FILE]",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { only: null, guests: [], repeat: 1, timeoutMs: 300000, qemu: true, out: path.join(ROOT, "bench/results/latest.json") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--only") {
      const v = val();
      if (!ENGINES.includes(v)) usage(`--only takes one of ${ENGINES.join(", ")}, not '${v}'`);
      o.only = v;
    } else if (a === "--guest") {
      const v = val().replace(/\.(img|asm)$/, "").replace(/^.*\//, "");
      const g = GUESTS.find((x) => x.name === v || x.name === `bench-${v}`);
      if (!g) usage(`unknown guest '${v}' (have: ${GUESTS.map((x) => x.name).join(", ")})`);
      o.guests.push(g);
    } else if (a === "--repeat") {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 1) usage("--repeat takes a positive integer");
      o.repeat = v;
    } else if (a === "--timeout") {
      const v = Number(val());
      if (!(v > 0)) usage("--timeout takes a positive number of seconds");
      o.timeoutMs = v * 1000;
    } else if (a === "--no-qemu") {
      o.qemu = false;
    } else if (a === "--out") {
      o.out = path.resolve(val());
    } else if (a === "-h" || a === "--help") {
      console.log(
        "usage: node bench/run.mjs [--only vmxlab|bochs|qemu] [--guest NAME] [--repeat K] [--timeout SECONDS] [--no-qemu] [--out FILE]",
      );
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

async function runVmxlab(guest, _opts) {
  const { Machine } = await loadVmxlab();
  const bytes = fs.readFileSync(path.join(ROOT, guest.image));
  const clock = markerClock();
  const m = new Machine({ ramBytes: 32 << 20 });
  m.loadImage(bytes, { name: guest.image });
  m.onSerial = (byte) => clock.onByte(byte & 0xff, process.hrtime.bigint());
  let r;
  try {
    r = m.run({ maxInstructions: 2e9 });
  } catch (e) {
    return { error: `vmxlab threw: ${String(e?.message ?? e).split("\n")[0]}`, exitReason: "error" };
  }
  const exitReason = r?.reason === "debug-exit" ? `debug-exit ${r.exitCode ?? "?"}` : `${r?.reason}${r?.message ? ": " + r.message : ""}`;
  const res = measure(clock, null, exitReason);
  if (typeof r?.instructions === "number") res.totalInstructions = r.instructions;
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

const RUNNERS = {
  vmxlab: runVmxlab,
  bochs: (g, o) => runPeer(runBochs, g, o),
  // tools/peers/qemu.mjs reports the debug-exit value; the table shows it like the others.
  qemu: (g, o) => runPeer(async (image, opts) => {
    const r = await runQemu(image, opts);
    return { ...r, exitReason: r.timedOut ? "timeout" : r.exitStatus !== null ? `debug-exit ${r.exitStatus}` : "no debug-exit" };
  }, g, o),
};

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

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };

  // Which engines run, and why the others do not.
  const wanted = opts.only ? [opts.only] : opts.qemu ? ENGINES : ["vmxlab", "bochs"];
  const engines = [];
  const skipped = {};
  for (const e of wanted) {
    if (e === "vmxlab" && !(await loadVmxlab())) skipped.vmxlab = `vmxlab engine not built (${vmxlabWhy})`;
    else if (e === "bochs" && !bochsAvailable()) skipped.bochs = "Bochs is not installed (apt-get install bochs bochs-term bochsbios vgabios)";
    else if (e === "qemu" && !qemuAvailable()) skipped.qemu = "QEMU is not installed (apt-get install qemu-system-x86)";
    else engines.push(e);
  }
  for (const why of Object.values(skipped)) console.log(why);
  if (engines.length === 0) {
    process.exitCode = 1;
    return;
  }

  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}`);
  const results = {};
  for (const guest of opts.guests) {
    results[guest.name] = { image: guest.image, what: guest.what };
    for (const e of engines) {
      let best = null;
      const runs = [];
      for (let k = 0; k < opts.repeat; k++) {
        process.stderr.write(`  ${guest.name} on ${LABEL[e]}${opts.repeat > 1 ? ` (${k + 1}/${opts.repeat})` : ""} ... `);
        const r = await RUNNERS[e](guest, opts);
        runs.push(r);
        process.stderr.write(r.error ? `error: ${r.error}\n` : `${fmt(r.mips)} MIPS (${fmt(r.seconds, 3)} s)\n`);
        if (!r.error && (!best || r.mips > best.mips)) best = r;
      }
      results[guest.name][e] = best ? { ...best, runs: runs.map((r) => r.mips ?? null) } : { error: runs[runs.length - 1].error, runs: runs.map(() => null) };
    }
    // The same guest must compute the same checksum everywhere.
    const sums = engines.map((e) => results[guest.name][e]?.checksum).filter(Boolean);
    results[guest.name].checksumsAgree = new Set(sums).size <= 1;
    const v = results[guest.name].vmxlab?.mips;
    const b = results[guest.name].bochs?.mips;
    results[guest.name].ratioVmxlabBochs = v && b ? v / b : null;
  }

  const header = ["guest", "instructions"];
  for (const e of engines) header.push(`${LABEL[e]} MIPS`);
  if (engines.includes("vmxlab") && engines.includes("bochs")) header.push("vmxlab/Bochs");
  const rows = [header];
  for (const guest of opts.guests) {
    const g = results[guest.name];
    const n = engines.map((e) => g[e]?.instructions).find((x) => x);
    const row = [guest.name + (g.checksumsAgree ? "" : " (checksums differ!)"), n ? n.toLocaleString("en-US") : "-"];
    for (const e of engines) row.push(g[e]?.error ? "error" : fmt(g[e]?.mips));
    if (engines.includes("vmxlab") && engines.includes("bochs")) row.push(g.ratioVmxlabBochs ? `${g.ratioVmxlabBochs.toFixed(2)}x` : "-");
    rows.push(row);
  }
  console.log("");
  console.log(table(rows));
  console.log("");
  console.log(`best of ${opts.repeat}; MIPS = instructions between the 0x02 and 0x03 markers / host seconds between them`);

  const out = {
    date: new Date().toISOString(),
    machine,
    repeat: opts.repeat,
    engines,
    skipped,
    results,
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}`);

  const failed = engines.some((e) => opts.guests.some((g) => results[g.name][e]?.error));
  const mismatch = opts.guests.some((g) => !results[g.name].checksumsAgree);
  if (mismatch) console.log("error: engines disagree on a guest's checksum (see the table)");
  process.exitCode = failed || mismatch ? 1 : 0;
}

main().catch((e) => {
  console.error(`bench: ${e?.stack ?? e}`);
  process.exit(1);
});

// Hardware test vectors (SingleStepTests MOO files recorded on a Harris 80C286 and an
// Intel 386EX) run through vmxlab in real mode. Each case is one instruction followed by
// HLT: load the INIT registers and RAM, run until HLT, compare every register and the
// FINA RAM bytes, with undefined flags masked by the files' own masks (top-level and
// per-test RMSK/RM32 chunks, metadata.json "flags-mask"). Architectural differences
// between those chips and the Pentium-class CPU vmxlab models are masked only where the
// Intel SDM documents them; each one is commented below and listed in docs/testing-moo.md.
//
// The data is referenced in place (read-only) from /work/shared/testdata/singlestep-386
// (override with VMXLAB_MOO_DIR); the suite is skipped with a message when it is absent.
// MOO_VERBOSE=1 prints every failing case.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";
import { Reg, Seg } from "../src/state/layout.js";
import { readMoo, type MooFile, type MooRegs, type MooTest } from "./moo/moo.js";

const DATA_DIR = process.env.VMXLAB_MOO_DIR ?? "/work/shared/testdata/singlestep-386";
const FILES = [
  "80386ex-moo-sample/00.MOO",
  "80286-v1_real_mode/01.MOO.gz",
  "80286-v1_real_mode/19.MOO.gz",
  "80286-v1_real_mode/D3.7.MOO.gz",
  "80286-v1_real_mode/F7.6.MOO.gz",
  "80286-v1_real_mode/9D.MOO.gz",
];
const missing = FILES.filter((f) => !existsSync(join(DATA_DIR, f)));
if (missing.length > 0) {
  console.warn(`MOO hardware-vector tests skipped: ${DATA_DIR} lacks ${missing.join(", ")} (set VMXLAB_MOO_DIR)`);
}
const VERBOSE = process.env.MOO_VERBOSE === "1";

/** Instruction budget per case: the instruction, a possible exception, and the HLT. */
const BUDGET = 10;

// --- Documented architectural differences -------------------------------------------

/**
 * 80286 in real mode: FLAGS bits 12-15 (IOPL, NT, reserved) are always clear, while a
 * 32-bit processor in real mode keeps in bits 12-14 the last value loaded into them (so
 * POPF sets IOPL and NT) and clears bit 15. SDM Vol. 3A, chapter "Architecture
 * Compatibility", section "EFLAGS Pushed on the Stack" (22.14.2 in recent editions).
 * The recorded INIT values carry random bits 12-15 the chip never held (the FINA values
 * show them clear), so they are cleared on load, and bits 12-15 are not compared.
 */
const I286_FLAGS_12_15 = 0xf000;

/**
 * 386 EFLAGS has bits 0-17 only: AC (bit 18) came with the Intel486 and VIF, VIP, ID
 * (bits 19-21) with the Pentium (SDM Vol. 3A "Architecture Compatibility", section "New
 * Flags in the EFLAGS Register"); bits 22-31 are reserved (SDM Vol. 1 3.4.3: software
 * should not depend on their states). The 386EX recordings show bits 18-31 as set
 * (fffc_xxxx in INIT and FINA); only bits 0-17 are loaded and compared.
 */
const I386_EFLAGS_BITS = 0x3ffff;

/**
 * LOCK: the 80286 accepts the LOCK prefix on any instruction (SDM Vol. 3A "Architecture
 * Compatibility", section "Bus Locking": the 286 locks differently from the Intel386 and
 * later processors), while on the IA-32 processors vmxlab models LOCK
 * before an instruction that is not a locked read-modify-write of memory raises #UD (SDM 2A
 * "LOCK—Assert LOCK# Signal Prefix", exceptions). The 386EX file records that #UD. In a
 * 286 case with LOCK on a non-lockable instruction, each F0 byte is replaced in the code
 * by the override prefix of the segment the instruction already uses (its last explicit
 * override, else SS for a BP-based operand, else DS): a redundant prefix, so length,
 * prefix count, the IP an exception pushes and the effect stay what the 286 recorded.
 */
const LOCK = 0xf0;
const SEG_PREFIX = { ss: 0x36, ds: 0x3e } as const;
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/**
 * Segment-limit overrun through SS (a word at offset FFFFh): the Intel386 and later raise
 * #SS (vector 12) for the stack segment and #GP (13) for the others (SDM Vol. 3A
 * "Architecture Compatibility", section "Segment Wraparound"); the 80C286 recordings take
 * vector 13 for both. Real-mode
 * exceptions push no error code, so for such a case IVT[12] is made a copy of IVT[13]
 * (both from the INIT RAM) and everything is then compared as recorded.
 */
const IVT_SS = 12 * 4, IVT_GP = 13 * 4;

/** One-byte opcodes followed by a ModRM byte (SDM 2A appendix A, opcode map). */
function hasModrm(op: number): boolean {
  return (op < 0x40 && (op & 7) < 4) || op === 0x62 || op === 0x63 || op === 0x69 || op === 0x6b ||
    (op >= 0x80 && op <= 0x8f) || op === 0xc0 || op === 0xc1 || (op >= 0xc4 && op <= 0xc7) ||
    (op >= 0xd0 && op <= 0xd3) || (op >= 0xd8 && op <= 0xdf) || op === 0xf6 || op === 0xf7 || op === 0xfe || op === 0xff;
}

interface Decoded { prefixes: number[]; op: number; modrm: number | null }
function decodeHead(bytes: Uint8Array): Decoded {
  let i = 0;
  while (i < bytes.length && PREFIXES.has(bytes[i]!)) i++;
  const op = bytes[i] ?? 0xf4;
  return { prefixes: [...bytes.subarray(0, i)], op, modrm: hasModrm(op) ? bytes[i + 1] ?? null : null };
}

/** LOCK may precede these when the destination is memory (SDM 2A "LOCK"). */
function lockable(d: Decoded): boolean {
  if (d.modrm === null || d.modrm >> 6 === 3) return false;
  const op = d.op, reg = (d.modrm >> 3) & 7;
  if (op < 0x38 && (op & 7) < 2) return true;           // ADD OR ADC SBB AND SUB XOR r/m,r
  if (op >= 0x80 && op <= 0x83) return reg !== 7;         // group 1 except CMP
  if (op === 0x86 || op === 0x87) return true;            // XCHG
  if (op === 0xf6 || op === 0xf7) return reg === 2 || reg === 3; // NOT NEG
  if (op === 0xfe || op === 0xff) return reg <= 1;        // INC DEC
  return false;
}

/** True when the ModRM memory operand (16-bit addressing) is in SS. */
function ssOperand(d: Decoded): boolean {
  if (d.modrm === null || d.modrm >> 6 === 3) return false;
  const seg = d.prefixes.filter((p) => p === 0x26 || p === 0x2e || p === 0x36 || p === 0x3e).pop();
  if (seg !== undefined) return seg === 0x36;
  const mod = d.modrm >> 6, rm = d.modrm & 7;
  return rm === 2 || rm === 3 || (rm === 6 && mod !== 0);
}

interface Adaptation { ram: Array<[number, number]>; note: string | null }
type Plan = Adaptation | { skip: string };

/** How a case is run on a Pentium-class CPU (see the two differences above). */
function plan(ctx: FileContext, t: MooTest): Plan {
  const none: Adaptation = { ram: [], note: null };
  if (!ctx.is286) return none;
  const d = decodeHead(t.bytes);
  const r = t.init.regs!.values;
  const adapt: Adaptation = { ram: [], note: null };
  if (d.prefixes.includes(LOCK) && !lockable(d)) {
    const explicit = d.prefixes.filter((p) => p === 0x26 || p === 0x2e || p === 0x36 || p === 0x3e).pop();
    const neutral = explicit ?? (ssOperand(d) ? SEG_PREFIX.ss : SEG_PREFIX.ds);
    const cs = r.get("cs")!, ip = r.get("ip")!;
    d.prefixes.forEach((p, i) => { if (p === LOCK) adapt.ram.push([(cs << 4) + ((ip + i) & 0xffff), neutral]); });
    adapt.note = "LOCK→redundant segment prefix";
  }
  if (t.exception?.vector === 13 && ssOperand(d)) {
    const ivt = new Map(t.init.ram);
    for (let i = 0; i < 4; i++) {
      const v = ivt.get(IVT_GP + i);
      if (v === undefined) return { skip: "#GP through SS without IVT[13] in INIT RAM" };
      adapt.ram.push([IVT_SS + i, v]);
    }
    adapt.note = adapt.note ? `${adapt.note}, IVT[12]=IVT[13]` : "IVT[12]=IVT[13]";
  }
  return adapt.ram.length > 0 ? adapt : none;
}

// --- Loading and comparing -----------------------------------------------------------

interface Metadata { opcodes: Record<string, OpcodeMeta> }
interface OpcodeMeta { "flags-mask"?: number; reg?: Record<string, OpcodeMeta> }

/** metadata.json "flags-mask" for a file named like "01.MOO.gz" or "D3.7.MOO.gz". */
function metadataFlagsMask(meta: Metadata | null, fileName: string): number {
  if (meta === null) return 0xffff;
  const [op, ext] = fileName.split(".") as [string, string];
  let entry: OpcodeMeta | undefined = meta.opcodes[op.toUpperCase()];
  if (entry && /^[0-7]$/.test(ext)) entry = entry.reg?.[ext];
  return entry?.["flags-mask"] ?? 0xffff;
}

/** vmxlab register for a REGS/RG32 name; "flags"/"eflags" and control registers are special. */
const GPR: Record<string, number> = {
  ax: Reg.EAX, cx: Reg.ECX, dx: Reg.EDX, bx: Reg.EBX, sp: Reg.ESP, bp: Reg.EBP, si: Reg.ESI, di: Reg.EDI, ip: Reg.EIP,
  eax: Reg.EAX, ecx: Reg.ECX, edx: Reg.EDX, ebx: Reg.EBX, esp: Reg.ESP, ebp: Reg.EBP, esi: Reg.ESI, edi: Reg.EDI, eip: Reg.EIP,
};
const SEGS: Record<string, number> = { es: Seg.ES, cs: Seg.CS, ss: Seg.SS, ds: Seg.DS, fs: Seg.FS, gs: Seg.GS };

interface FileContext {
  file: MooFile;
  is286: boolean;
  /** Mask of the flag bits compared (undefined flags and documented differences cleared). */
  flagsMask: number;
}

interface Failure {
  test: MooTest;
  /** Run outcome when it was not the expected 'halt'. */
  outcome: string;
  diffs: Array<{ what: string; expected: number; actual: number; mask: number }>;
}

const hex = (v: number, w = 4): string => (v >>> 0).toString(16).padStart(w, "0");

/** Resets only what a previous case can have changed, then loads the INIT state. */
function loadCase(m: Machine, ctx: FileContext, t: MooTest, adapt: Adaptation, dirty: number[]): void {
  const cpu = m.cpu, s = cpu.s;
  // Bytes go in through the physical-write path, which drops stale decoded instructions
  // the way a guest write does (flushDecoded() per case would cost ~3 ms × 22,500).
  for (const a of dirty) cpu.physWrite8(a, 0);
  dirty.length = 0;
  s[Reg.HALTED] = 0;
  s[Reg.INHIBIT_IRQ] = 0;
  s[Reg.FAULT_DEPTH] = 0;
  s[Reg.DR0 + 7] = 0x400;
  s[Reg.DR0 + 6] = 0xffff0ff0 | 0;
  const init = t.init.regs!.values;
  for (const [name, v] of init) {
    if (name in GPR) s[GPR[name]!] = v | 0;
    else if (name in SEGS) cpu.loadRealSegment(SEGS[name]!, v & 0xffff);
  }
  // CR0, CR3, DR6, DR7 of the 386EX are not loaded: PE=0 in every case (real mode), and
  // the recorded CR0 (7ffefff0) carries reserved bits a Pentium-class CR0 does not hold.
  const flags = ctx.is286 ? init.get("flags")! & ~I286_FLAGS_12_15 : init.get("eflags")! & I386_EFLAGS_BITS;
  cpu.setEflags(flags);
  for (const [a, v] of t.init.ram) { cpu.physWrite8(a, v); dirty.push(a); }
  for (const [a] of t.final.ram) dirty.push(a);
  for (const [a, v] of adapt.ram) { cpu.physWrite8(a, v); dirty.push(a); }
}

function maskOf(masks: MooRegs | null, name: string): number {
  const v = masks?.values.get(name);
  return v === undefined ? -1 : v;
}

function runCase(m: Machine, ctx: FileContext, t: MooTest, adapt: Adaptation, dirty: number[]): Failure | null {
  loadCase(m, ctx, t, adapt, dirty);
  let outcome = "halt";
  try {
    const r = m.run({ maxInstructions: BUDGET });
    if (r.reason !== "halt") outcome = `${r.reason}${r.message ? `: ${r.message}` : ""}`;
  } catch (e) {
    outcome = `host exception: ${e instanceof Error ? e.message : String(e)}`;
  }
  const cpu = m.cpu, s = cpu.s;
  const init = t.init.regs!.values, fin = t.final.regs!.values;
  const diffs: Failure["diffs"] = [];
  const check = (what: string, expected: number, actual: number, mask: number): void => {
    if (((expected ^ actual) & mask) !== 0) diffs.push({ what, expected: expected >>> 0, actual: actual >>> 0, mask });
  };
  const fileMasks = ctx.file.masks, testMasks = t.final.masks;
  for (const [name, initial] of init) {
    const expected = fin.get(name) ?? initial;
    const mask = maskOf(fileMasks, name) & maskOf(testMasks, name);
    if (name in GPR) {
      // 16-bit files: the upper halves start at 0 and real-mode 16-bit code keeps them.
      check(name, expected, s[GPR[name]!]!, mask);
    } else if (name in SEGS) {
      check(name, expected, s[Reg.SEG_SEL + SEGS[name]!]!, mask & 0xffff);
    } else if (name === "flags" || name === "eflags") {
      check(name, expected, cpu.getEflags(), mask & ctx.flagsMask);
    }
  }
  // Control and debug registers are compared only when the instruction changed them.
  for (const [name, expected] of fin) {
    if (name === "cr0") check(name, expected, s[Reg.CR0]!, maskOf(testMasks, name));
    else if (name === "cr3") check(name, expected, s[Reg.CR3]!, maskOf(testMasks, name));
    else if (name === "dr6") check(name, expected, s[Reg.DR0 + 6]!, maskOf(testMasks, name));
    else if (name === "dr7") check(name, expected, s[Reg.DR0 + 7]!, maskOf(testMasks, name));
  }
  // RAM: the FLAGS image an exception pushed holds the same undefined flags as FLAGS.
  // EXCP's address is the (even) bus address of that write, one below the image when SP
  // is odd, so the image is located from the handler's SS:SP instead (IP, CS, FLAGS).
  let fa = -2;
  if (t.exception) {
    const sp = fin.get("sp") ?? fin.get("esp") ?? init.get("sp") ?? init.get("esp")!;
    const ss = fin.get("ss") ?? init.get("ss")!;
    fa = ((ss & 0xffff) << 4) + ((sp + 4) & 0xffff);
  }
  const ram = cpu.ram;
  for (const [a, v] of t.final.ram) {
    const mask = a === fa ? ctx.flagsMask & 0xff : a === fa + 1 ? (ctx.flagsMask >> 8) & 0xff : 0xff;
    check(`[${hex(a, 5)}]`, v, ram[a]!, mask);
  }
  return outcome === "halt" && diffs.length === 0 ? null : { test: t, outcome, diffs };
}

// --- Reporting ----------------------------------------------------------------------

function describeCase(ctx: FileContext, f: Failure): string {
  const t = f.test;
  const regs = [...t.init.regs!.values]
    .filter(([n]) => !["cr0", "cr3", "dr6", "dr7"].includes(n))
    .map(([n, v]) => `${n}=${hex(v, ctx.is286 ? 4 : n.startsWith("e") ? 8 : 4)}`).join(" ");
  const diffs = f.diffs.map((d) => `${d.what}: expected ${hex(d.expected)} got ${hex(d.actual)}` +
    (d.mask !== -1 && d.mask !== 0xff && d.mask !== 0xffff ? ` (mask ${hex(d.mask)})` : "")).join("; ");
  const exc = t.exception ? ` [hardware took exception ${t.exception.vector}]` : "";
  return `#${t.index} "${t.name}" bytes ${Buffer.from(t.bytes).toString("hex")}${exc}\n      init ${regs}\n      ` +
    (f.outcome !== "halt" ? `run ended: ${f.outcome}; ` : "") + (diffs || "no register/RAM difference");
}

/** Groups failures by mnemonic, exception and which fields differ. */
function classify(f: Failure): string {
  const mnemonic = f.test.name.replace(/^(lock |rep\w* |[a-z]s |)+/, "").split(" ")[0] ?? "?";
  const fields = [...new Set(f.diffs.map((d) => (d.what.startsWith("[") ? "RAM" : d.what)))].join(",");
  const exc = f.test.exception ? ` exception ${f.test.exception.vector}` : "";
  return `${mnemonic}${exc}: ${f.outcome !== "halt" ? `run ended ${f.outcome.split(":")[0]}` : ""}${fields ? ` differs in ${fields}` : ""}`;
}

function report(name: string, ctx: FileContext, failures: Failure[]): string {
  const classes = new Map<string, Failure[]>();
  for (const f of failures) {
    const k = classify(f);
    if (!classes.has(k)) classes.set(k, []);
    classes.get(k)!.push(f);
  }
  const lines = [`${name}: ${failures.length} of ${ctx.file.tests.length} cases fail`];
  for (const [k, fs] of [...classes].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(`  ${fs.length} × ${k}`);
    for (const f of VERBOSE ? fs : fs.slice(0, 2)) lines.push(`    ${describeCase(ctx, f)}`);
  }
  return lines.join("\n");
}

// --- The tests ----------------------------------------------------------------------

describe.skipIf(missing.length > 0)("SingleStepTests MOO vectors in real mode", () => {
  const metaPath = join(DATA_DIR, "80286-v1_real_mode/metadata.json");
  const meta: Metadata | null = existsSync(metaPath) ? JSON.parse(readFileSync(metaPath, "utf8")) as Metadata : null;
  const revokedPath = join(DATA_DIR, "80286-v1_real_mode/revocation_list.txt");
  const revoked = new Set(existsSync(revokedPath)
    ? readFileSync(revokedPath, "utf8").split("\n").map((l) => l.trim().toLowerCase()).filter((l) => /^[0-9a-f]{40}$/.test(l))
    : []);
  const machine = new Machine({ ramBytes: 16 << 20 }); // the tests assume 16 MiB
  machine.reset();

  for (const rel of FILES) {
    it(rel, () => {
      const file = readMoo(join(DATA_DIR, rel));
      expect(file.meta?.cpuMode, "real-mode file").toBe(0);
      const is286 = file.cpuId === "C286";
      const fileName = rel.split("/").pop()!;
      const flagsMask = is286
        ? metadataFlagsMask(meta, fileName) & ~I286_FLAGS_12_15
        : maskOf(file.masks, "eflags") & I386_EFLAGS_BITS;
      const ctx: FileContext = { file, is286, flagsMask };
      const dirty: number[] = [];
      const failures: Failure[] = [];
      let run = 0;
      const adapted = new Map<string, number>(), skipped = new Map<string, number>();
      const bump = (m: Map<string, number>, k: string): void => { m.set(k, (m.get(k) ?? 0) + 1); };
      for (const t of file.tests) {
        if (revoked.has(t.hash)) { bump(skipped, "revoked"); continue; }
        const p = plan(ctx, t);
        if ("skip" in p) { bump(skipped, p.skip); continue; }
        if (p.note) bump(adapted, p.note);
        run++;
        const f = runCase(machine, ctx, t, p, dirty);
        if (f) failures.push(f);
      }
      const counts = (m: Map<string, number>): string => [...m].map(([k, n]) => `${n} ${k}`).join(", ") || "none";
      console.log(`${rel}: ${run} run, ${failures.length} failed; adapted: ${counts(adapted)}; skipped: ${counts(skipped)}`);
      expect(run).toBeGreaterThan(0);
      if (failures.length > 0) {
        const text = report(rel, ctx, failures);
        console.log(text);
        expect.fail(text);
      }
    });
  }
});

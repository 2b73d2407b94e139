// Lockstep (issue #4, DESIGN.md invariant 1: the engine is invisible): two machines built
// from the same guest and options, normally differing only in their engine, run in equal
// steps and are compared after each one; on the first difference the run is replayed
// (it is deterministic: invariant 5) and stepped one instruction at a time to the first
// step after which the two differ, and both states are printed side by side.
//
// A step is what Machine.run's limit counts: an instruction retired or an event (fault,
// interrupt, NMI) delivered. Both machines are always driven by the same calls of
// Machine.run with the same limits, so their devices and timers see the same calls at the
// same step and cycle counts as long as their CPUs behave the same.
//
// What is compared (docs/lockstep.md):
// - every state word of state/layout.ts `Reg`, raw, except the lazy-flag words and the
//   TLBs' not-yet-folded hit counts, which are encodings: EFLAGS is compared as the value
//   the guest reads (lazyEflags), so two engines that record the same flags in different
//   lazy forms agree, and each TLB's hits as its total (`TlbModel.hits`);
// - the event counters (cost/event.ts), the cycle count, the run counters (retired,
//   events delivered), events by vector, each TLB model's counters, header and entries;
// - the serial output so far, each disk's sector counters, how each machine's run ended;
// - guest RAM and the TLB direct maps (which hold the cached translations' frames and
//   permissions) by a byte compare, every `ramEvery` steps, at the end, and at each step
//   of the bisection's last stage.
// Not compared: the decoded-instruction cache and code-page map (an engine's cache; a
// stale entry shows up as a difference in what runs) and device objects (host-side: they
// only change through the CPU's accesses and the step and cycle counts, all compared).
//
// A side may be several machines run by one deterministic schedule (a LockstepSystem: two
// guests on a virtual switch, src/vmm/quantumScheduler.ts). Its step count is the sum of
// its machines'; each machine is compared with the other side's machine of the same index,
// and the schedule's own state (LockstepSystem.compared) too. One machine alone is the
// system SingleMachine.

import { Machine, RunResult } from "./machine.js";
import {
  Reg, Wide, Cr0, Cr4, COUNTER_SLOTS, TSC_OFFSET_SLOT, DTLB_MODEL_OFFSET, ITLB_MODEL_OFFSET, TlbModelLayout,
  DTLB_MAP_OFFSET, ITLB_MAP_OFFSET, TLB_ENTRIES, RAM_OFFSET,
} from "../state/layout.js";
import { Event, counterName } from "../cost/event.js";
import { disassemble } from "../isa/disasm.js";

/** Builds one side's machine with the guest loaded and its input queued; called again for each replay. */
export type MachineFactory = () => Machine;

/**
 * One side of a lockstep run: its machines and the deterministic schedule that runs them.
 * Its factory is called again for each replay and must build the same system from scratch.
 */
export interface LockstepSystem {
  /** The machines; each is compared with the other side's machine of the same index. */
  readonly machines: readonly Machine[];
  /** Steps done by all its machines since it was built (the unit of `every`, pauses and reports). */
  readonly steps: number;
  /** True once the whole run has ended. */
  readonly done: boolean;
  /** How each machine's run ended, null while it goes on. */
  readonly results: readonly (RunResult | null)[];
  /**
   * Runs until `target` steps in all, stopping right after that step, or to the end. The
   * run must not depend on how it is cut into calls (the search steps one at a time).
   */
  runTo(target: number): void;
  /** The schedule's own state, compared too (e.g. quanta begun, frames waiting in a switch). */
  compared?(): [string, number][];
}

/** One machine run alone, in Machine.run calls of the lengths asked for. */
export class SingleMachine implements LockstepSystem {
  readonly machines: Machine[];
  readonly results: (RunResult | null)[] = [null];
  /** Steps and instructions retired when it was wrapped. */
  readonly startSteps: number;
  readonly startRetired: number;

  constructor(readonly machine: Machine) {
    this.machines = [machine];
    this.startRetired = machine.cpu.retired;
    this.startSteps = machine.cpu.retired + machine.cpu.eventsDelivered;
  }

  get steps(): number { return this.machine.cpu.retired + this.machine.cpu.eventsDelivered - this.startSteps; }
  get done(): boolean { return this.results[0] !== null; }

  runTo(target: number): void {
    if (this.done || this.steps >= target) return;
    const r = this.machine.run({ maxInstructions: target - this.steps });
    if (r.reason !== "limit") this.results[0] = r;
  }
}

/** runLockstepSystems' options: LockstepOptions for sides of several machines. */
export interface SystemLockstepOptions {
  every?: number;
  ramEvery?: number;
  maxSteps?: number;
  names?: [string, string];
  /** The machines' names in reports (default A, B, ...), used when a side has more than one. */
  machineNames?: string[];
  /** Serial output of side A's machine `machine` as it comes; side B's is only compared. */
  onSerial?: (byte: number, machine: number) => void;
  onScreen?: (lines: string[], machine: number) => void;
  /** As LockstepOptions.pauses, with both sides' machines. */
  pauses?: { at: number; action: (a: readonly Machine[], b: readonly Machine[]) => void }[];
}

export interface SystemLockstepResult<S extends LockstepSystem> {
  names: [string, string];
  /** The systems of the main run, stopped where the run ended or the difference was seen. */
  systems: [S, S];
  /** Steps done by side A. */
  steps: number;
  comparisons: number;
  ramComparisons: number;
  difference: LockstepDifference | null;
}

export interface LockstepOptions {
  /** Steps between comparisons (default 65536). 1 compares after every instruction. */
  every?: number;
  /** Steps between compares of guest RAM and the TLB maps (default the larger of `every` and 2^20). */
  ramEvery?: number;
  /** Stop after this many steps, like Machine.run's maxInstructions (default: no limit). */
  maxSteps?: number;
  /** Names of the two sides in reports (default their engines; "ts (A)", "ts (B)" when equal). */
  names?: [string, string];
  /** Machine A's serial output as it comes (the guest's output, shown once); B's is only compared. */
  onSerial?: (byte: number) => void;
  /** Machine A's text-screen lines (Machine.onScreen). */
  onScreen?: (lines: string[]) => void;
  /**
   * Actions taken when both machines have done exactly `at` steps, after the comparison
   * there (so their effect is seen after step at + 1). Replays repeat them. Tests use them
   * to perturb one side; a user can use them to look at both machines part way.
   */
  pauses?: { at: number; action: (a: Machine, b: Machine) => void }[];
}

/** One field that differs (or, in `LockstepDifference.table`, one row of the side-by-side table). */
export interface FieldValues {
  field: string;
  a: string;
  b: string;
  differs: boolean;
  /** The machine the field belongs to, when a side has several (its name, e.g. "B"). */
  machine?: string;
}

/** What machine A (or B, when A had stopped) did in the step that made the states differ. */
export interface StepInfo {
  /** "instruction": it retired one; "event": it delivered a fault, interrupt or NMI (no retirement); "stopped": it did not step. */
  kind: "instruction" | "event" | "stopped";
  /** The side described ("a" unless A did not step). */
  side: "a" | "b";
  csSelector: number;
  eip: number;
  /** CS base + EIP. */
  linear: number;
  code32: boolean;
  /** The bytes at CS:EIP before the step (fewer when they are not mapped), and their disassembly. */
  bytes: number[];
  text: string;
  /** The vector delivered, for an event. */
  vector?: number;
  /** The machine that took the step, when a side has several (its name, e.g. "A"). */
  machine?: string;
  /** Its own steps before this one, when a side has several. */
  machineStep?: number;
}

export interface LockstepDifference {
  /** Steps done when the states first differed: the difference arose in step number `step` (1-based). */
  step: number;
  /** Steps after which both were last known identical in everything compared. */
  identicalAt: number;
  /** True when the step was pinned down (identicalAt = step - 1); false when a replay did not reproduce it. */
  exact: boolean;
  /** Instructions retired and events delivered before that step (by the machine that took it). */
  retiredBefore: number;
  deliveredBefore: number;
  /** When a side has several machines: the names of those that differ (empty: only the schedule's state). */
  machines?: string[];
  what: StepInfo | null;
  /** Every field that differs after the step. */
  fields: FieldValues[];
  /** Both states after the step: the main registers and counters, then every other differing field. */
  table: FieldValues[];
  /** The formatted report (docs/lockstep.md shows one). */
  text: string;
}

export interface LockstepResult {
  names: [string, string];
  /** The machines of the main run (A's output went to onSerial); stopped where the run ended or the difference was seen. */
  machines: [Machine, Machine];
  /** Steps done by machine A, and instructions it retired. */
  steps: number;
  instructions: number;
  /** How machine A's run ended, as one Machine.run would report it (instructions: the whole run). */
  result: RunResult;
  /** Comparisons made in the main run, and how many of them included RAM. */
  comparisons: number;
  ramComparisons: number;
  difference: LockstepDifference | null;
}

const DEFAULT_EVERY = 1 << 16;
const DEFAULT_RAM_EVERY = 1 << 20;
/** Steps between RAM compares while stepping one at a time (bounds the last stage to this many full compares). */
const STEP_RAM_EVERY = 1024;

// ---- Names of the state words (state/layout.ts Reg) ----

const SEGMENTS = ["ES", "CS", "SS", "DS", "FS", "GS"];
const WORD_NAMES: string[] = (() => {
  const n: string[] = [];
  for (let i = 0; i < Reg.STATE_WORDS; i++) n.push(`state word ${i}`);
  ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"].forEach((r, i) => { n[Reg.EAX + i] = r; });
  n[Reg.EIP] = "EIP"; n[Reg.EFLAGS] = "EFLAGS";
  n[Reg.LAZY_OP] = "lazy op"; n[Reg.LAZY_RES] = "lazy result"; n[Reg.LAZY_DST] = "lazy dst"; n[Reg.LAZY_SRC] = "lazy src"; n[Reg.LAZY_SIZE] = "lazy size";
  SEGMENTS.forEach((s, i) => {
    n[Reg.SEG_SEL + i] = s; n[Reg.SEG_BASE + i] = `${s}.base`; n[Reg.SEG_LIMIT + i] = `${s}.limit`;
    n[Reg.SEG_ATTR + i] = `${s}.attr`; n[Reg.SEG_ACCESS + i] = `${s}.access`;
  });
  n[Reg.CR0] = "CR0"; n[Reg.CR2] = "CR2"; n[Reg.CR3] = "CR3"; n[Reg.CR4] = "CR4";
  for (let i = 0; i < 8; i++) n[Reg.DR0 + i] = `DR${i}`;
  n[Reg.GDTR_BASE] = "GDTR.base"; n[Reg.GDTR_LIMIT] = "GDTR.limit"; n[Reg.IDTR_BASE] = "IDTR.base"; n[Reg.IDTR_LIMIT] = "IDTR.limit";
  n[Reg.LDTR_SEL] = "LDTR"; n[Reg.LDTR_BASE] = "LDTR.base"; n[Reg.LDTR_LIMIT] = "LDTR.limit"; n[Reg.LDTR_ATTR] = "LDTR.attr";
  n[Reg.TR_SEL] = "TR"; n[Reg.TR_BASE] = "TR.base"; n[Reg.TR_LIMIT] = "TR.limit"; n[Reg.TR_ATTR] = "TR.attr";
  n[Reg.CPL] = "CPL"; n[Reg.CODE32] = "CODE32"; n[Reg.STACK32] = "STACK32"; n[Reg.INHIBIT_IRQ] = "INHIBIT_IRQ"; n[Reg.HALTED] = "HALTED";
  n[Reg.SYSENTER_CS] = "SYSENTER_CS"; n[Reg.SYSENTER_ESP] = "SYSENTER_ESP"; n[Reg.SYSENTER_EIP] = "SYSENTER_EIP";
  n[Reg.INSNS_LO] = "INSNS_LO"; n[Reg.INSNS_HI] = "INSNS_HI";
  n[Reg.EXIT_VECTOR] = "EXIT_VECTOR"; n[Reg.EXIT_ERROR] = "EXIT_ERROR"; n[Reg.EXIT_HAS_ERROR] = "EXIT_HAS_ERROR";
  n[Reg.INSN_EIP] = "INSN_EIP"; n[Reg.DEBUG_PENDING] = "DEBUG_PENDING"; n[Reg.MODE_DIRTY] = "MODE_DIRTY";
  n[Reg.A20_MASK] = "A20_MASK"; n[Reg.RAM_BYTES] = "RAM_BYTES"; n[Reg.FAULT_DEPTH] = "FAULT_DEPTH";
  n[Reg.NMI_PENDING] = "NMI_PENDING"; n[Reg.NMI_BLOCKED] = "NMI_BLOCKED";
  n[Reg.PAGING] = "PAGING"; n[Reg.WATCHING] = "WATCHING"; n[Reg.FLAT_SEGS] = "FLAT_SEGS"; n[Reg.DATA_HITS] = "DATA_HITS";
  n[Reg.READ_NEED] = "READ_NEED"; n[Reg.WRITE_NEED] = "WRITE_NEED"; n[Reg.MODE_TAG] = "MODE_TAG";
  n[Reg.ATTENTION] = "ATTENTION"; n[Reg.REPEATING] = "REPEATING"; n[Reg.UNCOUNTED] = "UNCOUNTED"; n[Reg.COMPLEX_AT] = "COMPLEX_AT";
  n[Reg.VPID] = "VPID"; n[Reg.DTLB_LAST_HIT] = "DTLB_LAST_HIT"; n[Reg.DTLB_NEW_HITS] = "DTLB_NEW_HITS";
  n[Reg.ITLB_LAST_HIT] = "ITLB_LAST_HIT"; n[Reg.ITLB_NEW_HITS] = "ITLB_NEW_HITS";
  return n;
})();

/**
 * State words not compared raw: the lazy-flag record (EFLAGS is compared as the guest
 * reads it) and the TLBs' hit counts not yet folded (compared inside each TLB's total).
 */
const ENCODING_WORDS = new Set<number>([Reg.LAZY_OP, Reg.LAZY_RES, Reg.LAZY_DST, Reg.LAZY_SRC, Reg.LAZY_SIZE, Reg.DTLB_NEW_HITS, Reg.ITLB_NEW_HITS]);

/** Rows the side-by-side table always shows, in this order (any other differing field follows). */
const TABLE_WORDS = [
  Reg.EAX, Reg.ECX, Reg.EDX, Reg.EBX, Reg.ESP, Reg.EBP, Reg.ESI, Reg.EDI, Reg.EIP, Reg.EFLAGS,
  Reg.SEG_SEL, Reg.SEG_SEL + 1, Reg.SEG_SEL + 2, Reg.SEG_SEL + 3, Reg.SEG_SEL + 4, Reg.SEG_SEL + 5,
  Reg.CR0, Reg.CR2, Reg.CR3, Reg.CR4, Reg.CPL, Reg.HALTED,
];

// ---- The compared values of one machine, as one Float64Array ----

const TLB_HEADER_VALUES = 12;
const TLB_NAMES = ["hits", "misses", "evictions", "clock", "flushes(CR3)", "flushes(INVLPG)", "flushes(mode)", "flushes(task switch)", "seed", "sets", "ways", "policy"];

/**
 * Where each group of values sits in a probe: state words, event counters, cycles, run
 * counters, events by vector, each TLB's header, serial bytes and disk counters, then each
 * TLB's entries (their number depends on the geometry).
 */
const P_WORDS = 0;
const P_COUNTERS = P_WORDS + Reg.STATE_WORDS;
const P_CYCLES = P_COUNTERS + COUNTER_SLOTS;
const P_WIDE = P_CYCLES + 1;
const P_VECTORS = P_WIDE + Wide.SLOTS;
const P_TLBS = P_VECTORS + 256;
const P_SERIAL = P_TLBS + 2 * TLB_HEADER_VALUES;
const P_DISKS = P_SERIAL + 1;

class Probe {
  readonly length: number;
  private readonly disks: number;
  /** Each TLB model's entry arrays (page + 1, VPID, global bit, LRU/FIFO stamp), over the flat state. */
  private readonly tlbEntries: { page: Int32Array; vpid: Int32Array; global: Uint8Array; stamp: Float64Array }[];
  private readonly entriesAt: number;

  constructor(private readonly m: Machine, private readonly serial: () => number) {
    const cpu = m.cpu;
    this.disks = m.blockPaths.length;
    this.tlbEntries = [[cpu.dtlb, DTLB_MODEL_OFFSET], [cpu.itlb, ITLB_MODEL_OFFSET]].map(([tlb, base]) => {
      const n = (tlb as typeof cpu.dtlb).entries, at = cpu.base + (base as number);
      return {
        page: new Int32Array(cpu.buffer, at + TlbModelLayout.PAGE, n), vpid: new Int32Array(cpu.buffer, at + TlbModelLayout.VPID, n),
        global: new Uint8Array(cpu.buffer, at + TlbModelLayout.GLOBAL, n), stamp: new Float64Array(cpu.buffer, at + TlbModelLayout.STAMP, n),
      };
    });
    this.entriesAt = P_DISKS + 2 * this.disks;
    this.length = this.entriesAt + 4 * (cpu.dtlb.entries + cpu.itlb.entries);
  }

  read(out: Float64Array): void {
    const cpu = this.m.cpu, s = cpu.s;
    for (let i = 0; i < Reg.STATE_WORDS; i++) out[P_WORDS + i] = s[i];
    out[P_WORDS + Reg.EFLAGS] = cpu.getEflags();
    for (const w of ENCODING_WORDS) out[P_WORDS + w] = 0;
    out.set(cpu.counts, P_COUNTERS);
    out[P_CYCLES] = cpu.accounting.cycles();
    out.set(cpu.wide, P_WIDE);
    out.set(cpu.eventsByVector, P_VECTORS);
    [cpu.dtlb, cpu.itlb].forEach((t, k) => {
      const at = P_TLBS + k * TLB_HEADER_VALUES;
      out[at] = t.hits; out[at + 1] = t.misses; out[at + 2] = t.evictions; out[at + 3] = t.f[TlbModelLayout.CLOCK];
      out.set(t.flushes, at + 4);
      out[at + 8] = t.w[TlbModelLayout.SEED]; out[at + 9] = t.w[TlbModelLayout.SETS]; out[at + 10] = t.w[TlbModelLayout.WAYS]; out[at + 11] = t.w[TlbModelLayout.POLICY];
    });
    out[P_SERIAL] = this.serial();
    this.m.blockPaths.forEach((p, i) => { out[P_DISKS + 2 * i] = p.store.sectorsRead; out[P_DISKS + 2 * i + 1] = p.store.sectorsWritten; });
    let at = this.entriesAt;
    for (const e of this.tlbEntries) {
      for (const arr of [e.page, e.vpid, e.global, e.stamp]) { out.set(arr, at); at += arr.length; }
    }
  }

  name(i: number): string {
    if (i < P_COUNTERS) return WORD_NAMES[i - P_WORDS];
    if (i < P_CYCLES) {
      const c = i - P_COUNTERS;
      return c < Event.COUNT ? `count ${counterName(c)}` : c === TSC_OFFSET_SLOT ? "TSC offset" : `counter slot ${c}`;
    }
    if (i === P_CYCLES) return "cycles";
    if (i < P_VECTORS) {
      const w = i - P_WIDE;
      return w === Wide.RETIRED ? "instructions retired" : w === Wide.EVENTS_DELIVERED ? "events delivered" : `run counter slot ${w}`;
    }
    if (i < P_TLBS) return `events of vector ${i - P_VECTORS}`;
    if (i < P_SERIAL) { const k = i - P_TLBS; return `${k < TLB_HEADER_VALUES ? "data" : "instruction"} TLB ${TLB_NAMES[k % TLB_HEADER_VALUES]}`; }
    if (i === P_SERIAL) return "serial bytes";
    if (i < this.entriesAt) { const k = i - P_DISKS; return `${this.m.blockPaths[k >> 1].deviceName} sectors ${(k & 1) === 0 ? "read" : "written"}`; }
    let k = i - this.entriesAt;
    for (const [t, e] of ["data", "instruction"].map((t, j) => [t, this.tlbEntries[j]] as const)) {
      const n = e.page.length;
      if (k < 4 * n) return `${t} TLB entry ${k % n} ${["page+1", "VPID", "global", "stamp"][Math.floor(k / n)]}`;
      k -= 4 * n;
    }
    return `value ${i}`;
  }

  /** A value formatted for the report: state words in hex, counters in decimal. */
  format(i: number, v: number): string {
    if (i < P_COUNTERS) return "0x" + (v >>> 0).toString(16).padStart(8, "0");
    return String(v);
  }
}
// ---- One side of a run ----

/** One machine of a side: its serial output and its compared values. */
class Unit {
  readonly serial: number[] = [];
  /** Serial bytes already found equal to the other side's (set on side A only). */
  serialChecked = 0;
  readonly probe: Probe;
  values: Float64Array;
  previous: Float64Array;

  constructor(readonly machine: Machine, forward: ((b: number) => void) | null, screen: ((lines: string[]) => void) | null) {
    machine.onSerial = forward === null ? (b) => { this.serial.push(b); } : (b) => { this.serial.push(b); forward(b); };
    machine.onScreen = screen;
    this.probe = new Probe(machine, () => this.serial.length);
    this.values = new Float64Array(this.probe.length);
    this.previous = new Float64Array(this.probe.length);
  }

  get steps(): number { return this.machine.cpu.retired + this.machine.cpu.eventsDelivered; }

  sample(): void {
    const t = this.previous; this.previous = this.values; this.values = t;
    this.probe.read(this.values);
  }
}

class Side {
  readonly units: Unit[];
  /** The schedule's compared state at the last sample. */
  extra: [string, number][] = [];
  /** Each machine's name in field names: "" when the side has one machine, else "B: ". */
  readonly prefixes: string[];

  constructor(readonly system: LockstepSystem, machineNames: string[], forward: ((b: number, machine: number) => void) | null,
    screen: ((lines: string[], machine: number) => void) | null) {
    this.units = system.machines.map((m, i) => new Unit(m, forward === null ? null : (b) => forward(b, i), screen === null ? null : (l) => screen(l, i)));
    this.prefixes = this.units.map((_, i) => (this.units.length > 1 ? `${machineNames[i]}: ` : ""));
  }

  get steps(): number { return this.system.steps; }
  get done(): boolean { return this.system.done; }

  /** Runs up to `target` steps unless the run has ended. */
  runTo(target: number): void {
    if (!this.system.done && this.system.steps < target) this.system.runTo(target);
  }

  sample(): void {
    for (const u of this.units) u.sample();
    this.extra = this.system.compared?.() ?? [];
  }
}

/** How a run ended, as compared: reason, exit code, message (null while running). */
function endText(r: RunResult | null): string {
  if (r === null) return "running";
  return [r.reason, r.exitCode ?? "", r.message ?? "", r.halted ? "halted" : "", r.waiting ? "waiting" : ""].filter((x) => x !== "").join(" ");
}

// ---- Comparisons ----

/** Everything but memory: the probes, how the runs ended, the serial bytes not compared yet, the schedule. */
function compareCheap(a: Side, b: Side): FieldValues[] {
  const out: FieldValues[] = [];
  if (a.units.length !== b.units.length) return [{ field: "machines", a: String(a.units.length), b: String(b.units.length), differs: true }];
  a.units.forEach((ua, k) => {
    const ub = b.units[k], prefix = a.prefixes[k], machine = prefix === "" ? {} : { machine: prefix.slice(0, -2) };
    const add = (field: string, x: string, y: string) => { out.push({ field: prefix + field, a: x, b: y, differs: true, ...machine }); };
    if (ua.values.length !== ub.values.length) { add("TLB geometry or disks", `${ua.values.length} values`, `${ub.values.length} values`); return; }
    const x = ua.values, y = ub.values;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) add(ua.probe.name(i), ua.probe.format(i, x[i]), ua.probe.format(i, y[i]));
    const ea = endText(a.system.results[k]), eb = endText(b.system.results[k]);
    if (ea !== eb) add("run", ea, eb);
    const n = Math.min(ua.serial.length, ub.serial.length);
    for (let i = ua.serialChecked; i < n; i++) {
      if (ua.serial[i] !== ub.serial[i]) { add(`serial byte ${i}`, byteText(ua.serial[i]), byteText(ub.serial[i])); return; }
    }
    ua.serialChecked = n;
  });
  if (a.extra.length !== b.extra.length) out.push({ field: "schedule values", a: String(a.extra.length), b: String(b.extra.length), differs: true });
  else a.extra.forEach(([name, v], i) => { if (b.extra[i][0] !== name || b.extra[i][1] !== v) out.push({ field: name, a: String(v), b: `${b.extra[i][1]}`, differs: true }); });
  return out;
}

const byteText = (v: number) => `0x${v.toString(16).padStart(2, "0")}${v >= 0x20 && v < 0x7f ? ` '${String.fromCharCode(v)}'` : ""}`;

/** Regions compared byte for byte: guest RAM and the TLB direct maps. */
function memoryRegions(m: Machine): { name: string; offset: number; bytes: number; unit: number }[] {
  return [
    { name: "RAM", offset: RAM_OFFSET, bytes: m.ramBytes, unit: 1 },
    { name: "data-TLB map, linear page", offset: DTLB_MAP_OFFSET, bytes: TLB_ENTRIES * 4, unit: 4 },
    { name: "instruction-TLB map, linear page", offset: ITLB_MAP_OFFSET, bytes: TLB_ENTRIES * 4, unit: 4 },
  ];
}

function compareMemory(a: Side, b: Side): FieldValues[] {
  const out: FieldValues[] = [];
  a.units.forEach((ua, k) => {
    const ma = ua.machine, mb = b.units[k].machine, prefix = a.prefixes[k], machine = prefix === "" ? {} : { machine: prefix.slice(0, -2) };
    const row = (field: string, x: string, y: string): FieldValues => ({ field: prefix + field, a: x, b: y, differs: true, ...machine });
    if (ma.ramBytes !== mb.ramBytes) { out.push(row("RAM size", String(ma.ramBytes), String(mb.ramBytes))); return; }
    for (const r of memoryRegions(ma)) {
      const x = Buffer.from(ma.cpu.buffer, ma.cpu.base + r.offset, r.bytes), y = Buffer.from(mb.cpu.buffer, mb.cpu.base + r.offset, r.bytes);
      if (x.equals(y)) continue;
      // Name the first few differing bytes (RAM) or map entries (TLB maps), and how many there are.
      let count = 0;
      const shown: FieldValues[] = [];
      if (r.unit === 1) {
        for (let i = 0; i < r.bytes; i++) {
          if (x[i] === y[i]) continue;
          count++;
          if (shown.length < 8) shown.push(row(`RAM[0x${i.toString(16).padStart(8, "0")}]`, byteText(x[i]), byteText(y[i])));
        }
        out.push(...shown, row("RAM bytes that differ", String(count), String(count)));
      } else {
        const xi = new Int32Array(ma.cpu.buffer, ma.cpu.base + r.offset, r.bytes >> 2), yi = new Int32Array(mb.cpu.buffer, mb.cpu.base + r.offset, r.bytes >> 2);
        for (let i = 0; i < xi.length; i++) {
          if (xi[i] === yi[i]) continue;
          count++;
          if (shown.length < 4) shown.push(row(`${r.name} 0x${i.toString(16)}`, "0x" + (xi[i] >>> 0).toString(16), "0x" + (yi[i] >>> 0).toString(16)));
        }
        out.push(...shown);
      }
    }
  });
  return out;
}

// ---- Reading the instruction a machine is at, without side effects ----

/** The physical address of linear `lin` by a read-only 2-level walk (SDM 3A 4.3), or -1. */
function physicalOf(m: Machine, lin: number): number {
  const s = m.cpu.s, v = m.cpu.view;
  if ((s[Reg.CR0] & Cr0.PG) === 0) return lin >>> 0;
  const pdeAt = ((s[Reg.CR3] & ~0xfff) >>> 0) + (lin >>> 22) * 4;
  if (pdeAt + 4 > m.ramBytes) return -1;
  const pde = v.getUint32(pdeAt, true);
  if ((pde & 1) === 0) return -1;
  if ((pde & 0x80) !== 0 && (s[Reg.CR4] & Cr4.PSE) !== 0) return ((pde & 0xffc00000) >>> 0) + (lin & 0x3fffff);
  const pteAt = ((pde & ~0xfff) >>> 0) + ((lin >>> 12) & 0x3ff) * 4;
  if (pteAt + 4 > m.ramBytes) return -1;
  const pte = v.getUint32(pteAt, true);
  if ((pte & 1) === 0) return -1;
  return ((pte & ~0xfff) >>> 0) + (lin & 0xfff);
}

interface PreStep { cs: number; eip: number; linear: number; code32: boolean; bytes: number[]; retired: number; delivered: number }

function preStep(m: Machine): PreStep {
  const s = m.cpu.s;
  const linear = (s[Reg.SEG_BASE + 1] + s[Reg.EIP]) >>> 0;
  // At most two walks: the instruction's bytes lie in one page or two.
  const inFirst = Math.min(15, 0x1000 - (linear & 0xfff));
  const bytes: number[] = [];
  for (const [lin, n] of [[linear, inFirst], [(linear + inFirst) >>> 0, 15 - inFirst]]) {
    if (n === 0) break;
    const p = physicalOf(m, lin);
    if (p < 0 || p + n > m.ramBytes) break;
    for (let i = 0; i < n; i++) bytes.push(m.cpu.ram[p + i]);
  }
  return { cs: s[Reg.SEG_SEL + 1] & 0xffff, eip: s[Reg.EIP] >>> 0, linear, code32: s[Reg.CODE32] !== 0, bytes, retired: m.cpu.retired, delivered: m.cpu.eventsDelivered };
}
/**
 * What the side's machine that took the step did in it: the one whose step count moved
 * since the previous sample (`pres`: each machine just before the step).
 */
function describeStep(pres: PreStep[], side: Side, which: "a" | "b", machineNames: string[]): { info: StepInfo; pre: PreStep } {
  let k = side.units.findIndex((u) => u.values[P_WIDE + Wide.RETIRED] + u.values[P_WIDE + Wide.EVENTS_DELIVERED] !==
    u.previous[P_WIDE + Wide.RETIRED] + u.previous[P_WIDE + Wide.EVENTS_DELIVERED]);
  if (k < 0) k = 0;
  const pre = pres[k], w = side.units[k].values, p = side.units[k].previous;
  const retired = w[P_WIDE + Wide.RETIRED] - p[P_WIDE + Wide.RETIRED];
  const delivered = w[P_WIDE + Wide.EVENTS_DELIVERED] - p[P_WIDE + Wide.EVENTS_DELIVERED];
  let text = "(no bytes mapped at CS:EIP)";
  const bytes = [...pre.bytes];
  if (bytes.length > 0) {
    const d = disassemble(Uint8Array.from(bytes), { address: pre.eip, code32: pre.code32, count: 1 })[0];
    text = d.text;
    bytes.length = Math.min(bytes.length, d.length);
  }
  const info: StepInfo = { kind: retired > 0 ? "instruction" : delivered > 0 ? "event" : "stopped", side: which, csSelector: pre.cs, eip: pre.eip, linear: pre.linear, code32: pre.code32, bytes, text };
  if (info.kind === "event") {
    for (let v = 0; v < 256; v++) if (w[P_VECTORS + v] !== p[P_VECTORS + v]) { info.vector = v; break; }
  }
  if (side.units.length > 1) { info.machine = machineNames[k]; info.machineStep = pre.retired + pre.delivered + 1; }
  return { info, pre };
}

// ---- The run ----

/**
 * Runs machines `makeA()` and `makeB()` side by side and compares them (see the header);
 * returns where the first difference is, or null in `difference` when there was none.
 */
export function runLockstep(makeA: MachineFactory, makeB: MachineFactory, options: LockstepOptions = {}): LockstepResult {
  const { pauses, onSerial, onScreen, ...rest } = options;
  const r = runLockstepSystems(() => new SingleMachine(makeA()), () => new SingleMachine(makeB()), {
    ...rest,
    onSerial: onSerial === undefined ? undefined : (b) => onSerial(b),
    onScreen: onScreen === undefined ? undefined : (lines) => onScreen(lines),
    pauses: pauses?.map((p) => ({ at: p.at, action: (a, b) => p.action(a[0], b[0]) })),
  });
  const [a, b] = r.systems;
  const instructions = a.machine.cpu.retired - a.startRetired;
  const end = a.results[0] ?? { reason: "limit" as const, instructions: 0 };
  return {
    names: r.names, machines: [a.machine, b.machine], steps: a.steps, instructions, result: { ...end, instructions },
    comparisons: r.comparisons, ramComparisons: r.ramComparisons, difference: r.difference,
  };
}

/**
 * runLockstep for sides of several machines each (LockstepSystem): both systems are run to
 * equal step counts, all their machines and their schedules compared; the search and the
 * report are runLockstep's, with the machine that took the step and those that differ named.
 */
export function runLockstepSystems<S extends LockstepSystem>(makeA: () => S, makeB: () => S, options: SystemLockstepOptions = {}): SystemLockstepResult<S> {
  const every = options.every ?? DEFAULT_EVERY;
  if (!Number.isSafeInteger(every) || every < 1) throw new RangeError(`lockstep: compare every N steps needs N >= 1, not ${every}`);
  const ramEvery = options.ramEvery ?? Math.max(every, DEFAULT_RAM_EVERY);
  if (!Number.isSafeInteger(ramEvery) || ramEvery < 1) throw new RangeError(`lockstep: RAM compare every N steps needs N >= 1, not ${ramEvery}`);
  const maxSteps = options.maxSteps ?? Number.MAX_SAFE_INTEGER;
  const pauses = [...(options.pauses ?? [])].sort((x, y) => x.at - y.at);

  const systems: S[] = [];
  let machineNames: string[] = [];
  const build = (live: boolean): [Side, Side] => {
    const sa = makeA(), sb = makeB();
    if (systems.length === 0) {
      systems.push(sa, sb);
      machineNames = options.machineNames ?? sa.machines.map((_, i) => String.fromCharCode(65 + i));
    }
    return [new Side(sa, machineNames, live ? options.onSerial ?? null : null, live ? options.onScreen ?? null : null), new Side(sb, machineNames, null, null)];
  };
  const [a, b] = build(true);
  const ea = a.system.machines[0].engine, eb = b.system.machines[0].engine;
  const several = a.units.length > 1;
  const names: [string, string] = options.names ?? (ea !== eb ? [ea, eb] : several ? [`${ea} (1)`, `${eb} (2)`] : [`${ea} (A)`, `${eb} (B)`]);

  /** The next step count at which the main run compares (or pauses). */
  const nextStop = (steps: number): number => {
    let t = (Math.floor(steps / every) + 1) * every;
    for (const p of pauses) if (p.at > steps && p.at < t) { t = p.at; break; }
    return Math.min(t, maxSteps);
  };
  const pauseAt = (steps: number, x: Side, y: Side) => { for (const p of pauses) if (p.at === steps) p.action(x.system.machines, y.system.machines); };
  const ended = (x: Side, y: Side, steps: number) => (x.done && y.done) || steps >= maxSteps;

  let comparisons = 0, ramComparisons = 0;
  let verified = 0; // steps at which everything, RAM included, last matched
  let lastCheap = 0; // steps at which everything but memory (not compared there) last matched
  let lastRam = 0;
  let steps = 0;
  let found: FieldValues[] = [];

  a.sample(); b.sample();
  found = [...compareCheap(a, b), ...compareMemory(a, b)];
  comparisons++; ramComparisons++;
  if (found.length === 0) pauseAt(0, a, b);
  while (found.length === 0 && !ended(a, b, steps)) {
    const target = nextStop(steps);
    a.runTo(target); b.runTo(target);
    steps = Math.max(a.steps, b.steps);
    a.sample(); b.sample();
    found = compareCheap(a, b);
    comparisons++;
    if (found.length === 0) lastCheap = steps;
    const last = ended(a, b, steps) || found.length > 0;
    if (found.length === 0 && (steps - lastRam >= ramEvery || last)) {
      found = compareMemory(a, b);
      ramComparisons++;
      lastRam = steps;
      if (found.length === 0) verified = steps;
    }
    if (found.length === 0) pauseAt(steps, a, b);
  }

  // Not reproduced one step at a time (the main run's calls of Machine.run were longer): the
  // fields seen after `steps`, between the main run's machines.
  const difference = found.length === 0 ? null : steps === 0
    ? report(names, a, b, 0, 0, true, null, found)
    : bisect(build, names, machineNames, nextStop, pauseAt, verified, lastCheap, steps) ?? report(names, a, b, steps, verified, false, null, found);
  return { names, systems: [systems[0], systems[1]], steps: a.steps, comparisons, ramComparisons, difference };
}

/**
 * Finds the first step after which the two differ. The main run found them identical in
 * everything after `verified` steps, identical but for memory (not compared there) after
 * `lastCheap`, and different after `seen`. The run is deterministic, so both sides are
 * built again and replayed with the main run's schedule (the same calls of runTo),
 * comparing memory too at its checkpoints after `verified`, to the last checkpoint where
 * everything matches; from there they go one step at a time, compared after each step
 * (memory every STEP_RAM_EVERY steps). When memory was not compared just before the first
 * difference, one more replay goes to the last step where it was and compares everything
 * after each step from there. Null when the replays do not reproduce the difference.
 */
function bisect(build: (live: boolean) => [Side, Side], names: [string, string], machineNames: string[], nextStop: (steps: number) => number,
  pauseAt: (steps: number, a: Side, b: Side) => void, verified: number, lastCheap: number, seen: number): LockstepDifference | null {
  /** Built again and run with the main schedule to `target`, comparing at each checkpoint after `checkAfter`. */
  const replay = (target: number, checkAfter: number): { a: Side; b: Side; good: number; bad: number | null } => {
    const [a, b] = build(false);
    let steps = 0, good = 0;
    pauseAt(0, a, b);
    while (steps < target && !(a.done && b.done)) {
      a.runTo(Math.min(nextStop(steps), target)); b.runTo(Math.min(nextStop(steps), target));
      steps = Math.max(a.steps, b.steps);
      // Memory at checkpoints at least STEP_RAM_EVERY steps apart: a byte compare costs ~1 ms.
      if (steps > checkAfter && (steps - good >= STEP_RAM_EVERY || steps >= target)) {
        a.sample(); b.sample();
        if (compareCheap(a, b).length > 0 || compareMemory(a, b).length > 0) return { a, b, good, bad: steps };
        good = steps;
      } else if (steps <= checkAfter) good = steps;
      if (steps < target) pauseAt(steps, a, b);
    }
    if (steps > 0) pauseAt(steps, a, b);
    return { a, b, good: steps, bad: null };
  };
  /** Steps both sides (that still run) one at a time from their common count to `to`, then samples them. */
  const stepTo = (a: Side, b: Side, from: number, to: number) => {
    for (let s = from + 1; s <= to; s++) { a.runTo(s); b.runTo(s); pauseAt(s, a, b); }
    a.sample(); b.sample();
  };
  /**
   * One step at a time from `from` to `to`, compared after each (memory every `ramEvery`
   * steps and at `to`); returns the first step that differs, each machine of the side that
   * steps just before it, the fields and the last step at which memory matched.
   */
  const scan = (a: Side, b: Side, from: number, to: number, ramEvery: number) => {
    let ramOk = from;
    for (let s = from + 1; s <= to; s++) {
      const pres = (!a.done ? a : b).units.map((u) => preStep(u.machine));
      a.runTo(s); b.runTo(s);
      if (a.steps < s && b.steps < s) break; // both stopped
      a.sample(); b.sample();
      let fields = compareCheap(a, b);
      if (fields.length === 0 && (s - ramOk >= ramEvery || s === to)) {
        fields = compareMemory(a, b);
        if (fields.length === 0) ramOk = s;
      }
      if (fields.length > 0) return { at: s, pres, fields, ramOk };
      pauseAt(s, a, b);
    }
    return null;
  };

  // The last checkpoint of the main schedule where everything matches, and the window after it.
  let r = replay(lastCheap, verified);
  let end = seen;
  if (r.bad !== null) { end = r.bad; r = replay(r.good, r.good); }
  const start = r.good;
  const found = scan(r.a, r.b, start, end, STEP_RAM_EVERY);
  if (found === null) return null;
  let { at, pres, fields } = found;
  let a = r.a, b = r.b;
  if (found.ramOk < at - 1) {
    // Memory was last compared after found.ramOk steps: everything after each step from there.
    const again = replay(start, start);
    a = again.a; b = again.b;
    stepTo(a, b, start, found.ramOk);
    const exact = scan(a, b, found.ramOk, at, 1);
    if (exact === null) return null;
    ({ at, pres, fields } = exact);
  }
  const side = a.steps >= at ? a : b;
  const { info, pre } = describeStep(pres, side, side === a ? "a" : "b", machineNames);
  return report(names, a, b, at, at - 1, true, info, fields, pre);
}

function report(names: [string, string], a: Side, b: Side, step: number, identicalAt: number, exact: boolean, what: StepInfo | null,
  fields: FieldValues[], pre: PreStep | null = null): LockstepDifference {
  const several = a.units.length > 1 && a.units.length === b.units.length;
  const differing = new Set(fields.map((f) => f.field));
  // The machines that differ, in order; with none (only the schedule's state), the one that stepped.
  const machines = several ? a.prefixes.map((x) => x.slice(0, -2)).filter((m) => fields.some((f) => f.machine === m)) : [];
  const shownUnits = !several ? [0] : machines.length > 0 ? machines.map((m) => a.prefixes.indexOf(`${m}: `))
    : [Math.max(0, a.prefixes.indexOf(`${what?.machine ?? ""}: `))];
  const table: FieldValues[] = [];
  for (const k of shownUnits) {
    const ua = a.units[k], ub = b.units[k], prefix = a.prefixes[k];
    const row = (i: number) => {
      const field = prefix + ua.probe.name(i);
      table.push({ field, a: ua.probe.format(i, ua.values[i]), b: ub.probe.format(i, ub.values[i]), differs: differing.has(field), ...(several ? { machine: prefix.slice(0, -2) } : {}) });
    };
    for (const w of TABLE_WORDS) row(P_WORDS + w);
    row(P_WIDE + Wide.RETIRED); row(P_WIDE + Wide.EVENTS_DELIVERED); row(P_CYCLES);
  }
  const shown = new Set(table.map((t) => t.field));
  for (const f of fields) if (!shown.has(f.field)) table.push(f);

  const hex = (v: number) => "0x" + (v >>> 0).toString(16).padStart(8, "0");
  const lines: string[] = [];
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
  const inWhich = !several ? "" : machines.length === 0 ? "; the machines agree, the schedules differ"
    : `; machine${machines.length > 1 ? "s" : ""} ${machines.join(" and ")} differ${machines.length > 1 ? "" : "s"}`;
  if (step === 0) lines.push(`lockstep: ${names[0]} and ${names[1]} differ before the first instruction (the machines were not built alike)${inWhich}`);
  else if (!exact) lines.push(`lockstep: ${names[0]} and ${names[1]} differ after step ${step} (identical after step ${identicalAt}); stepping one instruction at a time from there did not reproduce it${inWhich}`);
  else if (!several) {
    const before = pre !== null ? ` (${pre.retired} instructions retired and ${pre.delivered} events delivered before it)` : "";
    lines.push(`lockstep: first difference in step ${step}${before}`);
  } else lines.push(`lockstep: first difference in step ${step} (the steps of all machines, counted in the order the schedule runs them)${inWhich}`);
  if (what !== null) {
    const bytes = what.bytes.map((x) => x.toString(16).padStart(2, "0")).join(" ");
    const where = `${what.csSelector.toString(16).padStart(4, "0")}:${hex(what.eip)}`;
    const who = what.side === "b" ? ` (${names[1]}; ${names[0]} had stopped)` : "";
    const actor = names[what.side === "a" ? 0 : 1] + (what.machine !== undefined ? ` machine ${what.machine}` : "");
    const own = what.machine !== undefined && pre !== null
      ? ` (its step ${what.machineStep}: ${plural(pre.retired, "instruction")} retired and ${plural(pre.delivered, "event")} delivered before it)` : "";
    if (what.kind === "instruction") lines.push(`  ${actor} executed ${where}  ${bytes}  ${what.text}${who}${own}`);
    else if (what.kind === "event") lines.push(`  ${actor} delivered vector ${what.vector} at ${where} (instruction there: ${bytes}  ${what.text})${who}${own}`);
    else lines.push(`  neither machine stepped at ${where}  ${bytes}  ${what.text}`);
  }
  const w0 = Math.max(5, ...table.map((t) => t.field.length)), w1 = Math.max(names[0].length, ...table.map((t) => t.a.length));
  lines.push(`    ${"field".padEnd(w0)}  ${names[0].padEnd(w1)}  ${names[1]}`);
  for (const t of table) lines.push(`  ${t.differs ? "*" : " "} ${t.field.padEnd(w0)}  ${t.a.padEnd(w1)}  ${t.b}${t.differs ? "   <- differs" : ""}`);
  return {
    step, identicalAt, exact, retiredBefore: pre?.retired ?? 0, deliveredBefore: pre?.delivered ?? 0, what, fields, table, text: lines.join("\n"),
    ...(several ? { machines } : {}),
  };
}

/** The state word named `name` in reports ("EAX", "DR3", "CS.base", ...), or -1. */
export function stateWordIndex(name: string): number {
  return WORD_NAMES.indexOf(name);
}

// The run report: the machine's counters gathered into one versioned structure
// (docs/report-schema.md), printed as text by `vmxlab run --report` and included in
// `--json`. Cycles come from cost/accounting.ts: event counts times the profile's prices.

import { Machine } from "./machine.js";
import { FlushCause } from "../core/tlbModel.js";
import type { TlbModel } from "../core/tlbModel.js";
import type { PricedCount } from "../cost/accounting.js";
import { unsourcedEvents } from "../cost/profile.js";
import type { CostClass } from "../cost/event.js";
import { SECTOR_BYTES } from "../dev/countingStore.js";

export const REPORT_SCHEMA = "vmxlab.report/3";

export interface TlbReport {
  entries: number; ways: number; hits: number; misses: number; evictions: number;
  flushes: { cr3: number; invlpg: number; mode: number };
}

export interface RunReport {
  schema: typeof REPORT_SCHEMA;
  instructions: number;
  tlb: { instruction: TlbReport; data: TlbReport };
  pageWalks: { walks: number; references: number };
  /** Exceptions and interrupts delivered, keyed by vector number. */
  eventsByVector: Record<string, number>;
  ports: { accesses: number; unclaimed: number; byDevice: Record<string, number> };
  mmio: { accesses: number; unclaimed: number; byDevice: Record<string, number> };
  /** Each disk path the guest used: register accesses, data moved, and its cost per KiB. */
  blockPaths: BlockPathReport[];
  /** Instructions retired by class of the opcode table (src/isa/opcodes.ts). */
  instructionsByClass: Record<CostClass, number>;
  cycles: CycleReport;
}

export interface BlockPathReport {
  path: "ata" | "virtio-blk" | "pv-blk";
  device: string;
  registerAccesses: number;
  kibRead: number;
  kibWritten: number;
  /** Cycles from the guest's first access to the device's registers to its last. */
  activeCycles: number;
  /** activeCycles per KiB moved (read + written), or null when nothing moved. */
  cyclesPerKiB: number | null;
}

export interface CycleReport {
  /** Name and processor of the cost profile that priced the events. */
  profile: string;
  cpu: string;
  /** All cycles: the TSC the guest reads, less any WRMSR offset. */
  total: number;
  /** Every priced event: its count and cycles; the cycles sum to `total`. */
  byEvent: PricedCount[];
  /** Events the profile prices at a placeholder because it has no source for them. */
  unsourced: string[];
}

function tlbReport(t: TlbModel): TlbReport {
  return {
    entries: t.sets * t.ways, ways: t.ways, hits: t.hits, misses: t.misses, evictions: t.evictions,
    flushes: { cr3: t.flushes[FlushCause.CR3], invlpg: t.flushes[FlushCause.INVLPG], mode: t.flushes[FlushCause.MODE] },
  };
}

export function collectReport(m: Machine): RunReport {
  const cpu = m.cpu;
  const events: Record<string, number> = {};
  cpu.eventsByVector.forEach((n, v) => { if (n > 0) events[String(v)] = n; });
  return {
    schema: REPORT_SCHEMA,
    instructions: cpu.retired,
    tlb: { instruction: tlbReport(cpu.itlb), data: tlbReport(cpu.dtlb) },
    pageWalks: { walks: cpu.pageWalks, references: cpu.walkReferences },
    eventsByVector: events,
    ports: {
      accesses: m.ports.accesses, unclaimed: m.ports.unclaimedAccesses,
      byDevice: Object.fromEntries([...m.ports.log.byDevice].map(([d, a]) => [d.name, a.accesses])),
    },
    mmio: {
      accesses: m.mmio.accesses, unclaimed: m.mmio.unclaimedAccesses,
      byDevice: Object.fromEntries([...m.mmio.log.byDevice].map(([d, a]) => [d.name, a.accesses])),
    },
    blockPaths: m.blockPaths.map((b): BlockPathReport => {
      const a = b.activity();
      const kibRead = (b.store.sectorsRead * SECTOR_BYTES) / 1024, kibWritten = (b.store.sectorsWritten * SECTOR_BYTES) / 1024;
      const activeCycles = a === undefined ? 0 : a.lastCycle - a.firstCycle;
      const kib = kibRead + kibWritten;
      return {
        path: b.path, device: b.deviceName, registerAccesses: a?.accesses ?? 0, kibRead, kibWritten, activeCycles,
        cyclesPerKiB: kib > 0 ? Math.round(activeCycles / kib) : null,
      };
    }),
    instructionsByClass: cpu.accounting.instructionsByClass(),
    cycles: {
      profile: cpu.accounting.profile.name, cpu: cpu.accounting.profile.cpu,
      total: cpu.accounting.cycles(), byEvent: cpu.accounting.breakdown(),
      unsourced: unsourcedEvents(cpu.accounting.profile),
    },
  };
}

const VECTOR_NAMES: Record<number, string> = {
  0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF",
  10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF", 17: "#AC", 18: "#MC",
};

/** The report as text a person can read. */
export function formatReport(r: RunReport): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const lines: string[] = [];
  lines.push(`instructions retired   ${n(r.instructions)}`);
  for (const [name, t] of [["instruction TLB", r.tlb.instruction], ["data TLB", r.tlb.data]] as const) {
    const total = t.hits + t.misses;
    const rate = total > 0 ? ` (${((t.hits / total) * 100).toFixed(2)}% hits)` : "";
    lines.push(`${name.padEnd(22)} ${t.entries} entries, ${t.ways}-way: ${n(t.hits)} hits, ${n(t.misses)} misses${rate}, ` +
      `${n(t.evictions)} evictions; flushes: ${n(t.flushes.cr3)} CR3, ${n(t.flushes.invlpg)} INVLPG, ${n(t.flushes.mode)} mode`);
  }
  lines.push(`page walks             ${n(r.pageWalks.walks)} walks, ${n(r.pageWalks.references)} paging-structure references`);
  const ev = Object.entries(r.eventsByVector).map(([v, c]) => `${VECTOR_NAMES[Number(v)] ?? `INT ${v}`}: ${n(c)}`);
  lines.push(`exceptions/interrupts  ${ev.length > 0 ? ev.join(", ") : "none"}`);
  const devices = Object.entries(r.ports.byDevice).map(([d, c]) => `${d} ${n(c)}`).join(", ");
  lines.push(`port I/O               ${n(r.ports.accesses)} accesses (${n(r.ports.unclaimed)} to no device)${devices ? `: ${devices}` : ""}`);
  const mmioDevices = Object.entries(r.mmio.byDevice).map(([d, c]) => `${d} ${n(c)}`).join(", ");
  lines.push(`MMIO                   ${n(r.mmio.accesses)} accesses (${n(r.mmio.unclaimed)} to no device)${mmioDevices ? `: ${mmioDevices}` : ""}`);
  for (const b of r.blockPaths) {
    lines.push(`disk ${b.path.padEnd(17)} ${b.device}: ${n(b.registerAccesses)} register accesses, ${n(b.kibWritten)} KiB written, ` +
      `${n(b.kibRead)} KiB read, ${n(b.activeCycles)} cycles active` + (b.cyclesPerKiB !== null ? ` (${n(b.cyclesPerKiB)} per KiB)` : ""));
  }
  const classes = Object.entries(r.instructionsByClass).filter(([, c]) => c > 0).sort((a, b) => b[1] - a[1]);
  lines.push(`instructions by class  ${classes.map(([k, c]) => `${k} ${n(c)}`).join(", ")}`);
  const c = r.cycles;
  lines.push(`cycles                 ${n(c.total)} (profile ${c.profile}: ${c.cpu})`);
  if (c.unsourced.length > 0) {
    lines.push(`  note: this profile has no source for ${c.unsourced.join(", ")}; it prices them at 0 cycles`);
  }
  const width = Math.max(...c.byEvent.map((e) => n(e.cycles).length));
  for (const e of c.byEvent) {
    if (e.count === 0) continue;
    const share = c.total > 0 ? ((e.cycles / c.total) * 100).toFixed(1).padStart(5) : "  0.0";
    lines.push(`  ${e.event.padEnd(20)} ${n(e.cycles).padStart(width)} cycles ${share}%  (${n(e.count)} x ${e.count > 0 ? n(e.cycles / e.count) : 0})`);
  }
  return lines.join("\n");
}

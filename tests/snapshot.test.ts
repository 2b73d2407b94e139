// A snapshot is a copy (DESIGN.md invariant 4, docs/engine-decision.md step 1): a machine
// run part way through a real guest, its whole flat state copied into a second machine
// created over the copy, and both continued for the same budget must end byte-identical,
// with the same serial output, cycle count and counters. The oracle is the first machine:
// the second may differ from it only through state that lives outside the buffer. Each
// case runs with the second machine on each engine, so a run also changes engines
// between two instructions (TS to wasm and back).
//
// Device state (8259, 8254, UART, local and I/O APIC, 8042, CGA, debug exit) is host-side
// by design, so the test copies it explicitly: copyDeviceState() below copies every data
// field of those objects (numbers, booleans, strings, arrays, typed arrays, nested plain
// objects such as the 8254's channels), never functions (the wiring) or references to
// other devices, the CPU or the machine. Nothing of the CPU object is copied.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Machine } from "../dist/vmm/machine.js";
import * as layout from "../dist/state/layout.js";

const GUESTS = path.join(__dirname, "..", "guests");

/** The devices whose state the test carries over by hand (see the header). */
function devices(m: Machine): Record<string, object> {
  return { uart: m.uart, pic: m.pic, pit: m.pit, keyboard: m.keyboard, lapic: m.lapic, ioapic: m.ioapic, screen: m.screen, debugExit: m.debugExit };
}

function copyData(from: any, to: any, stop: Set<object>, seen: Set<object>): void {
  if (seen.has(from)) return;
  seen.add(from);
  for (const key of Object.keys(from)) {
    const v = from[key];
    if (typeof v === "function") continue;
    if (v === null || typeof v !== "object") { to[key] = v; continue; }
    if (stop.has(v)) continue; // wiring: the copy keeps its own
    if (ArrayBuffer.isView(v)) { (to[key] as Uint8Array).set(v as Uint8Array); continue; }
    if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) { to[key] = v.slice(); continue; }
    if (to[key] === null || typeof to[key] !== "object") throw new Error(`device field ${key} has no counterpart`);
    copyData(v, to[key], stop, seen);
  }
}

function copyDeviceState(a: Machine, b: Machine): void {
  const stop = new Set<object>([a, b, a.cpu, b.cpu, a.guestRam, b.guestRam, a.ports, b.ports, a.mmio, b.mmio]);
  const da = devices(a), db = devices(b);
  for (const d of [...Object.values(da), ...Object.values(db)]) stop.add(d);
  for (const name of Object.keys(da)) copyData(da[name], db[name], stop, new Set());
}

/** Names the region of the flat state (state/layout.ts) that a byte offset falls in. */
function region(off: number): string {
  const L = layout as unknown as Record<string, number>;
  if (off < L.COUNTER_OFFSET) return `state word ${off >> 2}`;
  if (off < L.WIDE_OFFSET) return `event counter ${(off - L.COUNTER_OFFSET) >> 3}`;
  if (off < L.DECODE_OFFSET) return `run counter ${(off - L.WIDE_OFFSET) >> 3}`;
  if (off < L.CODE_PAGE_OFFSET) return `decode cache word ${(off - L.DECODE_OFFSET) >> 2}`;
  if (off < L.DTLB_MAP_OFFSET) return `code-page map, page ${off - L.CODE_PAGE_OFFSET}`;
  if (off < L.ITLB_MAP_OFFSET) return `data-TLB map, page ${(off - L.DTLB_MAP_OFFSET) >> 2}`;
  if (off < L.VECTOR_EVENTS_OFFSET) return `instruction-TLB map, page ${(off - L.ITLB_MAP_OFFSET) >> 2}`;
  if (off < L.DTLB_MODEL_OFFSET) return `events of vector ${(off - L.VECTOR_EVENTS_OFFSET) >> 3}`;
  if (off < L.ITLB_MODEL_OFFSET) return `data-TLB model byte ${off - L.DTLB_MODEL_OFFSET}`;
  if (off < L.RAM_OFFSET) return `instruction-TLB model byte ${off - L.ITLB_MODEL_OFFSET}`;
  return `RAM ${(off - L.RAM_OFFSET).toString(16)}`;
}

/** The first differing byte of two flat states (Cpu.flat), named, or null. */
function firstDifference(a: Uint8Array, b: Uint8Array): string | null {
  if (a.byteLength !== b.byteLength) return `sizes ${a.byteLength} and ${b.byteLength}`;
  const x = new BigUint64Array(a.buffer, a.byteOffset, a.byteLength >> 3), y = new BigUint64Array(b.buffer, b.byteOffset, b.byteLength >> 3);
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    const xb = a.subarray(i * 8, i * 8 + 8), yb = b.subarray(i * 8, i * 8 + 8);
    let k = 0;
    while (xb[k] === yb[k]) k++;
    return `${region(i * 8 + k)} (byte ${i * 8 + k})`;
  }
  return null;
}

/** What the host sees of a CPU besides the buffer: the public counters. */
function counters(m: Machine) {
  const c = m.cpu;
  return {
    retired: c.retired, eventsDelivered: c.eventsDelivered, cycles: c.accounting.cycles(),
    dtlb: [c.dtlb.hits, c.dtlb.misses, c.dtlb.evictions, c.dtlb.lastHit, ...c.dtlb.flushes, ...c.dtlb.contents()],
    itlb: [c.itlb.hits, c.itlb.misses, c.itlb.evictions, c.itlb.lastHit, ...c.itlb.flushes, ...c.itlb.contents()],
    vectors: Array.from(c.eventsByVector),
  };
}

interface Case { guest: string; input?: string; at: number; then: number }
type Engine = "ts" | "wasm";

function boot(options: { state?: ArrayBuffer; engine?: Engine } = {}): { m: Machine; out: () => string } {
  const m = new Machine(options);
  let out = "";
  m.onSerial = (b) => { out += String.fromCharCode(b); };
  return { m, out: () => out };
}

function runCaseOn(c: Case, engines: [Engine, Engine]): void {
  const a = boot({ engine: engines[0] });
  a.m.loadImage(new Uint8Array(fs.readFileSync(path.join(GUESTS, c.guest))), { name: c.guest });
  if (c.input !== undefined) a.m.uart.receive(Buffer.from(c.input, "latin1"));
  const first = a.m.run({ maxInstructions: c.at });
  expect(first.reason).toBe("limit"); // still running at the snapshot
  const before = a.out().length;

  const b = boot({ state: a.m.cpu.flat.slice().buffer, engine: engines[1] });
  copyDeviceState(a.m, b.m);
  expect(firstDifference(a.m.cpu.flat, b.m.cpu.flat)).toBeNull();

  const ra = a.m.run({ maxInstructions: c.then });
  const rb = b.m.run({ maxInstructions: c.then });
  expect(rb).toEqual(ra);
  expect(b.out()).toBe(a.out().slice(before));
  expect(counters(b.m)).toEqual(counters(a.m));
  expect(firstDifference(a.m.cpu.flat, b.m.cpu.flat)).toBeNull();
}

const ENGINE_PAIRS: [Engine, Engine][] = [["ts", "ts"], ["ts", "wasm"], ["wasm", "ts"]];

describe.each(ENGINE_PAIRS)("a snapshot is a copy of the flat state (%s, continued on %s)", (first, second) => {
  const runCase = (c: Case) => runCaseOn(c, [first, second]);
  // demand.elf: paging on, demand-zero pages through #PF, TLB misses (30 005 steps in all).
  for (const at of [4000, 12000, 21000]) {
    it(`demand.elf from step ${at}`, () => runCase({ guest: "demand.elf", at, then: 1e7 }));
  }
  // bench-mem-paged: a paged working set larger than the data TLB, so hits, misses and LRU evictions.
  it("bench-mem-paged.img from step 2 000 000 for 3 000 000 more", () => runCase({ guest: "bench-mem-paged.img", at: 2_000_000, then: 3_000_000 }));
  // multitask.elf: serial input by interrupt, timer-driven task switching (4.75 M steps).
  for (const at of [700_000, 2_500_000]) {
    it(`multitask.elf from step ${at}`, () => runCase({ guest: "multitask.elf", input: "hello\nvmxlab\nquit\n", at, then: 1e8 }));
  }
  // timer.elf: PIT ticks and HLT waiting for them.
  it("timer.elf from step 15 000", () => runCase({ guest: "timer.elf", at: 15000, then: 1e7 }));
  // tasks.elf, tasks16.elf: hardware task switches through TSSs and task gates.
  for (const at of [5000, 15000]) {
    it(`tasks.elf from step ${at}`, () => runCase({ guest: "tasks.elf", at, then: 1e7 }));
    it(`tasks16.elf from step ${at * 2}`, () => runCase({ guest: "tasks16.elf", at: at * 2, then: 1e7 }));
  }
});

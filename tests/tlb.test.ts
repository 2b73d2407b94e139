// The TLB model (SDM 3A 4.10): finite, set-associative, filled by walks, emptied only by
// eviction, INVLPG, CR3 writes (global entries survive) and paging-mode changes. The page
// tables are written straight into guest RAM and the core's accessors read through them;
// every expected value is a hand calculation from the mapping set up beside it.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { Machine, type MachineOptions } from "../src/vmm/machine.js";
import { Machine as BuiltMachine } from "../dist/index.js";
import { Reg, Cr0, Cr4, Seg } from "../src/state/layout.js";
import { TlbModel } from "../src/core/tlbModel.js";
import { expectTwinRuns } from "./fixtures/twin-runs.js";

const PD = 0x10000, PT = 0x11000;

/** Ring 0, paging on, PD[0] -> PT; `map(page, frame)` writes PTE = frame | P | RW | flags. */
function pagedMachine(flags = 0, tlb?: MachineOptions["tlb"]) {
  const m = new Machine({ ramBytes: 4 << 20, tlb });
  const cpu = m.cpu, v = cpu.view;
  v.setUint32(PD, PT | 0x3, true);
  const map = (page: number, frame: number, extra = flags) => v.setUint32(PT + page * 4, frame | 0x3 | extra, true);
  for (let p = 0; p < 1024; p++) map(p, p << 12); // identity to start with
  cpu.s[Reg.CR3] = PD;
  cpu.s[Reg.CR0] |= Cr0.PG | Cr0.PE;
  cpu.syncMode();
  cpu.flushTlb(true);
  return { m, cpu, map };
}

describe("TLB model", () => {
  it("keeps a stale translation until INVLPG (a guest that forgets INVLPG sees the old page)", () => {
    const { cpu, map } = pagedMachine();
    cpu.view.setUint32(0x200000, 0xaaaa, true);
    cpu.view.setUint32(0x201000, 0xbbbb, true);
    map(0x300, 0x200000);
    expect(cpu.rd32(0x300000)).toBe(0xaaaa);
    map(0x300, 0x201000); // the PTE changes, nobody flushes
    expect(cpu.rd32(0x300000)).toBe(0xaaaa);
    cpu.invalidatePage(0x300000);
    expect(cpu.rd32(0x300000)).toBe(0xbbbb);
  });

  it("evicts the least recently used way of a full set, after which the new PTE is seen", () => {
    const { cpu, map } = pagedMachine();
    // Default DTLB: 64 entries, 4 ways -> 16 sets; pages 0x300 + 16k share set 0.
    for (let i = 0; i < 5; i++) cpu.view.setUint32((0x300 + 16 * i) << 12, i, true);
    cpu.view.setUint32(0x3ff000, 0x77, true);
    for (let i = 0; i < 4; i++) expect(cpu.rd32((0x300 + 16 * i) << 12)).toBe(i);
    map(0x300, 0x3ff000); // change the oldest page's mapping without INVLPG
    expect(cpu.rd32(0x300 << 12)).toBe(0); // still cached: stale
    for (let i = 1; i < 4; i++) cpu.rd32((0x300 + 16 * i) << 12); // make page 0x300 least recent
    cpu.rd32((0x300 + 64) << 12); // fifth page in the set evicts 0x300
    expect(cpu.dtlb.contents()).not.toContain(0x300);
    expect(cpu.rd32(0x300 << 12)).toBe(0x77); // walked again: the new mapping
  });

  it("keeps global pages across a CR3 write when CR4.PGE is set, not across a PGE change", () => {
    const { cpu, map } = pagedMachine();
    cpu.s[Reg.CR4] |= Cr4.PGE;
    cpu.view.setUint32(0x200000, 1, true);
    cpu.view.setUint32(0x201000, 2, true);
    map(0x300, 0x200000, 0x100); // G
    map(0x301, 0x200000);        // not global
    cpu.rd32(0x300000); cpu.rd32(0x301000);
    map(0x300, 0x201000, 0x100); map(0x301, 0x201000);
    cpu.flushTlb(false); // what MOV CR3 does
    expect(cpu.rd32(0x300000)).toBe(1); // global: still the old frame
    expect(cpu.rd32(0x301000)).toBe(2); // non-global: re-walked
    cpu.flushTlb(true); // what a CR4.PGE or CR0.PG change does
    expect(cpu.rd32(0x300000)).toBe(2);
  });

  it("counts hits and misses per TLB", () => {
    const { cpu } = pagedMachine();
    const h0 = cpu.dtlb.hits, m0 = cpu.dtlb.misses;
    cpu.rd32(0x300000); cpu.rd32(0x300004); cpu.rd32(0x301000); cpu.wr32(0x300008, 5);
    // miss (walk), hit, miss, then a write to a page whose entry lacks D: a walk sets D.
    expect(cpu.dtlb.misses - m0).toBe(3);
    expect(cpu.dtlb.hits - h0).toBe(1);
    cpu.wr32(0x30000c, 6); // D now cached: a hit
    expect(cpu.dtlb.hits - h0).toBe(2);
    expect(cpu.itlb.misses).toBe(0);
  });

  it("counts one instruction-TLB lookup per page entered, whether or not the code had to be decoded again", () => {
    // B8 01 00 00 00 mov eax,1; 83 C0 02 add eax,2; 89 C3 mov ebx,eax; 41 inc ecx; F4 hlt,
    // at 0x200000, one page: a run enters the page once, so one lookup (a hit once the
    // entry is there). Decoding reads the bytes again, but that is the emulator filling its
    // own cache, not the CPU fetching (docs/architecture.md: the instruction TLB is
    // consulted when execution enters a page).
    const { m, cpu } = pagedMachine();
    cpu.setSegment(Seg.CS, 0x08, 0, -1, 0xc09b); // flat 32-bit ring-0 code
    cpu.syncMode();
    cpu.ram.set([0xb8, 1, 0, 0, 0, 0x83, 0xc0, 0x02, 0x89, 0xc3, 0x41, 0xf4], 0x200000);
    const runOnce = () => {
      cpu.s[Reg.EIP] = 0x200000; cpu.s[Reg.HALTED] = 0;
      const h0 = cpu.itlb.hits, m0 = cpu.itlb.misses;
      m.run({ maxInstructions: 100 });
      expect(cpu.s[Reg.EBX]).toBe(3);
      return [cpu.itlb.hits - h0, cpu.itlb.misses - m0];
    };
    expect(runOnce()).toEqual([0, 1]); // cold TLB: the walk fills it
    expect(runOnce()).toEqual([1, 0]); // warm TLB, decodes cached
    cpu.flushDecoded();
    expect(runOnce()).toEqual([1, 0]); // warm TLB, every instruction decoded again
  });

  it("puts a page in set page % sets when the set count is not a power of two (48 entries, 4 ways: 12 sets)", () => {
    const { cpu } = pagedMachine(0, { dtlb: { entries: 48, ways: 4, replacement: "lru" } });
    // 0x300 = 768 = 64 * 12, so pages 0x300, 0x30c, 0x318, 0x324 and 0x330 all fall in set
    // 0; page 0x310 = 784 falls in set 4 (a mask of 15 would put it in set 0 too).
    for (const page of [0x300, 0x30c, 0x318, 0x324]) cpu.rd32(page << 12);
    cpu.rd32(0x310 << 12);
    expect(cpu.dtlb.contents()).toEqual(expect.arrayContaining([0x300, 0x30c, 0x318, 0x324, 0x310]));
    cpu.rd32(0x330 << 12); // a fifth page in set 0 evicts its least recently used, 0x300
    expect(cpu.dtlb.contents()).not.toContain(0x300);
    expect(cpu.dtlb.contents()).toEqual(expect.arrayContaining([0x30c, 0x318, 0x324, 0x330, 0x310]));
    cpu.invalidatePage(0x318 << 12); // INVLPG finds the page in the same set
    expect(cpu.dtlb.contents()).not.toContain(0x318);
    expect(cpu.dtlb.contents()).toHaveLength(4);
  });

  it("runs a paging guest with 12- and 6-set TLBs the same on both engines (the loop's walk, fill and INVLPG)", () => {
    // The wasm engine's loop fills and flushes the TLB models itself (core/pageWalk.ts,
    // core/tlbHit.ts): its build of the set arithmetic (asc) against the TS engine's (tsc,
    // dist/), state for state.
    const tlb = { dtlb: { entries: 48, ways: 4, replacement: "lru" as const }, itlb: { entries: 24, ways: 4, replacement: "lru" as const } };
    const image = new Uint8Array(fs.readFileSync(path.resolve(__dirname, "../guests/bench-kernel.img")));
    const twin = (engine: "ts" | "wasm") => {
      const m = new BuiltMachine({ ramBytes: 32 << 20, engine, tlb });
      const serial: number[] = [];
      m.onSerial = (b: number) => serial.push(b);
      m.loadImage(image, { name: "bench-kernel.img" });
      return { m, serial };
    };
    const ts = twin("ts"), wasm = twin("wasm");
    expectTwinRuns(ts, wasm, 1_000_000, 100_000);
    expect(ts.m.cpu.dtlb.evictions).toBeGreaterThan(0);
  });

  it("rejects a geometry that does not divide into sets", () => {
    expect(() => new TlbModel({ entries: 48, ways: 5, replacement: "lru" })).toThrow(/cannot have 5 ways/);
  });
});

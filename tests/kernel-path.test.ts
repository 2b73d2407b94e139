// The batched stack and descriptor accesses of event delivery and IRET (Core.pushFrame,
// peekFrame, CoreMemory.sysReadPair) behave as the single accesses they stand for: the
// same stores and loads, TLB misses and hits, and the same #PF (SDM 3A 4.7) at the same
// access when part of the frame is not mapped. Page tables are written straight into
// RAM; every expected value is a hand calculation from the mapping set up beside it.
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";
import { Reg, Cr0, Seg } from "../src/state/layout.js";
import { FAULT } from "../src/core/fault.js";

const PD = 0x10000, PT = 0x11000;

/** Ring 0, paging on, flat 32-bit SS; pages 0-1023 identity-mapped except those in `absent`. */
function pagedCpu(absent: number[] = []) {
  const m = new Machine({ ramBytes: 4 << 20 });
  const cpu = m.cpu, v = cpu.view;
  v.setUint32(PD, PT | 0x3, true);
  for (let p = 0; p < 1024; p++) v.setUint32(PT + p * 4, absent.includes(p) ? 0 : (p << 12) | 0x3, true);
  cpu.s[Reg.CR3] = PD;
  cpu.s[Reg.CR0] |= Cr0.PG | Cr0.PE;
  cpu.s[Reg.CPL] = 0;
  cpu.setSegment(Seg.SS, 0x10, 0, -1, 0xc093); // flat, B = 1: a 32-bit stack
  cpu.syncMode();
  cpu.flushTlb(true);
  return cpu;
}

function thrown(f: () => void): unknown {
  try { f(); } catch (e) { return e; }
  return null;
}

describe("stack frames of event delivery and IRET", () => {
  it("pushes a frame inside one page: one walk, then a hit per further store", () => {
    const cpu = pagedCpu();
    cpu.s[Reg.ESP] = 0x5800;
    cpu.frame.set([1, 2, 3, 4, 5]);
    cpu.pushFrame(4, 5);
    // First pushed, highest address: 0x57fc, 0x57f8, ... 0x57ec.
    expect([0x57fc, 0x57f8, 0x57f4, 0x57f0, 0x57ec].map((a) => cpu.view.getUint32(a, true))).toEqual([1, 2, 3, 4, 5]);
    expect(cpu.s[Reg.ESP]).toBe(0x57ec);
    expect([cpu.dtlb.misses, cpu.dtlb.hits]).toEqual([1, 4]);
    // SDM 3A 4.8: the walk for a write sets A (0x20) and D (0x40) in the PTE.
    expect(cpu.view.getUint32(PT + 5 * 4, true)).toBe(0x5000 | 0x63);
  });

  it("pushes a frame that crosses into a page that is not present: two stores, then #PF at the third", () => {
    const cpu = pagedCpu([5]);
    cpu.s[Reg.ESP] = 0x6008;
    cpu.frame.set([0x11, 0x22, 0x33, 0x44, 0x55]);
    expect(thrown(() => cpu.pushFrame(4, 5))).toBe(FAULT);
    expect(cpu.view.getUint32(0x6004, true)).toBe(0x11);
    expect(cpu.view.getUint32(0x6000, true)).toBe(0x22);
    expect(cpu.s[Reg.ESP]).toBe(0x6000); // each push that completed moved ESP
    expect(cpu.s[Reg.CR2]).toBe(0x5ffc);
    // Error code: P = 0 (not present), W/R = 1 (write), U/S = 0 (supervisor): 2.
    expect([cpu.s[Reg.EXIT_VECTOR], cpu.s[Reg.EXIT_ERROR]]).toEqual([14, 2]);
  });

  it("pushes nothing when the frame's only page is not present", () => {
    const cpu = pagedCpu([5]);
    cpu.s[Reg.ESP] = 0x5800;
    cpu.frame.set([7, 7, 7, 7, 7]);
    expect(thrown(() => cpu.pushFrame(4, 5))).toBe(FAULT);
    expect(cpu.s[Reg.ESP]).toBe(0x5800);
    expect(cpu.s[Reg.CR2]).toBe(0x57fc);
    for (let a = 0x57ec; a < 0x5800; a += 4) expect(cpu.view.getUint32(a, true)).toBe(0);
  });

  it("raises #SS(0) for a frame below a stack segment's limit, before any store", () => {
    const cpu = pagedCpu();
    cpu.setSegment(Seg.SS, 0x10, 0, 0x57f7, 0xc093); // the first push (0x57fc..0x57ff) is beyond it
    cpu.s[Reg.ESP] = 0x5800;
    cpu.frame.set([9, 9, 9]);
    expect(thrown(() => cpu.pushFrame(4, 3))).toBe(FAULT);
    expect([cpu.s[Reg.EXIT_VECTOR], cpu.s[Reg.EXIT_ERROR]]).toEqual([12, 0]);
    expect(cpu.s[Reg.ESP]).toBe(0x5800);
    expect(cpu.view.getUint32(0x57fc, true)).toBe(0);
  });

  it("peeks a frame across a page boundary: a walk per page, a hit for the second read of page 7", () => {
    const cpu = pagedCpu();
    cpu.view.setUint32(0x6ffc, 0xa, true);
    cpu.view.setUint32(0x7000, 0xb, true);
    cpu.view.setUint32(0x7004, 0xc, true);
    cpu.s[Reg.ESP] = 0x6ffc;
    cpu.peekFrame(4, 0, 3);
    expect(Array.from(cpu.frame.subarray(0, 3))).toEqual([0xa, 0xb, 0xc]);
    expect(cpu.s[Reg.ESP]).toBe(0x6ffc);
    expect([cpu.dtlb.misses, cpu.dtlb.hits]).toEqual([2, 1]);
  });

  it("peeks 16-bit values from a 16-bit offset when SS is a 16-bit stack", () => {
    const cpu = pagedCpu();
    cpu.setSegment(Seg.SS, 0x10, 0x20000, 0xffff, 0x93); // B = 0: SP, not ESP
    cpu.view.setUint16(0x2fffe, 0x1234, true);
    cpu.view.setUint16(0x20000, 0x5678, true); // SP wraps within the 64 KiB segment
    cpu.s[Reg.ESP] = 0xabcdfffe;
    cpu.peekFrame(2, 0, 2);
    expect(Array.from(cpu.frame.subarray(0, 2))).toEqual([0x1234, 0x5678]);
  });
});

describe("descriptor reads in pairs", () => {
  it("reads a descriptor inside one page with one walk and a hit", () => {
    const cpu = pagedCpu();
    cpu.view.setUint32(0x8010, 0x0000ffff, true);
    cpu.view.setUint32(0x8014, 0x00cf9300, true);
    expect(cpu.sysReadPair(0x8010, 4)).toBe(0x0000ffff);
    expect(cpu.pairHigh).toBe(0x00cf9300);
    expect([cpu.dtlb.misses, cpu.dtlb.hits]).toEqual([1, 1]);
  });

  it("reads a descriptor that straddles two pages through both, and faults on the second if it is absent", () => {
    const cpu = pagedCpu([9]);
    cpu.view.setUint32(0x8ffc, 0x12345678, true);
    expect(thrown(() => cpu.sysReadPair(0x8ffc, 4))).toBe(FAULT);
    expect(cpu.s[Reg.CR2]).toBe(0x9000);
    // Error code: not present, read, supervisor (an implicit system access: SDM 3A 4.6): 0.
    expect([cpu.s[Reg.EXIT_VECTOR], cpu.s[Reg.EXIT_ERROR]]).toEqual([14, 0]);
    const ok = pagedCpu();
    ok.view.setUint32(0x8ffc, 0x12345678, true);
    ok.view.setUint16(0x9000, 0xbeef, true);
    expect(ok.sysReadPair(0x8ffc, 2)).toBe(0x12345678);
    expect(ok.pairHigh).toBe(0xbeef);
    expect([ok.dtlb.misses, ok.dtlb.hits]).toEqual([2, 0]);
  });
});

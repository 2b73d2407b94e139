// Portable (docs/engine-decision.md): the commonest protected-mode events, whole, on the
// flat state, for either engine: delivery through a 32-bit interrupt or trap gate to the
// same ring or to an inner ring with its stack from a 32-bit TSS (SDM 3A 6.12.1), and
// IRETD to the same or an outer ring (SDM 2A IRET). A kernel's system calls, page faults
// and their returns are these.
//
// Each function either does all that the general path in cpu/ would do (deliverOnce() in
// cpu/interrupts.ts, iret() in cpu/system.ts): the same registers, segment caches,
// mirrors, stores, counters, and the same data-TLB hits in the same order; or it changes
// nothing and returns false, and the general path runs. It declines when an access would
// walk, cross a page, leave RAM, store into decoded code or fault; for a descriptor in the
// LDT or without its accessed bit (the general path sets it); for conforming code, 16-bit
// gates, frames and TSSs, task gates, virtual-8086 mode and nested tasks; and while data
// breakpoints are armed. tests/protected-event.test.ts runs guests both ways and compares
// the whole flat state.

import { Words, ramRead32, ramWrite32 } from "../state/flatViews.js";
import { Reg, Seg, Flag, Cr0 } from "../state/layout.js";
import { Event } from "../cost/eventCounter.js";
import { HotViews } from "./hotViews.js";
import { plainRam } from "./plainRam.js";
import { tlbHitRun } from "./tlbHit.js";
import { lazyEflags, writeEflags } from "./lazyFlags.js";
import { frameBelowLin, stackAboveLin } from "./stackFrame.js";
import {
  Tlb, writeNeedAt, syncCodeMirrors, descriptorBase, descriptorLimit, descriptorAttr, accessFromAttr, writeSegment,
} from "./segmentCache.js";

/** Present, S = 1, code, not conforming, accessed (descriptor bits 15, 12, 11, 10, 8). */
const CODE_MASK = 0x9d00;
const CODE_WANT = 0x9900;
/** Present, DPL, S = 1, data, writable (bits 15, 14-13, 12, 11, 9): SDM 3A 6.12.1, 2A IRET. */
const STACK_MASK = 0xfa00;
const STACK_WANT = 0x9200;

/** Counts one delivery of `vector`: the priced event and the report's count by vector (Cpu.deliver). */
export function countEvent(h: HotViews, vector: i32): void {
  h.vectorEvents[vector & 0xff] += 1;
  h.counts[Event.EXCEPTION] += 1;
}

/**
 * Delivers `vector` (SDM 3A 6.12.1) when the common case applies; false, with nothing
 * changed, otherwise. `software` is INT n (the gate's DPL is checked against CPL);
 * `returnEip` is pushed. The caller has counted the event (Cpu.deliver()).
 */
export function deliverProtected(h: HotViews, vector: i32, error: i32, hasError: bool, software: bool, returnEip: i32): bool {
  const s = h.s;
  if ((s[Reg.CR0] & Cr0.PE) === 0 || (s[Reg.EFLAGS] & Flag.VM) !== 0 || s[Reg.WATCHING] !== 0) return false;
  // The gate: a present 32-bit interrupt (type 14) or trap (15) gate (SDM 3A 6.11).
  if (<u32>(vector * 8 + 7) > <u32>(s[Reg.IDTR_LIMIT] >>> 0)) return false;
  const gateLin = (s[Reg.IDTR_BASE] + vector * 8) | 0;
  const gate = systemPair(h, gateLin);
  if (gate < 0) return false;
  const glo = ramRead32(h.ram32, h.view, gate), ghi = ramRead32(h.ram32, h.view, gate + 4);
  const type = (ghi >> 8) & 0x1f;
  if ((type !== 0xe && type !== 0xf) || (ghi & 0x8000) === 0) return false;
  const cpl = s[Reg.CPL];
  if (software && ((ghi >> 13) & 3) < cpl) return false; // SDM 3A 6.12.1.1
  // The handler's code segment, and the new CPL.
  const sel = glo >>> 16;
  const target = (glo & 0xffff) | (ghi & 0xffff0000);
  const csLin = gdtEntry(h, sel);
  if (csLin === -1) return false;
  const cs = systemPair(h, csLin);
  if (cs < 0) return false;
  const clo = ramRead32(h.ram32, h.view, cs), chi = ramRead32(h.ram32, h.view, cs + 4);
  const dpl = (chi >> 13) & 3;
  if ((chi & CODE_MASK) !== CODE_WANT || dpl > cpl) return false;
  const csLimit = descriptorLimit(clo, chi);
  if (<u32>(target >>> 0) > <u32>(csLimit >>> 0)) return false;
  const n = hasError ? 4 : 3;
  const paging = s[Reg.PAGING] !== 0;
  const flags = lazyEflags(s);
  let frame = 0, frameLin = 0;
  if (dpl < cpl) {
    // Inner ring: SS:ESP for it from the 32-bit TSS (SDM 3A 7.2.1), checked as 6.12.1.1 says.
    if ((s[Reg.TR_ATTR] & 0x8) === 0) return false;
    const at = dpl * 8 + 4;
    if (<u32>(at + 7) > <u32>(s[Reg.TR_LIMIT] >>> 0)) return false;
    const tssLin = (s[Reg.TR_BASE] + at) | 0;
    const tss = systemPair(h, tssLin);
    if (tss < 0) return false;
    const esp = ramRead32(h.ram32, h.view, tss), ss = ramRead32(h.ram32, h.view, tss + 4) & 0xffff;
    const ssLin = gdtEntry(h, ss);
    const sd = stackDescriptor(h, ss, ssLin, dpl);
    if (sd < 0) return false;
    const slo = ramRead32(h.ram32, h.view, sd), shi = ramRead32(h.ram32, h.view, sd + 4);
    const ssBase = descriptorBase(slo, shi), ssLimit = descriptorLimit(slo, shi), ssAttr = descriptorAttr(shi);
    const ssAccess = accessFromAttr(ssAttr);
    frameLin = frameBelowLin(ssBase, ssLimit, ssAccess, (ssAttr & 0x4000) !== 0, esp, 4, (n + 2) * 4);
    if (frameLin === -1) return false;
    frame = dataPhys(h, frameLin, writeNeedAt(dpl), 4, true);
    if (frame < 0) return false;
    // Commit, in deliverOnce()'s order: the TLB hits of the gate, the code descriptor,
    // the TSS, the stack descriptor and the frame; CPL; SS:ESP; the frame; CS.
    if (paging) dataHits(h, gateLin, csLin, tssLin, ssLin, frameLin, 2 + 2 + 2 + 2 + n + 2);
    h.counts[Event.PRIVILEGE_CHANGE]++;
    s[Reg.CPL] = dpl;
    const oldSs = s[Reg.SEG_SEL + Seg.SS], oldEsp = s[Reg.ESP];
    writeSegment(s, Seg.SS, ss, ssBase, ssLimit, ssAttr, ssAccess);
    ramWrite32(h.ram32, h.view, frame, oldSs);
    ramWrite32(h.ram32, h.view, frame - 4, oldEsp);
    frame -= 8;
    s[Reg.ESP] = (esp - (n + 2) * 4) | 0;
  } else {
    // Same ring: the frame goes on the current stack.
    frameLin = frameBelowLin(s[Reg.SEG_BASE + Seg.SS], s[Reg.SEG_LIMIT + Seg.SS], s[Reg.SEG_ACCESS + Seg.SS],
      s[Reg.STACK32] !== 0, s[Reg.ESP], 4, n * 4);
    if (frameLin === -1) return false;
    frame = dataPhys(h, frameLin, s[Reg.WRITE_NEED], 4, true);
    if (frame < 0) return false;
    if (paging) dataHits(h, gateLin, csLin, frameLin, frameLin, frameLin, 2 + 2 + n);
    s[Reg.ESP] = (s[Reg.ESP] - n * 4) | 0;
  }
  ramWrite32(h.ram32, h.view, frame, flags);
  ramWrite32(h.ram32, h.view, frame - 4, s[Reg.SEG_SEL + Seg.CS]);
  ramWrite32(h.ram32, h.view, frame - 8, returnEip);
  if (hasError) ramWrite32(h.ram32, h.view, frame - 12, error);
  loadCode(s, sel, clo, chi, dpl);
  s[Reg.EIP] = target;
  // SDM 3A 6.12.1.3: TF, VM, RF and NT are cleared; an interrupt gate also clears IF.
  let f = flags & ~(Flag.TF | Flag.VM | Flag.RF | Flag.NT);
  if (type === 0xe) f &= ~Flag.IF;
  writeEflags(s, f);
  return true;
}

/**
 * IRETD in protected mode (SDM 2A IRET) when the common case applies; false, with nothing
 * changed, otherwise. The caller has cleared NMI blocking, which IRET ends either way.
 */
export function iretProtected(h: HotViews): bool {
  const s = h.s;
  if ((s[Reg.CR0] & Cr0.PE) === 0 || (s[Reg.EFLAGS] & (Flag.VM | Flag.NT)) !== 0 || s[Reg.WATCHING] !== 0) return false;
  // The frame: EIP, CS, EFLAGS.
  const frameLin = stackAboveLin(s, 0, 12);
  if (frameLin === -1) return false;
  const frame = dataPhys(h, frameLin, s[Reg.READ_NEED], 12, false);
  if (frame < 0) return false;
  const eip = ramRead32(h.ram32, h.view, frame);
  const sel = ramRead32(h.ram32, h.view, frame + 4) & 0xffff;
  const popped = ramRead32(h.ram32, h.view, frame + 8);
  const cpl = s[Reg.CPL], rpl = sel & 3;
  if ((popped & Flag.VM) !== 0 || rpl < cpl) return false;
  const csLin = gdtEntry(h, sel);
  if (csLin === -1) return false;
  const cs = systemPair(h, csLin);
  if (cs < 0) return false;
  const clo = ramRead32(h.ram32, h.view, cs), chi = ramRead32(h.ram32, h.view, cs + 4);
  if ((chi & CODE_MASK) !== CODE_WANT || ((chi >> 13) & 3) !== rpl) return false;
  if (<u32>(eip >>> 0) > <u32>(descriptorLimit(clo, chi) >>> 0)) return false;
  // Which flags IRET may change at this CPL (SDM 2A IRET): IOPL at CPL 0, IF at CPL <= IOPL.
  // The arithmetic flags all come from the frame, so the stored word, whose arithmetic
  // bits may be stale while a result is pending (core/lazyFlags.ts), serves.
  const old = s[Reg.EFLAGS];
  let mask = Flag.ARITH | Flag.TF | Flag.DF | Flag.NT | Flag.RF | Flag.AC | Flag.ID | Flag.IF | Flag.IOPL;
  if (cpl > 0) mask &= ~Flag.IOPL;
  if (cpl > ((old >> 12) & 3)) mask &= ~Flag.IF;
  const paging = s[Reg.PAGING] !== 0;
  if (rpl === cpl) {
    // iret() peeks the frame, reads the code descriptor, then pops the three dwords.
    if (paging) dataHits(h, frameLin, csLin, frameLin, frameLin, frameLin, 3 + 2 + 3);
    s[Reg.ESP] = (s[Reg.ESP] + 12) | 0;
    loadCode(s, sel, clo, chi, cpl);
  } else {
    // An outer ring: its ESP and SS above the frame, SS checked as SDM 2A IRET says.
    const outerLin = stackAboveLin(s, 12, 8);
    if (outerLin === -1) return false;
    const outer = dataPhys(h, outerLin, s[Reg.READ_NEED], 8, false);
    if (outer < 0) return false;
    const esp = ramRead32(h.ram32, h.view, outer), ss = ramRead32(h.ram32, h.view, outer + 4) & 0xffff;
    const ssLin = gdtEntry(h, ss);
    const sd = stackDescriptor(h, ss, ssLin, rpl);
    if (sd < 0) return false;
    const slo = ramRead32(h.ram32, h.view, sd), shi = ramRead32(h.ram32, h.view, sd + 4);
    if (paging) dataHits(h, frameLin, csLin, outerLin, ssLin, ssLin, 3 + 2 + 2 + 2);
    h.counts[Event.PRIVILEGE_CHANGE]++;
    s[Reg.CPL] = rpl;
    loadCode(s, sel, clo, chi, rpl);
    const ssAttr = descriptorAttr(shi);
    writeSegment(s, Seg.SS, ss, descriptorBase(slo, shi), descriptorLimit(slo, shi), ssAttr, accessFromAttr(ssAttr));
    s[Reg.ESP] = esp;
    // Data segments the outer ring may not use become null (SDM 2A IRET), in ES, DS, FS,
    // GS order as cpu/segments.ts nullInaccessibleSegments() takes them.
    nullIfInaccessible(s, Seg.ES, rpl); nullIfInaccessible(s, Seg.DS, rpl);
    nullIfInaccessible(s, Seg.FS, rpl); nullIfInaccessible(s, Seg.GS, rpl);
  }
  s[Reg.EIP] = eip;
  writeEflags(s, (old & ~mask) | (popped & mask));
  return true;
}

/**
 * RAM offset of the 8 bytes at linear `lin` (a gate, a descriptor, a TSS stack pointer)
 * when Core.sysReadPair() would read them from RAM with one data-TLB hit; -1 when it
 * would walk, split them across pages, or reach beyond RAM.
 */
/* @inline */ function systemPair(h: HotViews, lin: i32): i32 {
  return (lin & 0xfff) > 0xff8 ? -1 : dataPhys(h, lin, Tlb.VALID, 8, false);
}

/** Linear address of the GDT descriptor `sel` names, or -1: a null or LDT selector, or beyond the limit. */
/* @inline */ function gdtEntry(h: HotViews, sel: i32): i32 {
  const s = h.s;
  if ((sel & 0xfffc) === 0 || (sel & 4) !== 0) return -1;
  const index = sel & 0xfff8;
  if (<u32>(index + 7) > <u32>(s[Reg.GDTR_LIMIT] >>> 0)) return -1;
  return (s[Reg.GDTR_BASE] + index) | 0;
}

/**
 * RAM offset of the descriptor of stack selector `ss` (at linear `lin`: gdtEntry()) for
 * ring `ring` when it passes the checks of a stack switch (SDM 3A 6.12.1.1: from the TSS;
 * 2A IRET: to an outer ring): RPL and DPL `ring`, a present writable data segment, in the
 * GDT, read without a walk; -1 otherwise.
 */
/* @inline */ function stackDescriptor(h: HotViews, ss: i32, lin: i32, ring: i32): i32 {
  if ((ss & 3) !== ring || lin === -1) return -1;
  const p = systemPair(h, lin);
  if (p < 0 || (ramRead32(h.ram32, h.view, p + 4) & STACK_MASK) !== (STACK_WANT | (ring << 13))) return -1;
  return p;
}

/**
 * RAM offset of `bytes` at linear `lin` (inside one page) when the data TLB holds it with
 * the rights in `need`: -1 for a miss, beyond RAM, or a store into a page of decoded code.
 */
/* @inline */ function dataPhys(h: HotViews, lin: i32, need: i32, bytes: i32, write: bool): i32 {
  let p = lin;
  if (h.s[Reg.PAGING] !== 0) {
    const e = h.tlb[lin >>> 12];
    if ((e & need) !== need) return -1;
    p = (e & ~0xfff) | (lin & 0xfff);
  }
  return plainRam(h, p, bytes, write) ? p : -1;
}

/**
 * `hits` data accesses that hit, to the pages of linear `a` to `e` in the order the general
 * path makes them (tlbHitRun(): a shorter run repeats its last address).
 */
/* @inline */ function dataHits(h: HotViews, a: i32, b: i32, c: i32, d: i32, e: i32, hits: i32): void {
  tlbHitRun(h.s, Reg.DTLB_LAST_HIT, h.dtlb, a >>> 12, b >>> 12, c >>> 12, d >>> 12, e >>> 12, hits);
}

/**
 * Loads CS from the checked code descriptor `lo`, `hi` with RPL `cpl` (CpuSegments.loadCs
 * once CPL is set), and what CoreMemory.syncMode() derives from CPL and CS.D.
 */
/* @inline */ function loadCode(s: Words, sel: i32, lo: i32, hi: i32, cpl: i32): void {
  const attr = descriptorAttr(hi);
  writeSegment(s, Seg.CS, (sel & 0xfffc) | cpl, descriptorBase(lo, hi), descriptorLimit(lo, hi), attr, accessFromAttr(attr));
  syncCodeMirrors(s);
}

/** Nulls data segment `seg` when ring `cpl` may not use it (SDM 2A IRET: not conforming code, DPL < CPL). */
/* @inline */ function nullIfInaccessible(s: Words, seg: i32, cpl: i32): void {
  const attr = s[Reg.SEG_ATTR + seg];
  if ((attr & 0x10) === 0 || (attr & 0xc) === 0xc || ((attr >> 5) & 3) >= cpl) return;
  writeSegment(s, seg, 0, 0, 0, 0x10000, 0);
}

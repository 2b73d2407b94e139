// Segment registers and descriptors: real-mode and v86 loads, protected-mode loads with
// the checks of SDM 3A 5.4-5.6 and 2A MOV/POP, and the hidden parts (base, limit,
// attributes in the VMCS access-rights format of SDM 3C 24.4.1).

import { Reg, Seg, Flag, Cr0 } from "../state/layout.js";
import { Event } from "../cost/event.js";
import { Core } from "../core/interpreter.js";
import { SegAccess, accessFromAttr, descriptorBase, descriptorLimit, descriptorAttr, writeSegment } from "../core/segmentCache.js";
import { raiseFault, Vector } from "../core/fault.js";

/** A descriptor read from a table: the two dwords and decoded fields. */
export class Descriptor {
  lo = 0; hi = 0;
  get base(): number { return descriptorBase(this.lo, this.hi); }
  /** Limit in bytes, scaled by the granularity bit. */
  get limit(): number { return descriptorLimit(this.lo, this.hi); }
  /** Access rights: type 0-3, S 4, DPL 5-6, P 7, AVL 12, D/B 14, G 15 (VMCS format). */
  get attr(): number { return descriptorAttr(this.hi); }
  get type(): number { return (this.hi >>> 8) & 0xf; }
  get isSystem(): boolean { return (this.hi & 0x1000) === 0; }
  get isCode(): boolean { return !this.isSystem && (this.hi & 0x800) !== 0; }
  get isData(): boolean { return !this.isSystem && (this.hi & 0x800) === 0; }
  get conforming(): boolean { return this.isCode && (this.hi & 0x400) !== 0; }
  get readable(): boolean { return this.isData || (this.hi & 0x200) !== 0; }
  get writable(): boolean { return this.isData && (this.hi & 0x200) !== 0; }
  get dpl(): number { return (this.hi >>> 13) & 3; }
  get present(): boolean { return (this.hi & 0x8000) !== 0; }
  get big(): boolean { return (this.hi & 0x400000) !== 0; }
}

/** The data segment registers, in the order RET and IRET check them (SDM 2A IRET). */
const DATA_SEGMENTS: readonly number[] = [Seg.ES, Seg.DS, Seg.FS, Seg.GS];

/** Access rights of a real-mode or v86 segment: present, DPL 0/3, read/write data (code for CS). */
const REAL_DATA_ATTR = 0x93;
const REAL_CODE_ATTR = 0x9b;

export class CpuSegments extends Core {
  readonly desc = new Descriptor();
  readonly desc2 = new Descriptor();

  get protectedMode(): boolean { return (this.s[Reg.CR0] & Cr0.PE) !== 0; }
  get v86(): boolean { return (this.s[Reg.EFLAGS] & Flag.VM) !== 0; }

  /** Writes a segment register's visible and hidden parts. */
  setSegment(seg: number, sel: number, base: number, limit: number, attr: number): void {
    let access = accessFromAttr(attr);
    // Real mode and v86 allow writes through CS (no protection checks apply).
    if (seg === Seg.CS && (!this.protectedMode || this.v86)) access |= SegAccess.READ | SegAccess.WRITE;
    writeSegment(this.s, seg, sel, base, limit, attr, access);
    if (seg === Seg.CS) this.syncMode();
  }

  /** Real-address or v86 load: base = selector * 16 (SDM 3A 20.1.1). Limit and type stay. */
  loadRealSegment(seg: number, sel: number): void {
    const s = this.s;
    sel &= 0xffff;
    if (this.v86) {
      this.setSegment(seg, sel, sel << 4, 0xffff, (seg === Seg.CS ? REAL_CODE_ATTR : REAL_DATA_ATTR) | 0x60);
      return;
    }
    const attr = s[Reg.SEG_ATTR + seg];
    const keep = (attr & 0x10) !== 0 ? attr : seg === Seg.CS ? REAL_CODE_ATTR : REAL_DATA_ATTR;
    this.setSegment(seg, sel, sel << 4, s[Reg.SEG_LIMIT + seg], keep | 0x80);
  }

  /** Reads the descriptor for `sel` into `out`; #GP(sel) (or `fault`) when beyond the table. */
  readDescriptor(sel: number, out: Descriptor, fault: number = Vector.GP): void {
    const s = this.s;
    const index = sel & 0xfff8;
    let base: number, limit: number;
    if ((sel & 4) !== 0) {
      if ((s[Reg.LDTR_ATTR] & 0x80) === 0 || (s[Reg.LDTR_SEL] & 0xfffc) === 0) raiseFault(s, fault, sel & 0xfffc, true);
      base = s[Reg.LDTR_BASE]; limit = s[Reg.LDTR_LIMIT];
    } else {
      base = s[Reg.GDTR_BASE]; limit = s[Reg.GDTR_LIMIT];
    }
    if (index + 7 > (limit >>> 0)) raiseFault(s, fault, sel & 0xfffc, true);
    out.lo = this.sysReadPair((base + index) | 0, 4);
    out.hi = this.pairHigh;
  }

  /** Sets the accessed bit of a code or data descriptor (SDM 3A 3.4.5.1). */
  markAccessed(sel: number, d: Descriptor): void {
    if ((d.hi & 0x100) !== 0) return;
    d.hi |= 0x100;
    const s = this.s;
    const base = (sel & 4) !== 0 ? s[Reg.LDTR_BASE] : s[Reg.GDTR_BASE];
    this.sysWrite8((base + (sel & 0xfff8) + 5) | 0, (d.hi >>> 8) & 0xff);
  }

  /** MOV/POP/LxS to a data segment register or SS, with the protected-mode checks. */
  loadSegment(seg: number, sel: number): void {
    const s = this.s;
    sel &= 0xffff;
    if (!this.protectedMode || this.v86) {
      this.loadRealSegment(seg, sel);
      return;
    }
    const cpl = s[Reg.CPL], rpl = sel & 3;
    if ((sel & 0xfffc) === 0) {
      if (seg === Seg.SS) raiseFault(s, Vector.GP, 0, true);
      // A null selector loads; using the segment later raises #GP(0) (SDM 3A 5.4.1).
      this.setSegment(seg, sel, 0, 0, 0x10000);
      return;
    }
    const d = this.desc;
    this.readDescriptor(sel, d);
    const err = sel & 0xfffc;
    if (seg === Seg.SS) {
      if (rpl !== cpl || !d.writable || d.dpl !== cpl) raiseFault(s, Vector.GP, err, true);
      if (!d.present) raiseFault(s, Vector.SS, err, true);
    } else {
      if (!d.readable || d.isSystem) raiseFault(s, Vector.GP, err, true);
      if (!d.conforming && (rpl > d.dpl || cpl > d.dpl)) raiseFault(s, Vector.GP, err, true);
      if (!d.present) raiseFault(s, Vector.NP, err, true);
    }
    this.markAccessed(sel, d);
    this.setSegment(seg, sel, d.base, d.limit, d.attr);
  }

  /** Sets CPL; a change of ring is a priced event (stack switch, checks). */
  changePrivilege(cpl: number): void {
    if (this.s[Reg.CPL] !== cpl) this.counts[Event.PRIVILEGE_CHANGE]++;
    this.s[Reg.CPL] = cpl;
  }

  /** Loads CS from a checked code descriptor and sets CPL (far transfers). */
  loadCs(sel: number, d: Descriptor, cpl: number): void {
    this.markAccessed(sel, d);
    this.changePrivilege(cpl);
    this.setSegment(Seg.CS, (sel & 0xfffc) | cpl, d.base, d.limit, d.attr);
  }

  /**
   * After a return to an outer ring, data segments the new CPL may not use become null
   * (SDM 2A RET/IRET: "for each of ES, FS, GS, DS").
   */
  nullInaccessibleSegments(): void {
    const s = this.s;
    const cpl = s[Reg.CPL];
    for (let i = 0; i < DATA_SEGMENTS.length; i++) {
      const seg = DATA_SEGMENTS[i];
      const attr = s[Reg.SEG_ATTR + seg];
      if ((attr & 0x10) === 0) continue;
      const dpl = (attr >> 5) & 3;
      const conformingCode = (attr & 0xc) === 0xc;
      if (!conformingCode && dpl < cpl) this.setSegment(seg, 0, 0, 0, 0x10000);
    }
  }
}

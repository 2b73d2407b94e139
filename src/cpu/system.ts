// The complex instructions the hot loop hands over: segment loads, far transfers, INT and
// IRET, I/O with the TSS permission bitmap, descriptor-table and control-register
// instructions, CPUID, MSRs, SYSENTER/SYSEXIT and hardware task switches.

import { Reg, Seg, Flag, Cr0, Cr4, TSC_OFFSET_SLOT } from "../state/layout.js";
import { Event } from "../cost/event.js";
import { Accounting } from "../cost/accounting.js";
import { loadProfile } from "../cost/profiles.js";
import { Kind } from "../isa/kind.js";
import { Dw, Info, Rep } from "../isa/decode.js";
import { raiseFault, Vector } from "../core/fault.js";
import { Descriptor } from "./segments.js";
import { iretProtected } from "../core/protectedEvent.js";
import { CpuInterrupts, Source, Unsupported } from "./interrupts.js";
import { OPCODES } from "../isa/opcodes.js";

/** Per row: 1 when an IN/OUT names its port in DX (EC-EF) rather than an immediate (E4-E7). */
const PORT_IN_DX = Uint8Array.from(OPCODES, (r) => (r.operands.includes("DX") ? 1 : 0));

/** Port I/O as the CPU sees it; dev/ implements it. */
export interface PortIo {
  in(port: number, size: number): number;
  out(port: number, size: number, value: number): void;
}

/** Offsets of the dynamic fields of a TSS (SDM 3A figure 7-2: 32-bit; figure 7-11: 16-bit). */
interface TssLayout { width: number; eip: number; eflags: number; regs: number; seg: number; segs: number; ldt: number; minLimit: number }
const TSS32: TssLayout = { width: 4, eip: 0x20, eflags: 0x24, regs: 0x28, seg: 0x48, segs: 6, ldt: 0x60, minLimit: 0x67 };
/** The 16-bit TSS holds ES CS SS DS only (segs = 4 in Sreg order). */
const TSS16: TssLayout = { width: 2, eip: 0x0e, eflags: 0x10, regs: 0x12, seg: 0x22, segs: 4, ldt: 0x2a, minLimit: 0x2b };

/** MSR numbers (SDM 4 table 2-2). */
const enum Msr { TSC = 0x10, APIC_BASE = 0x1b, SYSENTER_CS = 0x174, SYSENTER_ESP = 0x175, SYSENTER_EIP = 0x176 }

/**
 * CPUID leaf 1 EDX: DE, PSE, TSC, MSR, CX8, SEP, PGE, CMOV (SDM 2A CPUID table 3-11).
 * No FPU, MMX or SSE, which is the point of reporting them absent.
 */
export const CPUID_FEATURES_EDX = (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15);
/** Family 6, model 3, stepping 3: a Pentium II-era signature (SEP and CMOV present). */
export const CPUID_SIGNATURE = 0x633;
/** CPUID.1:EDX bit 9: an on-chip APIC, present and enabled (SDM 2A CPUID table 3-11). */
export const CPUID_APIC = 1 << 9;

/** The local APIC as IA32_APIC_BASE and CPUID see it (SDM 3A 11.4.4); dev/ implements it. */
export interface ApicBaseMsr {
  /** True while IA32_APIC_BASE.EN is set: CPUID.1:EDX[9] reports the APIC. */
  readonly globallyEnabled: boolean;
  /** The MSR's low 32 bits (the high ones are 0: physical addresses are 32 bits here). */
  readMsr(): number;
  /** False when the value sets a reserved bit (#GP). */
  writeMsr(low: number): boolean;
}

export class CpuSystem extends CpuInterrupts {
  io: PortIo = { in: () => 0xffffffff, out: () => {} };
  /** The local APIC, when the machine has one. */
  apic: ApicBaseMsr | null = null;
  /** Prices the event counters; its cycle count is the TSC (DESIGN.md invariant 5). */
  readonly accounting = new Accounting(this.counts, loadProfile(), () => this.foldRetirements());

  /** IA32_TIME_STAMP_COUNTER: cycles so far plus what WRMSR added (SDM 3B 18.17). */
  get tsc(): number { return this.accounting.cycles() + this.counts[TSC_OFFSET_SLOT]; }

  /** Executes the complex instruction decoded at `at`. EIP already points past it. */
  executeComplex(at: number): void {
    const s = this.s, d = this.decoded;
    const info = d[at + Dw.INFO];
    const kind = info & Info.KIND_MASK;
    const size = (info >> Info.SIZE_SHIFT) & Info.SIZE_MASK;
    const o32 = (info & Info.O32) !== 0;
    const sub = (info >> Info.SUB_SHIFT) & Info.SUB_MASK;
    const pm = this.protectedMode, vm = this.v86;
    const cpl = vm ? 3 : s[Reg.CPL];
    switch (kind) {
      case Kind.MOV_SEG_E: {
        const seg = d[at + Dw.OPS] & 15;
        if (seg === Seg.CS || seg > Seg.GS) raiseFault(s, Vector.UD, 0, false);
        this.loadSegment(seg, this.readE(at, info, 2));
        if (seg === Seg.SS) s[Reg.INHIBIT_IRQ] = 1; // SDM 3A 6.8.3
        break;
      }
      case Kind.POP_SEG: {
        const psize = o32 ? 4 : 2;
        const sel = this.peek(psize, 0) & 0xffff;
        this.loadSegment(sub, sel);
        this.pop(psize);
        if (sub === Seg.SS) s[Reg.INHIBIT_IRQ] = 1;
        break;
      }
      case Kind.LOAD_FAR_PTR: {
        if ((info & Info.REGFORM) !== 0) raiseFault(s, Vector.UD, 0, false);
        const off = this.ea(at, info), seg = this.segOf(at);
        const value = this.rd(this.segRead(seg, off, size), size);
        const sel = this.rd16(this.segRead(seg, (off + size) | 0, 2));
        this.loadSegment(sub, sel);
        this.setReg(size, d[at + Dw.OPS] & 15, value);
        if (sub === Seg.SS) s[Reg.INHIBIT_IRQ] = 1;
        break;
      }
      case Kind.JMP_FAR: this.farJump(d[at + Dw.IMM2], d[at + Dw.IMM], o32, false); break;
      case Kind.CALL_FAR: this.farJump(d[at + Dw.IMM2], d[at + Dw.IMM], o32, true); break;
      case Kind.JMP_FAR_M: case Kind.CALL_FAR_M: {
        const off = this.ea(at, info), seg = this.segOf(at);
        const target = this.rd(this.segRead(seg, off, size), size);
        const sel = this.rd16(this.segRead(seg, (off + size) | 0, 2));
        this.farJump(sel, target, o32, kind === Kind.CALL_FAR_M);
        break;
      }
      case Kind.RET_FAR: this.farReturn(o32, d[at + Dw.IMM] & 0xffff); break;
      case Kind.IRET: this.iret(o32); break;
      case Kind.INT: this.softwareInterrupt(d[at + Dw.IMM] & 0xff); break;
      case Kind.INT3: this.softwareEvent(Vector.BP); break;
      case Kind.INTO:
        if (this.of() !== 0) this.softwareEvent(Vector.OF);
        break;
      case Kind.HLT:
        if (pm && cpl !== 0) raiseFault(s, Vector.GP, 0, true);
        s[Reg.HALTED] = 1;
        break;
      case Kind.IN: case Kind.OUT: {
        const port = PORT_IN_DX[d[at + Dw.ROW]] !== 0 ? s[Reg.EDX] & 0xffff : d[at + Dw.IMM] & 0xff;
        this.checkIoPermission(port, size);
        if (kind === Kind.IN) this.setReg(size, 0, this.portIn(port, size));
        else this.portOut(port, size, this.getReg(size, 0) & (size === 4 ? -1 : (1 << (size * 8)) - 1));
        break;
      }
      case Kind.INS: case Kind.OUTS: this.stringIo(kind, at, info, size); break;
      case Kind.LGDT: case Kind.LIDT: {
        this.requireCpl0();
        const off = this.ea(at, info), seg = this.segOf(at);
        const limit = this.rd16(this.segRead(seg, off, 2));
        let base = this.rd32(this.segRead(seg, (off + 2) | 0, 4));
        if (!o32) base &= 0xffffff; // SDM 2A LGDT: 16-bit operand size loads 24 bits
        s[kind === Kind.LGDT ? Reg.GDTR_BASE : Reg.IDTR_BASE] = base;
        s[kind === Kind.LGDT ? Reg.GDTR_LIMIT : Reg.IDTR_LIMIT] = limit;
        break;
      }
      case Kind.SGDT: case Kind.SIDT: {
        const off = this.ea(at, info), seg = this.segOf(at);
        const limit = s[kind === Kind.SGDT ? Reg.GDTR_LIMIT : Reg.IDTR_LIMIT];
        let base = s[kind === Kind.SGDT ? Reg.GDTR_BASE : Reg.IDTR_BASE];
        if (!o32) base &= 0xffffff;
        const l1 = this.segWrite(seg, off, 2), l2 = this.segWrite(seg, (off + 2) | 0, 4);
        this.wr16(l1, limit);
        this.wr32(l2, base);
        break;
      }
      case Kind.SLDT: case Kind.STR: {
        this.requireProtected();
        const sel = s[kind === Kind.SLDT ? Reg.LDTR_SEL : Reg.TR_SEL] & 0xffff;
        this.writeE(at, info, (info & Info.REGFORM) !== 0 ? size : 2, sel);
        break;
      }
      case Kind.LLDT: this.requireProtected(); this.requireCpl0(); this.loadLdt(this.readE(at, info, 2)); break;
      case Kind.LTR: this.requireProtected(); this.requireCpl0(); this.loadTr(this.readE(at, info, 2)); break;
      case Kind.SMSW:
        this.writeE(at, info, (info & Info.REGFORM) !== 0 ? size : 2, s[Reg.CR0]);
        break;
      case Kind.LMSW: {
        this.requireCpl0();
        const v = this.readE(at, info, 2);
        // SDM 2A LMSW: only PE, MP, EM, TS; PE can be set but not cleared.
        const cr0 = (s[Reg.CR0] & ~0xe) | (v & 0xe) | (s[Reg.CR0] & 1) | (v & 1);
        this.writeCr0(cr0);
        break;
      }
      case Kind.CLTS: this.requireCpl0(); s[Reg.CR0] &= ~Cr0.TS; break;
      case Kind.LAR: case Kind.LSL: this.loadAccessOrLimit(kind, at, info, size); break;
      case Kind.VERR: case Kind.VERW: this.verify(kind === Kind.VERW, this.readE(at, info, 2)); break;
      case Kind.ARPL: {
        if (!pm || vm) raiseFault(s, Vector.UD, 0, false);
        const dst = this.readE(at, info, 2), src = this.getReg(2, d[at + Dw.OPS] & 15);
        if ((dst & 3) < (src & 3)) {
          this.writeE(at, info, 2, (dst & ~3) | (src & 3));
          this.setArithFlags(Flag.ZF, Flag.ZF);
        } else this.setArithFlags(Flag.ZF, 0);
        break;
      }
      case Kind.MOV_R_CR: case Kind.MOV_CR_R: this.moveControl(kind === Kind.MOV_CR_R, at); break;
      case Kind.MOV_R_DR: case Kind.MOV_DR_R: this.moveDebug(kind === Kind.MOV_DR_R, at); break;
      case Kind.INVD: case Kind.WBINVD: this.requireCpl0(); break; // no caches are modelled
      case Kind.INVLPG: {
        this.requireCpl0();
        this.invalidatePage((s[Reg.SEG_BASE + this.segOf(at)] + this.ea(at, info)) | 0);
        break;
      }
      case Kind.CPUID: this.cpuid(); break;
      case Kind.RDTSC:
        if ((s[Reg.CR4] & Cr4.TSD) !== 0 && pm && cpl !== 0) raiseFault(s, Vector.GP, 0, true);
        this.readTsc();
        break;
      case Kind.RDMSR: this.requireCpl0(); this.readMsr(); break;
      case Kind.WRMSR: this.requireCpl0(); this.writeMsr(); break;
      case Kind.SYSENTER: this.sysenter(); break;
      case Kind.SYSEXIT: this.sysexit(); break;
      default:
        raiseFault(s, Vector.UD, 0, false);
    }
  }

  private requireCpl0(): void {
    const s = this.s;
    if (this.protectedMode && (this.v86 || s[Reg.CPL] !== 0)) raiseFault(s, Vector.GP, 0, true);
  }
  private requireProtected(): void {
    if (!this.protectedMode || this.v86) raiseFault(this.s, Vector.UD, 0, false);
  }

  // --- Far transfers (SDM 2A CALL, JMP, RET; SDM 3A 5.8) ---------------------------------

  farJump(sel: number, offset: number, o32: boolean, call: boolean): void {
    const s = this.s;
    sel &= 0xffff;
    const size = o32 ? 4 : 2;
    if (!o32) offset &= 0xffff;
    if (!this.protectedMode || this.v86) {
      if ((offset >>> 0) > 0xffff && !this.protectedMode) raiseFault(s, Vector.GP, 0, true);
      if (call) {
        const oldCs = s[Reg.SEG_SEL + Seg.CS], oldEip = s[Reg.EIP];
        this.push(size, oldCs);
        this.push(size, oldEip);
      }
      this.loadRealSegment(Seg.CS, sel);
      s[Reg.EIP] = offset;
      return;
    }
    if ((sel & 0xfffc) === 0) raiseFault(s, Vector.GP, 0, true);
    const d = this.desc;
    this.readDescriptor(sel, d);
    const cpl = s[Reg.CPL], rpl = sel & 3, err = sel & 0xfffc;
    if (d.isCode) {
      if (d.conforming ? d.dpl > cpl : rpl > cpl || d.dpl !== cpl) raiseFault(s, Vector.GP, err, true);
      if (!d.present) raiseFault(s, Vector.NP, err, true);
      if ((offset >>> 0) > (d.limit >>> 0)) raiseFault(s, Vector.GP, 0, true);
      if (call) {
        const oldCs = s[Reg.SEG_SEL + Seg.CS], oldEsp = s[Reg.ESP];
        try { this.push(size, oldCs); this.push(size, s[Reg.EIP]); } catch (e) { s[Reg.ESP] = oldEsp; throw e; }
      }
      this.loadCs(sel, d, cpl);
      s[Reg.EIP] = offset;
      return;
    }
    if (d.isData) raiseFault(s, Vector.GP, err, true);
    switch (d.type) {
      case 0x4: case 0xc: this.callGate(sel, d, call); return;
      case 0x1: case 0x9: case 0x5:
        if (d.dpl < cpl || d.dpl < rpl) raiseFault(s, Vector.GP, err, true);
        if (!d.present) raiseFault(s, Vector.NP, err, true);
        this.taskSwitch(d.type === 0x5 ? (d.lo >>> 16) & 0xffff : sel, call ? "call" : "jmp", s[Reg.EIP]);
        return;
      default:
        raiseFault(s, Vector.GP, err, true);
    }
  }

  private callGate(gateSel: number, gate: Descriptor, call: boolean): void {
    const s = this.s;
    const cpl = s[Reg.CPL], rpl = gateSel & 3;
    const gerr = gateSel & 0xfffc;
    if (gate.dpl < cpl || gate.dpl < rpl) raiseFault(s, Vector.GP, gerr, true);
    if (!gate.present) raiseFault(s, Vector.NP, gerr, true);
    const gate32 = gate.type === 0xc;
    const sel = (gate.lo >>> 16) & 0xffff;
    const offset = gate32 ? ((gate.lo & 0xffff) | (gate.hi & 0xffff0000)) | 0 : gate.lo & 0xffff;
    const params = gate.hi & 0x1f;
    if ((sel & 0xfffc) === 0) raiseFault(s, Vector.GP, 0, true);
    const d = this.desc2;
    this.readDescriptor(sel, d);
    const err = sel & 0xfffc;
    if (!d.isCode || d.dpl > cpl) raiseFault(s, Vector.GP, err, true);
    if (!call && !d.conforming && d.dpl !== cpl) raiseFault(s, Vector.GP, err, true);
    if (!d.present) raiseFault(s, Vector.NP, err, true);
    if ((offset >>> 0) > (d.limit >>> 0)) raiseFault(s, Vector.GP, 0, true);
    const size = gate32 ? 4 : 2;
    if (call && !d.conforming && d.dpl < cpl) {
      // More privileged: new stack from the TSS, copy `params` parameters (SDM 3A 5.8.5).
      const newCpl = d.dpl;
      const stack = this.stackFromTss(newCpl, 0);
      const ss = stack.ss, esp = stack.esp;
      const ssDesc = new Descriptor();
      this.checkTssStack(ss, newCpl, ssDesc, 0);
      const oldSs = s[Reg.SEG_SEL + Seg.SS], oldEsp = s[Reg.ESP], oldEip = s[Reg.EIP], oldCs = s[Reg.SEG_SEL + Seg.CS];
      const copied: number[] = [];
      for (let i = params - 1; i >= 0; i--) copied.push(this.peek(size, i * size));
      const target = new Descriptor(); target.lo = d.lo; target.hi = d.hi;
      this.changePrivilege(newCpl);
      this.syncMode();
      this.setSegment(Seg.SS, ss, ssDesc.base, ssDesc.limit, ssDesc.attr);
      s[Reg.ESP] = esp;
      this.push(size, oldSs);
      this.push(size, oldEsp);
      for (const v of copied) this.push(size, v);
      this.push(size, oldCs);
      this.push(size, oldEip);
      this.loadCs(sel, target, newCpl);
    } else {
      if (call) {
        const oldEsp = s[Reg.ESP];
        try { this.push(size, s[Reg.SEG_SEL + Seg.CS]); this.push(size, s[Reg.EIP]); } catch (e) { s[Reg.ESP] = oldEsp; throw e; }
      }
      this.loadCs(sel, d, cpl);
    }
    s[Reg.EIP] = offset;
  }

  farReturn(o32: boolean, release: number): void {
    const s = this.s;
    const size = o32 ? 4 : 2;
    const eip = this.peek(size, 0);
    const sel = this.peek(size, size) & 0xffff;
    if (!this.protectedMode || this.v86) {
      this.pop(size); this.pop(size);
      this.loadRealSegment(Seg.CS, sel);
      s[Reg.EIP] = o32 ? eip : eip & 0xffff;
      this.adjustSp(release);
      return;
    }
    const cpl = s[Reg.CPL], rpl = sel & 3, err = sel & 0xfffc;
    if ((sel & 0xfffc) === 0) raiseFault(s, Vector.GP, 0, true);
    const d = this.desc;
    this.readDescriptor(sel, d);
    if (rpl < cpl || !d.isCode) raiseFault(s, Vector.GP, err, true);
    if (d.conforming ? d.dpl > rpl : d.dpl !== rpl) raiseFault(s, Vector.GP, err, true);
    if (!d.present) raiseFault(s, Vector.NP, err, true);
    const target = o32 ? eip : eip & 0xffff;
    if ((target >>> 0) > (d.limit >>> 0)) raiseFault(s, Vector.GP, 0, true);
    if (rpl === cpl) {
      this.pop(size); this.pop(size);
      this.loadCs(sel, d, cpl);
      s[Reg.EIP] = target;
      this.adjustSp(release);
      return;
    }
    // Return to an outer ring: SS:ESP follow the parameters (SDM 2A RET).
    this.returnToOuterRing(sel, d, rpl, 2 * size + release, o32);
    s[Reg.EIP] = target;
    this.adjustSp(release);
  }

  /**
   * RET and IRET to a less privileged ring: loads CS (already checked) and the outer
   * SS:ESP found `stackOffset` bytes above the stack top, then nulls the data segments
   * the outer ring may not use (SDM 2A RET and IRET).
   */
  private returnToOuterRing(sel: number, d: Descriptor, rpl: number, stackOffset: number, o32: boolean): void {
    const s = this.s;
    const size = o32 ? 4 : 2;
    this.peekFrame(size, stackOffset, 2);
    const esp = this.frame[0];
    const ss = this.frame[1] & 0xffff;
    const ssDesc = this.desc2;
    // `d` is the caller's this.desc, which the SS checks (into desc2) leave alone.
    this.checkOuterStack(ss, rpl, ssDesc);
    this.loadCs(sel, d, rpl);
    this.setSegment(Seg.SS, ss, ssDesc.base, ssDesc.limit, ssDesc.attr);
    s[Reg.ESP] = o32 ? esp : (s[Reg.ESP] & ~0xffff) | (esp & 0xffff);
    this.nullInaccessibleSegments();
  }

  /** SS checks on a return to an outer ring (SDM 2A RET/IRET): #GP(sel) or #SS(sel). */
  private checkOuterStack(ss: number, rpl: number, out: Descriptor): void {
    const s = this.s;
    if ((ss & 0xfffc) === 0) raiseFault(s, Vector.GP, 0, true);
    this.readDescriptor(ss, out);
    const err = ss & 0xfffc;
    if ((ss & 3) !== rpl || !out.writable || out.dpl !== rpl) raiseFault(s, Vector.GP, err, true);
    if (!out.present) raiseFault(s, Vector.SS, err, true);
  }

  // --- INT n and IRET ---------------------------------------------------------------------

  private softwareInterrupt(vector: number): void {
    const s = this.s;
    // SDM 3A 20.2.7 (no VME): INT n in v86 mode with IOPL < 3 is #GP(0).
    if (this.v86 && ((s[Reg.EFLAGS] >> 12) & 3) < 3) raiseFault(s, Vector.GP, 0, true);
    this.softwareEvent(vector);
  }

  /** INT n, INT3 and INTO: a trap through the IDT, returning after the instruction. */
  protected softwareEvent(vector: number): void {
    this.deliver(vector, 0, false, Source.SOFTWARE, this.s[Reg.EIP]);
  }

  iret(o32: boolean): void {
    const s = this.s;
    const size = o32 ? 4 : 2;
    // IRET ends NMI blocking (SDM 3A 6.7.1), here as it starts: an IRET that faults has
    // still unblocked NMIs, as the VMX "NMI unblocking due to IRET" rules describe (3C 28.2.3).
    s[Reg.NMI_BLOCKED] = 0;
    if (o32 && this.fastEvents && iretProtected(this.hot)) return;
    if (!this.protectedMode) {
      const ip = this.peek(size, 0), cs = this.peek(size, size), fl = this.peek(size, 2 * size);
      this.pop(size); this.pop(size); this.pop(size);
      this.loadRealSegment(Seg.CS, cs);
      s[Reg.EIP] = o32 ? ip : ip & 0xffff;
      const mask = o32 ? 0x257fd5 : 0x7fd5; // real mode: every flag but VM, VIF, VIP, RF
      this.setEflags((this.getEflags() & ~mask) | (fl & mask));
      return;
    }
    if (this.v86) {
      if (((s[Reg.EFLAGS] >> 12) & 3) < 3) raiseFault(s, Vector.GP, 0, true);
      const ip = this.peek(size, 0), cs = this.peek(size, size), fl = this.peek(size, 2 * size);
      this.pop(size); this.pop(size); this.pop(size);
      this.loadRealSegment(Seg.CS, cs);
      s[Reg.EIP] = o32 ? ip : ip & 0xffff;
      // IOPL and VM stay (SDM 2A IRET, virtual-8086 mode).
      const mask = (o32 ? 0x3f7fd5 : 0x7fd5) & ~(Flag.IOPL | Flag.VM | Flag.VIP | Flag.VIF);
      this.setEflags((this.getEflags() & ~mask) | (fl & mask));
      return;
    }
    if ((s[Reg.EFLAGS] & Flag.NT) !== 0) {
      // Return from a nested task through the back link (SDM 3A 7.3).
      const link = this.sysRead16(s[Reg.TR_BASE]);
      this.taskSwitch(link, "iret", s[Reg.EIP]);
      return;
    }
    this.peekFrame(size, 0, 3);
    const eip = this.frame[0];
    const sel = this.frame[1] & 0xffff;
    const flags = this.frame[2];
    const cpl = s[Reg.CPL];
    if (o32 && (flags & Flag.VM) !== 0 && cpl === 0) {
      this.iretToV86(eip, sel, flags);
      return;
    }
    if ((sel & 0xfffc) === 0) raiseFault(s, Vector.GP, 0, true);
    const d = this.desc;
    this.readDescriptor(sel, d);
    const rpl = sel & 3, err = sel & 0xfffc;
    if (rpl < cpl || !d.isCode) raiseFault(s, Vector.GP, err, true);
    if (d.conforming ? d.dpl > rpl : d.dpl !== rpl) raiseFault(s, Vector.GP, err, true);
    if (!d.present) raiseFault(s, Vector.NP, err, true);
    const target = o32 ? eip : eip & 0xffff;
    if ((target >>> 0) > (d.limit >>> 0)) raiseFault(s, Vector.GP, 0, true);
    const newFlags = this.iretFlags(flags, size, cpl);
    if (rpl === cpl) {
      this.pop(size); this.pop(size); this.pop(size);
      this.loadCs(sel, d, cpl);
    } else {
      this.returnToOuterRing(sel, d, rpl, 3 * size, o32);
    }
    s[Reg.EIP] = target;
    // loadCs() (directly or in returnToOuterRing) made the syncMode() this needs: the
    // mirrors do not depend on EFLAGS.
    this.setEflags(newFlags);
  }

  /** Which EFLAGS bits IRET may change at this CPL (SDM 2A IRET, protected mode). */
  private iretFlags(popped: number, size: number, cpl: number): number {
    const old = this.getEflags();
    let mask = Flag.ARITH | Flag.TF | Flag.DF | Flag.NT | Flag.RF | Flag.AC | Flag.ID | Flag.IF | Flag.IOPL;
    const iopl = (old >> 12) & 3;
    if (cpl > 0) mask &= ~Flag.IOPL;
    if (cpl > iopl) mask &= ~Flag.IF;
    if (size === 2) { mask &= 0xffff; popped &= 0xffff; }
    return (old & ~mask) | (popped & mask);
  }

  private iretToV86(eip: number, cs: number, flags: number): void {
    const s = this.s;
    const esp = this.peek(4, 12), ss = this.peek(4, 16);
    const es = this.peek(4, 20), ds = this.peek(4, 24), fs = this.peek(4, 28), gs = this.peek(4, 32);
    this.setEflags(flags);
    this.changePrivilege(3);
    this.syncMode();
    this.loadRealSegment(Seg.CS, cs);
    this.loadRealSegment(Seg.SS, ss);
    this.loadRealSegment(Seg.ES, es);
    this.loadRealSegment(Seg.DS, ds);
    this.loadRealSegment(Seg.FS, fs);
    this.loadRealSegment(Seg.GS, gs);
    s[Reg.ESP] = esp;
    s[Reg.EIP] = eip & 0xffff;
  }

  // --- I/O (SDM 1 chapter 19: I/O privilege level and permission bit map) ----------------

  checkIoPermission(port: number, size: number): void {
    const s = this.s;
    if (!this.protectedMode) return;
    const iopl = (s[Reg.EFLAGS] >> 12) & 3;
    if (!this.v86 && s[Reg.CPL] <= iopl) return;
    const limit = s[Reg.TR_LIMIT] >>> 0;
    if ((s[Reg.TR_ATTR] & 0x8) === 0 || limit < 0x67) raiseFault(s, Vector.GP, 0, true);
    const mapBase = this.sysRead16((s[Reg.TR_BASE] + 0x66) | 0);
    const byteAt = mapBase + (port >>> 3);
    if (byteAt + 1 > limit) raiseFault(s, Vector.GP, 0, true);
    const bits = this.sysRead16((s[Reg.TR_BASE] + byteAt) | 0);
    const want = ((1 << size) - 1) << (port & 7);
    if ((bits & want) !== 0) raiseFault(s, Vector.GP, 0, true);
  }

  /** Every port access passes here: one priced event each. */
  private portIn(port: number, size: number): number {
    this.counts[Event.IO_ACCESS]++;
    return this.io.in(port, size);
  }
  private portOut(port: number, size: number, value: number): void {
    this.counts[Event.IO_ACCESS]++;
    this.io.out(port, size, value);
  }

  private stringIo(kind: number, at: number, info: number, size: number): void {
    const s = this.s;
    const a32 = (info & Info.A32) !== 0;
    const port = s[Reg.EDX] & 0xffff;
    this.checkIoPermission(port, size);
    const rep = ((info >> Info.REP_SHIFT) & Info.REP_MASK) !== Rep.NONE;
    const step = (s[Reg.EFLAGS] & Flag.DF) !== 0 ? -size : size;
    const srcSeg = this.segOf(at);
    for (;;) {
      if (rep && (a32 ? s[Reg.ECX] : s[Reg.ECX] & 0xffff) === 0) return;
      if (kind === Kind.INS) {
        const di = a32 ? s[Reg.EDI] : s[Reg.EDI] & 0xffff;
        const lin = this.segWrite(Seg.ES, di, size);
        this.xlateWrite(lin);
        this.wr(lin, size, this.portIn(port, size));
        this.advance(Reg.EDI, step, a32);
      } else {
        const si = a32 ? s[Reg.ESI] : s[Reg.ESI] & 0xffff;
        this.portOut(port, size, this.rd(this.segRead(srcSeg, si, size), size));
        this.advance(Reg.ESI, step, a32);
      }
      this.counts[Event.STRING_ITERATION]++;
      if (!rep) return;
      this.advance(Reg.ECX, -1, a32); // the count is CX or ECX by address size
    }
  }

  // --- Descriptor tables and task state ---------------------------------------------------

  private loadLdt(sel: number): void {
    const s = this.s;
    sel &= 0xffff;
    if ((sel & 0xfffc) === 0) {
      s[Reg.LDTR_SEL] = sel; s[Reg.LDTR_BASE] = 0; s[Reg.LDTR_LIMIT] = 0; s[Reg.LDTR_ATTR] = 0;
      return;
    }
    const err = sel & 0xfffc;
    if ((sel & 4) !== 0) raiseFault(s, Vector.GP, err, true);
    const d = this.desc;
    this.readDescriptor(sel, d);
    if (!d.isSystem || d.type !== 2) raiseFault(s, Vector.GP, err, true);
    if (!d.present) raiseFault(s, Vector.NP, err, true);
    s[Reg.LDTR_SEL] = sel; s[Reg.LDTR_BASE] = d.base; s[Reg.LDTR_LIMIT] = d.limit; s[Reg.LDTR_ATTR] = d.attr;
  }

  private loadTr(sel: number): void {
    const s = this.s;
    sel &= 0xffff;
    const err = sel & 0xfffc;
    if ((sel & 0xfffc) === 0) raiseFault(s, Vector.GP, 0, true);
    if ((sel & 4) !== 0) raiseFault(s, Vector.GP, err, true);
    const d = this.desc;
    this.readDescriptor(sel, d);
    if (!d.isSystem || (d.type !== 1 && d.type !== 9)) raiseFault(s, Vector.GP, err, true);
    if (!d.present) raiseFault(s, Vector.NP, err, true);
    this.setBusy(sel, true);
    s[Reg.TR_SEL] = sel; s[Reg.TR_BASE] = d.base; s[Reg.TR_LIMIT] = d.limit; s[Reg.TR_ATTR] = d.attr | 0x2;
  }

  /** Sets or clears the busy bit (type bit 1) of a TSS descriptor in the GDT. */
  private setBusy(sel: number, busy: boolean): void {
    const at = (this.s[Reg.GDTR_BASE] + (sel & 0xfff8) + 5) | 0;
    const b = this.sysRead8(at);
    this.sysWrite8(at, busy ? b | 0x2 : b & ~0x2);
  }

  /** LAR and LSL (SDM 2A): ZF=1 and the access rights or limit when the selector is visible. */
  private loadAccessOrLimit(kind: number, at: number, info: number, size: number): void {
    const s = this.s;
    this.requireProtected();
    const sel = this.readE(at, info, 2) & 0xffff;
    const d = this.desc;
    if (!this.descriptorVisible(sel, d, kind === Kind.LAR ? 0x1e3e : 0x0a0e)) { this.setArithFlags(Flag.ZF, 0); return; }
    const value = kind === Kind.LAR ? d.hi & 0x00ffff00 : d.limit;
    this.setReg(size, this.decoded[at + Dw.OPS] & 15, size === 2 ? value & 0xffff : value);
    this.setArithFlags(Flag.ZF, Flag.ZF);
  }

  /**
   * True when `sel` names a descriptor the current CPL and RPL may see: not null, in the
   * table, a code or data segment or one of the system types in `systemTypes` (bit per
   * type), and DPL >= max(CPL, RPL) unless conforming code.
   */
  private descriptorVisible(sel: number, d: Descriptor, systemTypes: number): boolean {
    const s = this.s;
    if ((sel & 0xfffc) === 0) return false;
    const base = (sel & 4) !== 0 ? s[Reg.LDTR_BASE] : s[Reg.GDTR_BASE];
    const limit = (sel & 4) !== 0 ? s[Reg.LDTR_LIMIT] : s[Reg.GDTR_LIMIT];
    if ((sel & 4) !== 0 && (s[Reg.LDTR_SEL] & 0xfffc) === 0) return false;
    if ((sel & 0xfff8) + 7 > (limit >>> 0)) return false;
    d.lo = this.sysRead32((base + (sel & 0xfff8)) | 0);
    d.hi = this.sysRead32((base + (sel & 0xfff8) + 4) | 0);
    if (d.isSystem && ((systemTypes >> d.type) & 1) === 0) return false;
    if (d.conforming) return true;
    const cpl = this.v86 ? 3 : s[Reg.CPL];
    return d.dpl >= cpl && d.dpl >= (sel & 3);
  }

  private verify(write: boolean, sel: number): void {
    this.requireProtected();
    const d = this.desc;
    let ok = this.descriptorVisible(sel & 0xffff, d, 0) && !d.isSystem;
    if (ok) ok = write ? d.writable : d.readable;
    // Conforming code is readable-checked without privilege (SDM 2A VERR), handled above.
    this.setArithFlags(Flag.ZF, ok ? Flag.ZF : 0);
  }

  // --- Control and debug registers ----------------------------------------------------------

  private moveControl(toCr: boolean, at: number): void {
    const s = this.s;
    this.requireCpl0();
    const ops = this.decoded[at + Dw.OPS];
    const cr = ops & 15, gpr = (ops >> 4) & 15;
    if (cr === 1 || cr > 4) raiseFault(s, Vector.UD, 0, false);
    const index = cr === 0 ? Reg.CR0 : Reg.CR0 + cr - 1;
    if (!toCr) { s[gpr] = s[index]; return; }
    const v = s[gpr];
    switch (cr) {
      case 0: this.writeCr0(v); break;
      case 2: s[Reg.CR2] = v; break;
      case 3: s[Reg.CR3] = v; this.flushTlb(false); break;
      case 4: {
        // PAE, and every bit beyond PGE except the debug and TSD bits, is reserved here.
        if ((v & ~(Cr4.VME | Cr4.PVI | Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PGE)) !== 0) raiseFault(s, Vector.GP, 0, true);
        if ((v & (Cr4.VME | Cr4.PVI)) !== 0) throw new Unsupported("CR4.VME/PVI (virtual-8086 mode extensions)");
        const changed = s[Reg.CR4] ^ v;
        s[Reg.CR4] = v;
        if ((changed & (Cr4.PSE | Cr4.PGE)) !== 0) this.flushTlb(true);
        break;
      }
    }
  }

  /** CR0 write (SDM 3A 2.5, 2B MOV CR): PG without PE is #GP; paging changes flush. */
  writeCr0(v: number): void {
    const s = this.s;
    v |= Cr0.ET;
    if ((v & Cr0.PG) !== 0 && (v & Cr0.PE) === 0) raiseFault(s, Vector.GP, 0, true);
    if ((v & Cr0.NW) !== 0 && (v & Cr0.CD) === 0) raiseFault(s, Vector.GP, 0, true);
    const changed = s[Reg.CR0] ^ v;
    s[Reg.CR0] = v;
    if ((changed & (Cr0.PG | Cr0.PE | Cr0.WP)) !== 0) this.flushTlb(true);
    if ((changed & Cr0.PE) !== 0) {
      // Entering or leaving protected mode keeps the segment caches; CS now obeys PE rules.
      const c = Seg.CS;
      this.setSegment(c, s[Reg.SEG_SEL + c], s[Reg.SEG_BASE + c], s[Reg.SEG_LIMIT + c], s[Reg.SEG_ATTR + c]);
      if ((v & Cr0.PE) === 0) s[Reg.CPL] = 0;
    }
    this.syncMode();
  }

  private moveDebug(toDr: boolean, at: number): void {
    const s = this.s;
    this.requireCpl0();
    const ops = this.decoded[at + Dw.OPS];
    let dr = ops & 15;
    const gpr = (ops >> 4) & 15;
    // SDM 3A 17.2.2: DR4/DR5 alias DR6/DR7 unless CR4.DE, when they are #UD.
    if (dr === 4 || dr === 5) {
      if ((s[Reg.CR4] & Cr4.DE) !== 0) raiseFault(s, Vector.UD, 0, false);
      dr += 2;
    }
    if (!toDr) { s[gpr] = s[Reg.DR0 + dr]; return; }
    let v = s[gpr];
    if (dr === 6) v = (v & 0xe00f) | 0xffff0ff0;
    if (dr === 7) v = (v & ~0xd800) | 0x400;
    s[Reg.DR0 + dr] = v;
    this.syncMode(); // arms or disarms data breakpoints
  }

  // --- CPUID and MSRs --------------------------------------------------------------------------

  private cpuid(): void {
    const s = this.s;
    const leaf = s[Reg.EAX] >>> 0;
    if (leaf === 0) {
      // "GenuineIntel" in EBX, EDX, ECX (SDM 2A CPUID).
      s[Reg.EAX] = 1; s[Reg.EBX] = 0x756e6547; s[Reg.EDX] = 0x49656e69; s[Reg.ECX] = 0x6c65746e;
      return;
    }
    // Leaves above the maximum report the highest basic leaf (Intel behaviour).
    // EBX[31:24] is the initial APIC ID, 0; EDX bit 9 reports an enabled local APIC (SDM 2A CPUID).
    s[Reg.EAX] = CPUID_SIGNATURE; s[Reg.EBX] = 0; s[Reg.ECX] = 0;
    s[Reg.EDX] = CPUID_FEATURES_EDX | (this.apic !== null && this.apic.globallyEnabled ? CPUID_APIC : 0);
  }

  /** EDX:EAX = TSC (RDTSC, RDMSR 0x10). */
  private readTsc(): void {
    const tsc = this.tsc;
    this.s[Reg.EAX] = tsc % 0x100000000 | 0;
    this.s[Reg.EDX] = Math.floor(tsc / 0x100000000) | 0;
  }

  private readMsr(): void {
    const s = this.s;
    switch (s[Reg.ECX] >>> 0) {
      case Msr.TSC: this.readTsc(); return;
      case Msr.APIC_BASE:
        if (this.apic === null) raiseFault(s, Vector.GP, 0, true);
        s[Reg.EAX] = this.apic!.readMsr(); s[Reg.EDX] = 0; return;
      case Msr.SYSENTER_CS: s[Reg.EAX] = s[Reg.SYSENTER_CS]; s[Reg.EDX] = 0; return;
      case Msr.SYSENTER_ESP: s[Reg.EAX] = s[Reg.SYSENTER_ESP]; s[Reg.EDX] = 0; return;
      case Msr.SYSENTER_EIP: s[Reg.EAX] = s[Reg.SYSENTER_EIP]; s[Reg.EDX] = 0; return;
      default: raiseFault(s, Vector.GP, 0, true);
    }
  }

  private writeMsr(): void {
    const s = this.s;
    switch (s[Reg.ECX] >>> 0) {
      case Msr.TSC: this.counts[TSC_OFFSET_SLOT] = (s[Reg.EDX] >>> 0) * 0x100000000 + (s[Reg.EAX] >>> 0) - this.accounting.cycles(); return;
      case Msr.SYSENTER_CS: s[Reg.SYSENTER_CS] = s[Reg.EAX] & 0xffff; return;
      case Msr.SYSENTER_ESP: s[Reg.SYSENTER_ESP] = s[Reg.EAX]; return;
      case Msr.SYSENTER_EIP: s[Reg.SYSENTER_EIP] = s[Reg.EAX]; return;
      case Msr.APIC_BASE:
        // Bits 32-63 are beyond MAXPHYADDR (32 here) and reserved: #GP (SDM 3A 11.4.4).
        if (this.apic === null || s[Reg.EDX] !== 0 || !this.apic.writeMsr(s[Reg.EAX])) raiseFault(s, Vector.GP, 0, true);
        return;
      default: raiseFault(s, Vector.GP, 0, true);
    }
  }

  /** SYSENTER (SDM 2B): flat ring-0 CS and SS derived from IA32_SYSENTER_CS. */
  private sysenter(): void {
    const s = this.s;
    const cs = s[Reg.SYSENTER_CS] & 0xfffc;
    if (!this.protectedMode || cs === 0) raiseFault(s, Vector.GP, 0, true);
    this.setEflags(this.getEflags() & ~(Flag.VM | Flag.IF | Flag.RF));
    this.changePrivilege(0);
    this.setSegment(Seg.CS, cs, 0, -1, 0xc09b);
    this.setSegment(Seg.SS, cs + 8, 0, -1, 0xc093);
    s[Reg.ESP] = s[Reg.SYSENTER_ESP];
    s[Reg.EIP] = s[Reg.SYSENTER_EIP];
    this.syncMode();
  }

  /** SYSEXIT (SDM 2B): flat ring-3 CS = MSR+16, SS = MSR+24; EIP = EDX, ESP = ECX. */
  private sysexit(): void {
    const s = this.s;
    const base = s[Reg.SYSENTER_CS] & 0xfffc;
    if (!this.protectedMode || this.v86 || s[Reg.CPL] !== 0 || base === 0) raiseFault(s, Vector.GP, 0, true);
    this.changePrivilege(3);
    this.setSegment(Seg.CS, (base + 16) | 3, 0, -1, 0xc0fb);
    this.setSegment(Seg.SS, (base + 24) | 3, 0, -1, 0xc0f3);
    s[Reg.ESP] = s[Reg.ECX];
    s[Reg.EIP] = s[Reg.EDX];
    this.syncMode();
  }

  // --- Hardware task switch (SDM 3A 7.3) ----------------------------------------------------

  protected taskGate(sel: number, error: number, hasError: boolean, returnEip: number): void {
    this.taskSwitch(sel, "interrupt", returnEip);
    if (hasError) this.push((this.s[Reg.TR_ATTR] & 0x8) !== 0 ? 4 : 2, error);
  }

  /**
   * Switches to the task whose 32-bit TSS `sel` names: saves the current state into the
   * old TSS, loads the new one, and maintains busy bits, NT and the back link as the
   * SDM's table 7-2 says for JMP, CALL/interrupt and IRET.
   */
  taskSwitch(sel: number, reason: "jmp" | "call" | "interrupt" | "iret", returnEip: number): void {
    const s = this.s;
    const err = sel & 0xfffc;
    if ((sel & 4) !== 0) raiseFault(s, reason === "iret" ? Vector.TS : Vector.GP, err, true);
    const d = new Descriptor();
    this.readDescriptor(sel, d, reason === "iret" ? Vector.TS : Vector.GP);
    const busyType = d.type === 0xb || d.type === 0x3;
    const availType = d.type === 0x9 || d.type === 0x1;
    // IRET needs a busy TSS; the others an available one (SDM 3A 7.3 step 3).
    if (!d.isSystem || (reason === "iret" ? !busyType : !availType)) raiseFault(s, reason === "iret" ? Vector.TS : Vector.GP, err, true);
    if (!d.present) raiseFault(s, Vector.NP, err, true);
    const to = (d.type & 8) !== 0 ? TSS32 : TSS16;
    if ((d.limit >>> 0) < to.minLimit) raiseFault(s, Vector.TS, err, true);
    const from = (s[Reg.TR_ATTR] & 0x8) !== 0 ? TSS32 : TSS16;

    const old = s[Reg.TR_BASE];
    let flags = this.getEflags();
    if (reason === "jmp" || reason === "iret") this.setBusy(s[Reg.TR_SEL], false);
    if (reason === "iret") flags &= ~Flag.NT;
    // Save the outgoing state into the dynamic fields of its TSS (SDM 3A figures 7-2, 7-11).
    this.tssWrite(from, old + from.eip, returnEip);
    this.tssWrite(from, old + from.eflags, flags);
    for (let r = 0; r < 8; r++) this.tssWrite(from, old + from.regs + r * from.width, s[r]);
    for (let sg = 0; sg < from.segs; sg++) this.sysWrite16(old + from.seg + sg * from.width, s[Reg.SEG_SEL + sg]);

    const base = d.base;
    const cr3 = to === TSS32 ? this.sysRead32(base + 0x1c) : s[Reg.CR3];
    const eip = this.tssRead(to, base + to.eip);
    let newFlags = this.tssRead(to, base + to.eflags);
    // A 16-bit TSS holds the low halves only; the upper halves of the general registers
    // keep their values (the SDM leaves them unspecified), and FS and GS are unchanged.
    const regs: number[] = [];
    for (let r = 0; r < 8; r++) {
      const v = this.tssRead(to, base + to.regs + r * to.width);
      regs.push(to === TSS32 ? v : (s[r] & ~0xffff) | v);
    }
    const sels: number[] = [];
    for (let sg = 0; sg < 6; sg++) sels.push(sg < to.segs ? this.sysRead16(base + to.seg + sg * to.width) : s[Reg.SEG_SEL + sg]);
    const ldt = this.sysRead16(base + to.ldt);
    if (reason === "call" || reason === "interrupt") {
      this.sysWrite16(base, s[Reg.TR_SEL]);
      newFlags |= Flag.NT;
    }
    if (reason !== "iret") this.setBusy(sel, true);
    this.counts[Event.TASK_SWITCH]++;
    s[Reg.TR_SEL] = sel; s[Reg.TR_BASE] = base; s[Reg.TR_LIMIT] = d.limit; s[Reg.TR_ATTR] = d.attr | 0x2;
    s[Reg.CR0] |= Cr0.TS;
    if ((s[Reg.CR0] & Cr0.PG) !== 0) { s[Reg.CR3] = cr3; this.flushTlb(false); }
    for (let r = 0; r < 8; r++) s[r] = regs[r];
    this.setEflags(newFlags);
    s[Reg.EIP] = eip;
    // Segment loads happen in the new task's context; their faults belong to it (SDM 3A 7.3 step 12).
    this.loadLdt(ldt);
    const csSel = sels[Seg.CS];
    if ((newFlags & Flag.VM) !== 0) {
      s[Reg.CPL] = 3;
      for (let sg = 0; sg < 6; sg++) this.loadRealSegment(sg, sels[sg]);
      this.syncMode();
      return;
    }
    const cs = new Descriptor();
    if ((csSel & 0xfffc) === 0) raiseFault(s, Vector.TS, 0, true);
    this.readDescriptor(csSel, cs, Vector.TS);
    if (!cs.isCode) raiseFault(s, Vector.TS, csSel & 0xfffc, true);
    if (!cs.present) raiseFault(s, Vector.NP, csSel & 0xfffc, true);
    // The task switch's price covers a change of ring: set CPL before loadCs counts one.
    s[Reg.CPL] = csSel & 3;
    this.loadCs(csSel, cs, csSel & 3);
    const ssDesc = new Descriptor();
    this.checkTssStack(sels[Seg.SS], csSel & 3, ssDesc, 0);
    this.setSegment(Seg.SS, sels[Seg.SS], ssDesc.base, ssDesc.limit, ssDesc.attr);
    for (const sg of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) if (sg < to.segs) this.loadSegment(sg, sels[sg]);
    this.syncMode();
  }

  private tssRead(layout: TssLayout, at: number): number {
    return layout.width === 4 ? this.sysRead32(at) : this.sysRead16(at);
  }
  private tssWrite(layout: TssLayout, at: number, v: number): void {
    if (layout.width === 4) this.sysWrite32(at, v); else this.sysWrite16(at, v);
  }
}


// Interrupt and exception delivery: the real-mode IVT (SDM 3A 20.1.4), protected-mode
// interrupt and trap gates with the stack switch through the TSS (SDM 3A 6.12), task
// gates, and the double-fault rules (SDM 3A 6.15, table 6-5).

import { Reg, Seg, Flag } from "../state/layout.js";
import { raiseFault, Vector, FAULT } from "../core/fault.js";
import { CpuSegments } from "./segments.js";
import { deliverProtected, countEvent } from "../core/protectedEvent.js";

/** How an event arrived: this decides the privilege check on the gate and the EXT bit. */
export const enum Source { SOFTWARE = 0, EXCEPTION = 1, EXTERNAL = 2 }

/** Thrown when three faults nest: the CPU shuts down (SDM 3A 6.15 interrupt 8). */
export class TripleFault extends Error {
  constructor(readonly vector: number) { super(`triple fault (last exception #${vector})`); }
}

/** Thrown for architectural features vmxlab does not model yet; the run ends with a report. */
export class Unsupported extends Error {}

function contributory(v: number): boolean {
  return v === 0 || (v >= 10 && v <= 13);
}

export abstract class CpuInterrupts extends CpuSegments {
  /**
   * Vector of the exception being delivered, or -1 (for the #DF rules): set and restored
   * within one deliver(), always -1 between instructions, so not part of the flat state.
   */
  private delivering = -1;
  /**
   * Whether events take core/protectedEvent.ts's path when it applies (they do unless a
   * test compares it with the general path below, which gives the same results).
   */
  fastEvents = true;

  /**
   * Delivers an exception or interrupt. A fault raised during delivery is combined with
   * the first one per SDM 3A table 6-5: a second contributory or page fault becomes #DF,
   * a fault while delivering #DF is a triple fault.
   */
  deliver(vector: number, error: number, hasError: boolean, source: Source, nextEip: number): void {
    const s = this.s;
    const outer = this.delivering;
    this.delivering = vector;
    countEvent(this.hot, vector);
    try {
      this.deliverOnce(vector, error, hasError, source, nextEip);
      this.delivering = outer;
    } catch (e) {
      this.delivering = outer;
      if (e !== FAULT) throw e;
      const second = s[Reg.EXIT_VECTOR];
      if (vector === Vector.DF) throw new TripleFault(second);
      const first = vector;
      const double = (contributory(first) && contributory(second)) ||
        (first === Vector.PF && (contributory(second) || second === Vector.PF));
      if (source === Source.EXCEPTION && double) {
        this.deliver(Vector.DF, 0, true, Source.EXCEPTION, nextEip);
      } else {
        // Benign combinations: the second exception is handled serially.
        this.deliver(second, s[Reg.EXIT_ERROR], s[Reg.EXIT_HAS_ERROR] !== 0, Source.EXCEPTION, s[Reg.INSN_EIP]);
      }
    }
  }

  private deliverOnce(vector: number, error: number, hasError: boolean, source: Source, returnEip: number): void {
    // The common case, whole, in portable code that either engine's loop also runs.
    if (this.fastEvents && deliverProtected(this.hot, vector, error, hasError, source === Source.SOFTWARE, returnEip)) return;
    const s = this.s;
    if (!this.protectedMode) {
      this.deliverReal(vector, returnEip);
      return;
    }
    const ext = source === Source.SOFTWARE ? 0 : 1;
    const gateErr = vector * 8 + 2 + ext;
    if (vector * 8 + 7 > (s[Reg.IDTR_LIMIT] >>> 0)) raiseFault(s, Vector.GP, gateErr, true);
    const lo = this.sysReadPair((s[Reg.IDTR_BASE] + vector * 8) | 0, 4);
    const hi = this.pairHigh;
    const type = (hi >> 8) & 0x1f; // includes the S bit, which must be 0
    const gateDpl = (hi >> 13) & 3;
    const isTask = type === 0x5;
    const isInterrupt = type === 0x6 || type === 0xe;
    const isTrap = type === 0x7 || type === 0xf;
    if (!isTask && !isInterrupt && !isTrap) raiseFault(s, Vector.GP, gateErr, true);
    const cpl = this.v86 ? 3 : s[Reg.CPL];
    // SDM 3A 6.12.1.1: INT n, INT3 and INTO check the gate's DPL against CPL.
    if (source === Source.SOFTWARE && gateDpl < cpl) raiseFault(s, Vector.GP, gateErr, true);
    if ((hi & 0x8000) === 0) raiseFault(s, Vector.NP, gateErr, true);
    if (isTask) {
      this.taskGate(lo >>> 16, error, hasError, returnEip, ext);
      return;
    }
    const gate32 = (type & 8) !== 0;
    const targetSel = lo >>> 16;
    const targetEip = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
    if ((targetSel & 0xfffc) === 0) raiseFault(s, Vector.GP, ext, true);
    const d = this.desc;
    this.readDescriptor(targetSel, d);
    const selErr = (targetSel & 0xfffc) + ext;
    if (!d.isCode || d.dpl > cpl) raiseFault(s, Vector.GP, selErr, true);
    if (!d.present) raiseFault(s, Vector.NP, selErr, true);
    const flags = this.getEflags();
    const size = gate32 ? 4 : 2;
    const fromV86 = (flags & Flag.VM) !== 0;
    if (!d.conforming && d.dpl < cpl) {
      // Inner privilege: switch to the stack for the new ring from the TSS.
      const newCpl = d.dpl;
      if (fromV86 && newCpl !== 0) raiseFault(s, Vector.GP, selErr, true);
      const stack = this.stackFromTss(newCpl, ext);
      const ss = stack.ss, esp = stack.esp;
      const oldSs = s[Reg.SEG_SEL + Seg.SS], oldEsp = s[Reg.ESP];
      const ssDesc = this.desc2;
      this.checkTssStack(ss, newCpl, ssDesc, ext);
      if ((targetEip >>> 0) > (d.limit >>> 0)) raiseFault(s, Vector.GP, 0, true);
      // Commit: load SS:ESP and CS, then push on the new stack.
      this.changePrivilege(newCpl);
      this.syncMode();
      this.setSegment(Seg.SS, ss, ssDesc.base, ssDesc.limit, ssDesc.attr);
      s[Reg.ESP] = esp;
      if (fromV86) {
        this.push(size, s[Reg.SEG_SEL + Seg.GS]);
        this.push(size, s[Reg.SEG_SEL + Seg.FS]);
        this.push(size, s[Reg.SEG_SEL + Seg.DS]);
        this.push(size, s[Reg.SEG_SEL + Seg.ES]);
      }
      const f = this.frame;
      f[0] = oldSs; f[1] = oldEsp; f[2] = flags; f[3] = s[Reg.SEG_SEL + Seg.CS]; f[4] = returnEip; f[5] = error;
      this.pushFrame(size, hasError ? 6 : 5);
      if (fromV86) {
        for (const seg of [Seg.GS, Seg.FS, Seg.DS, Seg.ES]) this.setSegment(seg, 0, 0, 0, 0x10000);
      }
      this.loadCs(targetSel, d, newCpl);
    } else {
      if (fromV86) raiseFault(s, Vector.GP, selErr, true);
      if ((targetEip >>> 0) > (d.limit >>> 0)) raiseFault(s, Vector.GP, 0, true);
      const oldEsp = s[Reg.ESP];
      try {
        const f = this.frame;
        f[0] = flags; f[1] = s[Reg.SEG_SEL + Seg.CS]; f[2] = returnEip; f[3] = error;
        this.pushFrame(size, hasError ? 4 : 3);
      } catch (e) {
        s[Reg.ESP] = oldEsp;
        throw e;
      }
      this.loadCs(targetSel, d, cpl);
    }
    s[Reg.EIP] = targetEip;
    // SDM 3A 6.12.1.3: TF, VM, RF and NT are cleared; an interrupt gate also clears IF.
    let f = flags & ~(Flag.TF | Flag.VM | Flag.RF | Flag.NT);
    if (isInterrupt) f &= ~Flag.IF;
    // No syncMode() here: loadCs() made one after the last change to CPL or CS, and the
    // mirrors it derives do not depend on EFLAGS.
    this.setEflags(f);
  }

  /**
   * What stackFromTss() read: overwritten by each call, read at once by its caller, never
   * across instructions (so not part of the flat state). One object, not one per event.
   */
  private readonly tssStack = { ss: 0, esp: 0 };

  /**
   * SS:ESP for ring `dpl` from the current TSS (SDM 3A 7.2.1, figures 7-2 and 7-11), in
   * one object reused by every call: read its fields before calling again.
   */
  stackFromTss(dpl: number, ext: number): { readonly ss: number; readonly esp: number } {
    const s = this.s;
    const tss32 = (s[Reg.TR_ATTR] & 0x8) !== 0;
    const trErr = (s[Reg.TR_SEL] & 0xfffc) + ext;
    const at = tss32 ? dpl * 8 + 4 : dpl * 4 + 2;
    const width = tss32 ? 8 : 4;
    if (at + width - 1 > (s[Reg.TR_LIMIT] >>> 0)) raiseFault(s, Vector.TS, trErr, true);
    const base = s[Reg.TR_BASE], out = this.tssStack;
    // ESP, then SS: the order of the two reads decides which one a #PF reports.
    if (tss32) { out.esp = this.sysReadPair((base + at) | 0, 2); out.ss = this.pairHigh; }
    else { out.esp = this.sysRead16((base + at) | 0); out.ss = this.sysRead16((base + at + 2) | 0); }
    return out;
  }

  /** The checks on a stack segment taken from the TSS: faults are #TS (SDM 3A 6.12.1.1). */
  checkTssStack(ss: number, cpl: number, out: import("./segments.js").Descriptor, ext: number): void {
    const s = this.s;
    const err = (ss & 0xfffc) + ext;
    if ((ss & 0xfffc) === 0) raiseFault(s, Vector.TS, ext, true);
    this.readDescriptor(ss, out, Vector.TS);
    if ((ss & 3) !== cpl || out.dpl !== cpl || !out.writable) raiseFault(s, Vector.TS, err, true);
    if (!out.present) raiseFault(s, Vector.SS, err, true);
  }

  /** Real-address mode: push FLAGS, CS, IP and jump through the IVT (SDM 3A 20.1.4). */
  private deliverReal(vector: number, returnEip: number): void {
    const s = this.s;
    if (vector * 4 + 3 > (s[Reg.IDTR_LIMIT] >>> 0)) raiseFault(s, Vector.GP, 0, true);
    const entry = (s[Reg.IDTR_BASE] + vector * 4) | 0;
    const ip = this.rd16(entry), cs = this.rd16(entry + 2);
    const flags = this.getEflags();
    this.push(2, flags);
    this.push(2, s[Reg.SEG_SEL + Seg.CS]);
    this.push(2, returnEip);
    this.setEflags(flags & ~(Flag.IF | Flag.TF | Flag.AC | Flag.RF));
    this.loadRealSegment(Seg.CS, cs);
    s[Reg.EIP] = ip;
  }

  /** A task gate in the IDT: switch to the TSS it names (system.ts, with the task switch). */
  protected abstract taskGate(sel: number, error: number, hasError: boolean, returnEip: number, ext: number): void;
}

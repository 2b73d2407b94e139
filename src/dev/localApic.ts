// The local APIC of the one CPU, in xAPIC mode: a 4 KiB register page at 0xFEE00000
// (Intel SDM Vol. 3A chapter 11, "Advanced Programmable Interrupt Controller"). Modelled:
// ID, version, TPR/APR/PPR, EOI (broadcast to the I/O APIC for level-triggered vectors),
// LDR/DFR, SVR, the 256-bit ISR/TMR/IRR, ESR, the ICR (interrupts to itself), the LVT and
// the timer, counted in ticks of its input clock (the profile's APIC timer clock, derived
// from the cycle count: DESIGN.md invariant 5). Nothing here runs per instruction.

import type { MmioDevice } from "./mmioBus.js";
import { DeviceUnsupported } from "./portBus.js";
import type { ApicBaseMsr } from "../cpu/system.js";

/** The architectural base of the register page (SDM 3A 11.4.1). */
export const LAPIC_BASE = 0xfee00000;
/**
 * Version register: version 0x14 (an integrated xAPIC, SDM 3A 11.4.8: 1XH) with Max LVT
 * Entry 5 (six LVT entries: timer, thermal, performance counters, LINT0, LINT1, error, as on
 * Pentium 4, Xeon and Core 2). QEMU's xAPIC reports the same 0x00050014.
 */
export const LAPIC_VERSION = 0x00050014;

/** Register offsets in the page (SDM 3A table 11-1). */
export const enum ApicReg {
  ID = 0x20, VERSION = 0x30, TPR = 0x80, APR = 0x90, PPR = 0xa0, EOI = 0xb0, RRD = 0xc0,
  LDR = 0xd0, DFR = 0xe0, SVR = 0xf0, ISR = 0x100, TMR = 0x180, IRR = 0x200, ESR = 0x280,
  ICR_LOW = 0x300, ICR_HIGH = 0x310, LVT_TIMER = 0x320, LVT_THERMAL = 0x330, LVT_PERF = 0x340,
  LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370, TIMER_INITIAL = 0x380,
  TIMER_CURRENT = 0x390, TIMER_DIVIDE = 0x3e0,
}

/** LVT index of each entry, in register order from 0x320. */
const enum Lvt { TIMER = 0, THERMAL = 1, PERF = 2, LINT0 = 3, LINT1 = 4, ERROR = 5 }

/** ESR bits (SDM 3A figure 11-9). */
export const enum Esr { SEND_ILLEGAL_VECTOR = 0x20, RECEIVE_ILLEGAL_VECTOR = 0x40, ILLEGAL_REGISTER = 0x80 }

const LVT_MASKED = 0x10000;
/** Writable bits of each LVT entry (SDM 3A figure 11-8); delivery status and remote IRR are read-only. */
const LVT_WRITABLE = [0x300ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff];
/** Delivery modes (SDM 3A 11.5.1, 11.6.1). */
const enum Mode { FIXED = 0, LOWEST = 1, SMI = 2, NMI = 4, INIT = 5, STARTUP = 6, EXTINT = 7 }

export class LocalApic implements MmioDevice, ApicBaseMsr {
  readonly name = "local APIC";
  id = 0;
  tpr = 0;
  ldr = 0;
  dfr = -1;
  svr = 0xff;
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  readonly irr = new Uint32Array(8);
  /** Errors seen since the last ESR write, and the ESR value that write latched (SDM 3A 11.5.3). */
  private esrInternal = 0;
  private esrLatched = 0;
  icrLow = 0;
  icrHigh = 0;
  readonly lvt = [LVT_MASKED, LVT_MASKED, LVT_MASKED, LVT_MASKED, LVT_MASKED, LVT_MASKED];
  /** IA32_APIC_BASE bit 11: when clear the APIC is gone (SDM 3A 11.4.3). */
  globallyEnabled = true;

  // Timer (SDM 3A 11.5.4). Times are ticks of the input clock, before the divider.
  private initialCount = 0;
  private divideConfig = 0;
  private divide = 2;
  /** Tick at which the count was `startCount`; -1 when stopped. */
  private armedAt = -1;
  private startCount = 0;
  /** The last tick whose expiries have been delivered. */
  private serviced = 0;

  /** Receives the vector of each EOI of a level-triggered interrupt (to the I/O APIC). */
  onEoiBroadcast: ((vector: number) => void) | null = null;
  /** Called when an interrupt may have become deliverable or the timer was reprogrammed. */
  onChange: (() => void) | null = null;
  /** An ExtINT message from the I/O APIC waits for the CPU's INTA to the 8259. */
  extIntPending = false;
  /** Called for an NMI message (an NMI IPI to itself, an I/O APIC entry in NMI mode). */
  onNmi: (() => void) | null = null;

  /** `now()` is the current tick of the timer's input clock. */
  constructor(private readonly now: () => number) {}

  /** Power-up and RESET state (SDM 3A 11.4.7.1). */
  reset(): void {
    this.id = 0; this.tpr = 0; this.ldr = 0; this.dfr = -1; this.svr = 0xff;
    this.isr.fill(0); this.tmr.fill(0); this.irr.fill(0);
    this.esrInternal = 0; this.esrLatched = 0; this.icrLow = 0; this.icrHigh = 0;
    this.lvt.fill(LVT_MASKED);
    this.initialCount = 0; this.divideConfig = 0; this.divide = 2; this.armedAt = -1; this.startCount = 0;
    this.serviced = this.now();
    this.extIntPending = false;
  }

  get softwareEnabled(): boolean { return (this.svr & 0x100) !== 0; }

  // --- Priorities (SDM 3A 11.8.3.1) ----------------------------------------------------------

  /** Highest set vector of a 256-bit register, or -1. */
  private static highest(r: Uint32Array): number {
    for (let i = 7; i >= 0; i--) if (r[i] !== 0) return i * 32 + 31 - Math.clz32(r[i]);
    return -1;
  }

  get ppr(): number {
    const isrv = Math.max(LocalApic.highest(this.isr), 0);
    return (this.tpr >> 4) >= (isrv >> 4) ? this.tpr : isrv & 0xf0;
  }

  get apr(): number {
    const isrv = Math.max(LocalApic.highest(this.isr), 0), irrv = Math.max(LocalApic.highest(this.irr), 0);
    const t = this.tpr >> 4;
    if (t >= irrv >> 4 && t > isrv >> 4) return this.tpr;
    return Math.max(t, isrv >> 4, irrv >> 4) << 4;
  }

  /** The vector the APIC would present now: the highest IRR whose class is above PPR, or -1. */
  deliverable(): number {
    if (!this.globallyEnabled || !this.softwareEnabled) return -1;
    const v = LocalApic.highest(this.irr);
    return v >= 0 && (v >> 4) > (this.ppr >> 4) ? v : -1;
  }

  /** LINT0 programmed unmasked ExtINT: the 8259's INTR reaches the CPU (MP spec 3.6.2.2 virtual wire). */
  get lint0ExtInt(): boolean {
    const l = this.lvt[Lvt.LINT0];
    return (l & LVT_MASKED) === 0 && ((l >> 8) & 7) === Mode.EXTINT;
  }

  /**
   * INTA: moves the vector from IRR to ISR and returns it. If the request is no longer
   * above PPR (TPR raised since it was offered), the spurious vector comes back and ISR is
   * untouched (SDM 3A 11.9).
   */
  acknowledge(): number {
    const v = this.deliverable();
    if (v < 0) return this.svr & 0xff;
    this.irr[v >> 5] &= ~(1 << (v & 31));
    this.isr[v >> 5] |= 1 << (v & 31);
    return v;
  }

  /**
   * A fixed interrupt arrives (from the LVT, the ICR or the I/O APIC): IRR, and TMR for its
   * trigger mode (SDM 3A 11.8.4). Vectors 0-15 are refused with an error (SDM 3A 11.5.2).
   */
  accept(vector: number, level: boolean): void {
    if (!this.globallyEnabled || !this.softwareEnabled) return; // SDM 3A 11.4.7.2: fixed interrupts are not accepted
    if (vector < 16) { this.error(Esr.RECEIVE_ILLEGAL_VECTOR); return; }
    const w = vector >> 5, bit = 1 << (vector & 31);
    this.irr[w] |= bit;
    if (level) this.tmr[w] |= bit; else this.tmr[w] &= ~bit;
    if (this.onChange) this.onChange();
  }

  /** An error condition: recorded for the next ESR write, and the LVT error entry fires (SDM 3A 11.5.3). */
  private error(bit: number): void {
    const fresh = (this.esrInternal & bit) === 0;
    this.esrInternal |= bit;
    const l = this.lvt[Lvt.ERROR];
    // Only a new error fires it, so an illegal vector in the error entry itself cannot loop.
    if (fresh && (l & LVT_MASKED) === 0) this.accept(l & 0xff, false);
  }

  private eoi(): void {
    const v = LocalApic.highest(this.isr);
    if (v < 0) return;
    const w = v >> 5, bit = 1 << (v & 31);
    this.isr[w] &= ~bit;
    // SDM 3A 11.8.5: the EOI of a level-triggered vector is broadcast to the I/O APICs.
    if ((this.tmr[w] & bit) !== 0 && this.onEoiBroadcast) this.onEoiBroadcast(v);
    if (this.onChange) this.onChange();
  }

  /** True when a message for `dest` in the given destination mode reaches this APIC (SDM 3A 11.6.2). */
  matchesDestination(dest: number, logical: boolean): boolean {
    if (!logical) return dest === this.id || dest === 0xff;
    const mine = this.ldr >>> 24;
    if (dest === 0xff) return true;
    if (((this.dfr >>> 28) & 0xf) === 0xf) return (mine & dest) !== 0; // flat model
    return (mine >> 4) === (dest >> 4) && (mine & dest & 0xf) !== 0; // cluster model
  }

  /**
   * A message from the I/O APIC. Fixed and lowest priority become IRR bits (with one CPU the
   * lowest-priority arbitration has one candidate); ExtINT asks the CPU to run INTA on the 8259.
   */
  receive(vector: number, mode: number, level: boolean): void {
    if (mode === Mode.EXTINT) { this.extIntPending = true; if (this.onChange) this.onChange(); return; }
    if (mode === Mode.NMI) { if (this.onNmi) this.onNmi(); return; } // the vector is ignored (SDM 3A 11.6.1)
    this.accept(vector, level);
  }

  // --- ICR (SDM 3A 11.6.1) ---------------------------------------------------------------------

  private sendIpi(): void {
    const low = this.icrLow, vector = low & 0xff, mode = (low >> 8) & 7;
    const shorthand = (low >> 18) & 3;
    let toSelf: boolean;
    switch (shorthand) {
      case 1: case 2: toSelf = true; break; // self; all including self
      case 3: toSelf = false; break; // all excluding self: there is no other processor
      default: toSelf = this.matchesDestination(this.icrHigh >>> 24, (low & 0x800) !== 0);
    }
    if (mode === Mode.FIXED || mode === Mode.LOWEST) {
      if (vector < 16) { this.error(Esr.SEND_ILLEGAL_VECTOR); return; }
      if (toSelf) this.accept(vector, false); // an IPI is edge-triggered as received
      return;
    }
    // INIT level de-assert is a synchronisation message with no effect on an xAPIC (SDM 3A 11.6.1).
    if (mode === Mode.INIT && (low & 0xc000) === 0x8000) return;
    if (!toSelf) return; // nobody else on the bus
    if (mode === Mode.NMI) { if (this.onNmi) this.onNmi(); return; }
    throw new DeviceUnsupported(`local APIC: IPI with delivery mode ${mode} to itself (SMI, INIT and start-up are not modelled)`);
  }

  // --- Timer (SDM 3A 11.5.4) -------------------------------------------------------------------

  private get periodic(): boolean { return (this.lvt[Lvt.TIMER] & 0x20000) !== 0; }

  /** Divided ticks since `armedAt`. */
  private elapsed(now: number): number { return Math.floor((now - this.armedAt) / this.divide); }

  /** The current-count register at tick `now`. */
  currentCount(now = this.now()): number {
    if (this.armedAt < 0) return 0;
    const e = this.elapsed(now);
    if (e < this.startCount) return this.startCount - e;
    if (!this.periodic) return 0;
    return this.initialCount - ((e - this.startCount) % this.initialCount);
  }

  /** Expiries (count reaching 0) in divided ticks e with from < e <= to, and the next one after `to`. */
  private expiries(fromTick: number, toTick: number): { count: number; next: number } {
    if (this.armedAt < 0 || this.initialCount === 0) return { count: 0, next: Infinity };
    const first = this.armedAt + this.startCount * this.divide;
    const period = this.initialCount * this.divide;
    if (!this.periodic) {
      return { count: first > fromTick && first <= toTick ? 1 : 0, next: first > toTick ? first : Infinity };
    }
    // Expiries at first + k * period, k >= 0.
    const upTo = (t: number) => (t < first ? 0 : Math.floor((t - first) / period) + 1);
    const count = upTo(toTick) - upTo(fromTick);
    return { count, next: first + upTo(toTick) * period };
  }

  /** Delivers the timer's expiries up to now: one interrupt however many passed (it is edge-triggered). */
  service(): void {
    const now = this.now();
    if (now <= this.serviced) return;
    const { count } = this.expiries(this.serviced, now);
    this.serviced = now;
    if (count > 0 && (this.lvt[Lvt.TIMER] & LVT_MASKED) === 0) this.accept(this.lvt[Lvt.TIMER] & 0xff, false);
  }

  /** The input-clock tick of the timer's next interrupt, or Infinity (stopped or masked). */
  nextInterruptTick(): number {
    if (!this.globallyEnabled || (this.lvt[Lvt.TIMER] & LVT_MASKED) !== 0) return Infinity;
    return this.expiries(this.serviced, this.serviced).next;
  }

  /** Starts counting down from `count` now (SDM: a write of the initial count starts the timer; 0 stops it). */
  private arm(count: number, now: number): void {
    this.service();
    this.serviced = now;
    this.startCount = count;
    this.armedAt = count === 0 ? -1 : now;
  }

  // --- Register access -------------------------------------------------------------------------

  read(offset: number, size: number): number {
    if (!this.globallyEnabled) return size === 4 ? -1 : (1 << (size * 8)) - 1;
    // SDM 3A 11.4.1: registers are 32 bits at 16-byte boundaries; a narrower load reads a part.
    const value = this.readRegister(offset & 0xff0);
    return (value >>> ((offset & 3) * 8)) & (size === 4 ? -1 : (1 << (size * 8)) - 1);
  }

  private readRegister(reg: number): number {
    if (reg >= ApicReg.ISR && reg < ApicReg.ESR) {
      const block = reg < ApicReg.TMR ? this.isr : reg < ApicReg.IRR ? this.tmr : this.irr;
      return block[((reg - ApicReg.ISR) >> 4) & 7] | 0;
    }
    if (reg >= ApicReg.LVT_TIMER && reg <= ApicReg.LVT_ERROR) return this.lvt[(reg - ApicReg.LVT_TIMER) >> 4];
    switch (reg) {
      case ApicReg.ID: return this.id << 24;
      case ApicReg.VERSION: return LAPIC_VERSION;
      case ApicReg.TPR: return this.tpr;
      case ApicReg.APR: return this.apr;
      case ApicReg.PPR: return this.ppr;
      case ApicReg.LDR: return this.ldr;
      case ApicReg.DFR: return this.dfr | 0x0fffffff;
      case ApicReg.SVR: return this.svr;
      case ApicReg.ESR: return this.esrLatched;
      case ApicReg.ICR_LOW: return this.icrLow & ~0x1000; // delivery status: always idle, delivery is immediate
      case ApicReg.ICR_HIGH: return this.icrHigh;
      case ApicReg.TIMER_INITIAL: return this.initialCount;
      case ApicReg.TIMER_CURRENT: return this.currentCount();
      case ApicReg.TIMER_DIVIDE: return this.divideConfig;
      case ApicReg.EOI: case ApicReg.RRD: return 0; // EOI is write-only; remote read is not on an xAPIC
      default:
        this.error(Esr.ILLEGAL_REGISTER);
        return 0;
    }
  }

  write(offset: number, size: number, value: number): void {
    if (!this.globallyEnabled) return;
    // Narrow or misaligned stores are model specific (SDM 3A 11.4.1); this model ignores them.
    if (size !== 4 || (offset & 0xf) !== 0) return;
    const reg = offset & 0xff0;
    if (reg >= ApicReg.LVT_TIMER && reg <= ApicReg.LVT_ERROR) { this.writeLvt((reg - ApicReg.LVT_TIMER) >> 4, value); return; }
    switch (reg) {
      case ApicReg.ID: this.id = value >>> 24; return;
      case ApicReg.TPR: this.tpr = value & 0xff; break;
      case ApicReg.EOI: this.eoi(); return;
      case ApicReg.LDR: this.ldr = value & 0xff000000; return;
      case ApicReg.DFR: this.dfr = value | 0x0fffffff; return;
      case ApicReg.SVR: this.writeSvr(value); break;
      case ApicReg.ESR: this.esrLatched = this.esrInternal; this.esrInternal = 0; return;
      case ApicReg.ICR_LOW: this.icrLow = value & 0x000ccfff; this.sendIpi(); return;
      case ApicReg.ICR_HIGH: this.icrHigh = value & 0xff000000; return;
      case ApicReg.TIMER_INITIAL: {
        this.initialCount = value >>> 0;
        this.arm(this.initialCount, this.now());
        break;
      }
      case ApicReg.TIMER_DIVIDE: {
        // Divide by 2^(((bit 3 << 2) | bits 1:0) + 1), 111b = by 1 (SDM 3A figure 11-10).
        const now = this.now(), count = this.currentCount(now);
        this.divideConfig = value & 0xb;
        const code = ((value >> 1) & 4) | (value & 3);
        this.divide = code === 7 ? 1 : 2 << code;
        if (this.armedAt >= 0) this.arm(count, now); // keeps counting from where it is, at the new rate
        break;
      }
      case ApicReg.VERSION: case ApicReg.APR: case ApicReg.PPR: case ApicReg.RRD: case ApicReg.TIMER_CURRENT:
      case ApicReg.ISR: case ApicReg.TMR: case ApicReg.IRR:
        return; // read-only
      default:
        if (reg > ApicReg.ISR && reg < ApicReg.ESR) return; // the rest of ISR/TMR/IRR: read-only
        this.error(Esr.ILLEGAL_REGISTER);
        return;
    }
    if (this.onChange) this.onChange();
  }

  private writeSvr(value: number): void {
    // Bits 0-7 vector, 8 APIC software enable, 9 focus processor checking (SDM 3A figure 11-23).
    this.svr = value & 0x3ff;
    // SDM 3A 11.4.7.2: software disable masks every LVT entry.
    if (!this.softwareEnabled) for (let i = 0; i < 6; i++) this.lvt[i] |= LVT_MASKED;
  }

  private writeLvt(i: number, value: number): void {
    // Expiries before this write are delivered (or dropped, if masked) under the old entry.
    if (i === Lvt.TIMER) this.service();
    let v = value & LVT_WRITABLE[i];
    if (!this.softwareEnabled) v |= LVT_MASKED; // the mask cannot be cleared while software-disabled
    this.lvt[i] = v | (this.lvt[i] & 0x4000 & ~LVT_WRITABLE[i]);
    if (this.onChange) this.onChange();
  }

  /** IA32_APIC_BASE (SDM 3A figure 11-5): base 0xFEE00000, BSP (bit 8), global enable (bit 11). */
  readMsr(): number {
    return (LAPIC_BASE | 0x100 | (this.globallyEnabled ? 0x800 : 0)) | 0;
  }

  /** WRMSR IA32_APIC_BASE; false for reserved bits (0-7, 9, 10: x2APIC is not supported). */
  writeMsr(low: number): boolean {
    if ((low & 0x6ff) !== 0) return false;
    if ((low & 0xfffff000) !== (LAPIC_BASE | 0)) {
      throw new DeviceUnsupported(`local APIC: relocation to 0x${((low & 0xfffff000) >>> 0).toString(16)} (only the default base 0xfee00000 is modelled)`);
    }
    this.setGloballyEnabled((low & 0x800) !== 0);
    return true;
  }

  /** IA32_APIC_BASE bit 11 cleared: the APIC is disabled until set again, then in its reset state (SDM 3A 11.4.3). */
  setGloballyEnabled(on: boolean): void {
    if (on === this.globallyEnabled) return;
    this.globallyEnabled = on;
    if (on) this.reset();
    if (this.onChange) this.onChange();
  }
}

// What the CPU's INTR/INTA sees on a PC with a local APIC: the local APIC's vectors, or the
// 8259 pair's ExtINT. The 8259's INTR reaches the CPU while the local APIC is globally or
// software disabled, or when LINT0 is programmed unmasked ExtINT (virtual wire mode, MP
// spec 1.4 3.6.2.2); the I/O APIC can also send ExtINT (virtual wire through the I/O APIC).
// ExtINT bypasses the APIC's priority scheme and is not held in IRR (SDM 3A 11.5.1).

import type { InterruptSource } from "../cpu/cpu.js";
import type { PicPair } from "./pic8259.js";
import type { LocalApic } from "./localApic.js";

export class InterruptRouter implements InterruptSource {
  constructor(private readonly pic: PicPair, private readonly lapic: LocalApic) {}

  /** True when the 8259's INTR output is wired through to the CPU now. */
  picPassesThrough(): boolean {
    const a = this.lapic;
    return !a.globallyEnabled || !a.softwareEnabled || a.lint0ExtInt;
  }

  pending(): boolean {
    if (this.lapic.extIntPending) return true;
    if (this.picPassesThrough() && this.pic.pending()) return true;
    return this.lapic.deliverable() >= 0;
  }

  acknowledge(): number {
    if (this.lapic.extIntPending) {
      this.lapic.extIntPending = false;
      return this.pic.acknowledge();
    }
    if (this.picPassesThrough() && this.pic.pending()) return this.pic.acknowledge();
    return this.lapic.acknowledge();
  }
}

// The PC's two cascaded 8259A programmable interrupt controllers: master at 0x20-0x21
// (IRQ 0-7), slave at 0xA0-0xA1 (IRQ 8-15) on the master's IR2. Behaviour from the Intel
// 8259A datasheet (ICW1-ICW4, OCW1-OCW3, priority rotation, automatic EOI, poll).

import { PortDevice } from "./portBus.js";

/** One 8259A. Bit n of each register is input IRn. */
export class Pic8259 {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Input levels last seen, for edge detection. */
  private lines = 0;
  vectorBase = 0;
  /** IR number with the highest priority (datasheet: "lowest priority" + 1). */
  private highest = 0;
  private autoEoi = false;
  private rotateOnAutoEoi = false;
  private levelTriggered = false;
  private specialMask = false;
  private readIsr = false;
  private poll = false;
  /** Which initialization word comes next on the odd port (0: none, 2-4: ICW2-ICW4). */
  private initStep = 0;
  private single = false;
  private needIcw4 = false;

  constructor(readonly name: string) {}

  /** Drives input IRn: an edge-triggered chip latches a rising edge in IRR. */
  setLine(n: number, level: boolean): void {
    const bit = 1 << n;
    if (this.levelTriggered) {
      if (level) this.irr |= bit; else this.irr &= ~bit;
    } else if (level && (this.lines & bit) === 0) {
      this.irr |= bit;
    }
    this.lines = level ? this.lines | bit : this.lines & ~bit;
  }

  /** Priority rank of the best bit of `mask` (0 = highest), 8 when none is set. */
  private rank(mask: number): number {
    for (let i = 0; i < 8; i++) if ((mask >> ((this.highest + i) & 7)) & 1) return i;
    return 8;
  }

  /** The IR the chip would have acknowledged now, or -1 (datasheet: priority resolver). */
  request(): number {
    const r = this.rank(this.irr & ~this.imr);
    if (r === 8) return -1;
    // In special mask mode, in-service levels do not block lower ones (datasheet OCW3).
    const inService = this.specialMask ? this.isr & ~this.imr : this.isr;
    return r < this.rank(inService) ? (this.highest + r) & 7 : -1;
  }

  /** INTA for `ir`: IRR -> ISR, or straight through with automatic EOI. */
  acknowledge(ir: number): void {
    const bit = 1 << ir;
    if (!this.levelTriggered) this.irr &= ~bit;
    if (!this.autoEoi) this.isr |= bit;
    else if (this.rotateOnAutoEoi) this.highest = (ir + 1) & 7;
  }

  read(odd: boolean): number {
    if (odd) return this.imr;
    if (this.poll) {
      // Poll command (OCW3 P=1): the next read acknowledges and returns 0x80 | level.
      this.poll = false;
      const ir = this.request();
      if (ir < 0) return 0;
      this.acknowledge(ir);
      return 0x80 | ir;
    }
    return this.readIsr ? this.isr : this.irr;
  }

  write(odd: boolean, v: number): void {
    if (!odd && (v & 0x10) !== 0) {
      // ICW1: start initialization. IMR and ISR clear, IR7 lowest, read IRR.
      this.needIcw4 = (v & 1) !== 0;
      this.single = (v & 2) !== 0;
      this.levelTriggered = (v & 8) !== 0;
      this.imr = 0; this.isr = 0; this.irr = 0; this.lines = 0;
      this.highest = 0; this.autoEoi = false; this.rotateOnAutoEoi = false;
      this.specialMask = false; this.readIsr = false; this.poll = false;
      this.initStep = 2;
      return;
    }
    if (odd && this.initStep !== 0) {
      if (this.initStep === 2) {
        this.vectorBase = v & 0xf8; // ICW2: T7-T3 (x86 mode)
        this.initStep = !this.single ? 3 : this.needIcw4 ? 4 : 0;
      } else if (this.initStep === 3) {
        this.initStep = this.needIcw4 ? 4 : 0; // ICW3: the cascade wiring is fixed on a PC
      } else {
        this.autoEoi = (v & 2) !== 0; // ICW4: AEOI; uPM (bit 0) is assumed set on a PC
        this.initStep = 0;
      }
      return;
    }
    if (odd) { this.imr = v & 0xff; return; } // OCW1
    if ((v & 0x08) === 0) this.command(v); // OCW2
    else {
      // OCW3: read register select, poll, special mask mode.
      if ((v & 2) !== 0) this.readIsr = (v & 1) !== 0;
      this.poll = (v & 4) !== 0;
      if ((v & 0x40) !== 0) this.specialMask = (v & 0x20) !== 0;
    }
  }

  /** OCW2: EOI and rotation commands (datasheet table "Operation Command Word 2"). */
  private command(v: number): void {
    const level = v & 7;
    switch (v >> 5) {
      case 1: case 5: { // non-specific EOI (5: and rotate)
        const r = this.rank(this.isr);
        if (r === 8) return;
        const ir = (this.highest + r) & 7;
        this.isr &= ~(1 << ir);
        if (v >> 5 === 5) this.highest = (ir + 1) & 7;
        return;
      }
      case 3: this.isr &= ~(1 << level); return; // specific EOI
      case 7: this.isr &= ~(1 << level); this.highest = (level + 1) & 7; return; // rotate on specific EOI
      case 6: this.highest = (level + 1) & 7; return; // set priority
      case 4: this.rotateOnAutoEoi = true; return;
      case 0: this.rotateOnAutoEoi = false; return;
      default: return; // 2: no operation
    }
  }
}

/** Master and slave as wired in a PC/AT, with the interface the CPU asks for interrupts. */
export class PicPair implements PortDevice {
  readonly name = "8259A PIC pair";
  readonly master = new Pic8259("master");
  readonly slave = new Pic8259("slave");

  /** Drives IRQ `n` (0-15). */
  setIrq(n: number, level: boolean): void {
    if (n < 8) this.master.setLine(n, level); else this.slave.setLine(n - 8, level);
    this.cascade();
  }

  /** A rising then falling edge on IRQ `n` (how the PIT's output reaches an edge-triggered input). */
  pulseIrq(n: number): void {
    this.setIrq(n, true);
    this.setIrq(n, false);
  }

  /** The slave's INT output drives the master's IR2. */
  private cascade(): void {
    this.master.setLine(2, this.slave.request() >= 0);
  }

  /** True when the master asserts INTR. */
  pending(): boolean {
    return this.master.request() >= 0;
  }

  /**
   * The two INTA cycles: returns the vector and updates IRR/ISR. With no request left the
   * chip answers IR7 without setting ISR (the datasheet's spurious interrupt).
   */
  acknowledge(): number {
    const ir = this.master.request();
    let vector: number;
    if (ir < 0) {
      vector = this.master.vectorBase + 7;
    } else {
      this.master.acknowledge(ir);
      if (ir === 2) {
        const sir = this.slave.request();
        if (sir >= 0) { this.slave.acknowledge(sir); vector = this.slave.vectorBase + sir; }
        else vector = this.slave.vectorBase + 7;
      } else {
        vector = this.master.vectorBase + ir;
      }
    }
    this.cascade();
    return vector;
  }

  read(port: number): number {
    const chip = (port & 0x80) !== 0 ? this.slave : this.master;
    return chip.read((port & 1) !== 0);
  }

  write(port: number, _size: number, value: number): void {
    const chip = (port & 0x80) !== 0 ? this.slave : this.master;
    chip.write((port & 1) !== 0, value & 0xff);
    this.cascade();
  }
}

// The I/O APIC at 0xFEC00000 (Intel 82093AA I/O Advanced Programmable Interrupt Controller
// datasheet, May 1996): IOREGSEL at offset 0x00 selects a register, IOWIN at 0x10 reads or
// writes it. 24 interrupt input pins, each with a 64-bit redirection table entry; the
// messages go to the one local APIC.

import type { MmioDevice } from "./mmioBus.js";
import { DeviceUnsupported } from "./portBus.js";
import type { LocalApic } from "./localApic.js";

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_PINS = 24;
/** IOAPICVER: version 0x11, maximum redirection entry 23 (datasheet 3.2.2). */
export const IOAPIC_VERSION = 0x00170011;

/** Redirection entry bits (datasheet 3.2.4). */
const enum Rte {
  DELIVERY_SHIFT = 8, LOGICAL = 0x800, DELIVERY_STATUS = 0x1000, ACTIVE_LOW = 0x2000,
  REMOTE_IRR = 0x4000, LEVEL = 0x8000, MASKED = 0x10000,
}
/** Bits software may write in the low dword: all but delivery status and remote IRR. */
const RTE_LOW_WRITABLE = 0x1afff;

export class IoApic implements MmioDevice {
  readonly name = "I/O APIC";
  id = 0;
  private select = 0;
  /** Low and high dword of each redirection entry. */
  readonly low = new Uint32Array(IOAPIC_PINS);
  readonly high = new Uint32Array(IOAPIC_PINS);
  /** The level on each input pin as driven (before the polarity bit). */
  private readonly lines = new Uint8Array(IOAPIC_PINS);

  constructor(private readonly lapic: LocalApic) {
    this.reset();
  }

  /** RESET: every entry masked (datasheet 3.2.4: mask bit set at reset), ID 0. */
  reset(): void {
    this.id = 0;
    this.select = 0;
    this.low.fill(Rte.MASKED);
    this.high.fill(0);
    this.lines.fill(0);
  }

  /** True when the pin's input is asserted under its polarity. */
  private asserted(pin: number): boolean {
    return (this.lines[pin] !== 0) !== ((this.low[pin] & Rte.ACTIVE_LOW) !== 0);
  }

  /** Drives input pin `pin` to `level` (the wire's electrical level, active high on ISA). */
  setPin(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const was = this.asserted(pin);
    this.lines[pin] = level ? 1 : 0;
    const now = this.asserted(pin);
    const e = this.low[pin];
    if ((e & Rte.LEVEL) !== 0) { if (now) this.deliver(pin); return; }
    // Edge-triggered: an edge on a masked pin is discarded, not held (datasheet 3.2.4, bit 16).
    if (now && !was) this.deliver(pin);
  }

  /**
   * Sends the pin's interrupt message if it may: unmasked, and for level-triggered pins only
   * while remote IRR is clear (it is set when the local APIC accepts the message and cleared
   * by the EOI for its vector).
   */
  private deliver(pin: number): void {
    const e = this.low[pin];
    if ((e & Rte.MASKED) !== 0) return;
    // NMI messages are edge-triggered whatever the entry says (82093AA 3.2.4, delivery mode 100).
    const level = (e & Rte.LEVEL) !== 0 && ((e >> Rte.DELIVERY_SHIFT) & 7) !== 4;
    if (level && (e & Rte.REMOTE_IRR) !== 0) return;
    const dest = this.high[pin] >>> 24, logical = (e & Rte.LOGICAL) !== 0;
    // Physical mode uses destination bits 59:56 (datasheet 3.2.4); 0xF is broadcast there.
    const reaches = logical ? this.lapic.matchesDestination(dest, true) : (dest & 0xf) === 0xf || (dest & 0xf) === this.lapic.id;
    if (!reaches) return;
    if (level) this.low[pin] |= Rte.REMOTE_IRR;
    this.lapic.receive(e & 0xff, (e >> Rte.DELIVERY_SHIFT) & 7, level);
  }

  /** The local APIC's EOI broadcast for `vector` (SDM 3A 11.8.5): clears remote IRR of matching level entries. */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const e = this.low[pin];
      if ((e & 0xff) !== vector || (e & Rte.REMOTE_IRR) === 0) continue;
      this.low[pin] = e & ~Rte.REMOTE_IRR;
      // A line still asserted interrupts again.
      if ((e & Rte.LEVEL) !== 0 && this.asserted(pin)) this.deliver(pin);
    }
  }

  read(offset: number, size: number): number {
    let v: number;
    if (offset < 4) v = this.select;
    else if (offset >= 0x10 && offset < 0x14) v = this.readRegister(this.select);
    else return 0; // undecoded offsets of the page
    v = (v >>> ((offset & 3) * 8));
    return size === 4 ? v | 0 : v & ((1 << (size * 8)) - 1);
  }

  write(offset: number, size: number, value: number): void {
    if (offset === 0) { this.select = value & 0xff; return; }
    if (offset === 0x10 && size === 4) this.writeRegister(this.select, value >>> 0);
    // Narrow writes to IOWIN and the other offsets are ignored (the datasheet defines 32-bit accesses only).
  }

  private readRegister(r: number): number {
    if (r === 0x00) return this.id << 24;
    if (r === 0x01) return IOAPIC_VERSION;
    if (r === 0x02) return this.id << 24; // IOAPICARB: loaded with the ID (datasheet 3.2.3)
    if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
      const pin = (r - 0x10) >> 1;
      return (r & 1) === 0 ? this.low[pin] : this.high[pin];
    }
    return 0;
  }

  private writeRegister(r: number, v: number): void {
    if (r === 0x00) { this.id = (v >>> 24) & 0xf; return; }
    if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS) return; // version, arbitration: read-only
    const pin = (r - 0x10) >> 1;
    if ((r & 1) === 1) { this.high[pin] = v & 0xff000000; return; }
    const mode = (v >> Rte.DELIVERY_SHIFT) & 7;
    if (mode !== 0 && mode !== 1 && mode !== 4 && mode !== 7) {
      throw new DeviceUnsupported(`I/O APIC pin ${pin}: delivery mode ${mode} (fixed, lowest priority, NMI and ExtINT are modelled; the CPU has no SMI or INIT path)`);
    }
    const old = this.low[pin];
    this.low[pin] = (v & RTE_LOW_WRITABLE) | (old & Rte.REMOTE_IRR);
    // An edge-triggered entry has no remote IRR.
    if ((v & Rte.LEVEL) === 0) this.low[pin] &= ~Rte.REMOTE_IRR;
    // A level-triggered line already asserted interrupts as soon as it is unmasked.
    if ((this.low[pin] & Rte.LEVEL) !== 0 && this.asserted(pin)) this.deliver(pin);
  }
}

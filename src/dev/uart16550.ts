// A 16550A UART as the guest sees it at 0x3F8 (COM1): the registers a polling driver
// uses (THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, and the divisor latch when
// LCR.DLAB is set). Transmission is instant: THR empty and transmitter idle always read
// as set. Interrupts (datasheet "Interrupt Identification Register"): received data
// available and THR empty, through IIR, onto IRQ 4 whatever MCR.OUT2 (see update()).
// Register map: PC16550D datasheet, table "Register summary".

import { PortDevice } from "./portBus.js";

const enum R { DATA = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 }
const LSR_DATA_READY = 0x01, LSR_THR_EMPTY = 0x20, LSR_TX_IDLE = 0x40;
const LCR_DLAB = 0x80;

export class Uart16550 implements PortDevice {
  readonly name = "uart16550";
  /** Receives every byte the guest transmits. */
  onTransmit: ((byte: number) => void) | null = null;
  private ier = 0; private lcr = 0; private mcr = 0; private scr = 0; private fcr = 0;
  private divisor = 12;
  private readonly input: number[] = [];
  /** THR-empty interrupt pending: set when THR empties with ETBEI on, cleared by IIR read or a THR write. */
  private threPending = false;
  transmitted = 0;
  /** Drives the interrupt line (IRQ 4 on COM1). */
  irq: ((level: boolean) => void) | null = null;

  constructor(readonly base = 0x3f8) {}

  /** Queues bytes for the guest to read from RBR. */
  receive(bytes: Iterable<number>): void {
    for (const b of bytes) this.input.push(b & 0xff);
    this.update();
  }

  /** The highest-priority pending interrupt as IIR bits 3-0 (0x1: none). */
  private pendingId(): number {
    if ((this.ier & 1) !== 0 && this.input.length > 0) return 0x4; // received data available
    if ((this.ier & 2) !== 0 && this.threPending) return 0x2; // THR empty
    return 0x1;
  }

  private update(): void {
    // The IBM PC gated INTR with OUT2 (MCR bit 3); QEMU and Bochs, the reference emulators
    // for whole guests, do not, and kernels tested on them (xv6 writes MCR = 0) rely on it.
    if (this.irq) this.irq(this.pendingId() !== 0x1);
  }

  read(port: number, size: number): number {
    void size;
    const v = this.readRegister(port);
    this.update();
    return v;
  }

  private readRegister(port: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (port - this.base) {
      case R.DATA:
        if (dlab) return this.divisor & 0xff;
        return this.input.length > 0 ? (this.input.shift() as number) : 0;
      case R.IER: return dlab ? (this.divisor >> 8) & 0xff : this.ier;
      case R.IIR_FCR: {
        const id = this.pendingId();
        if (id === 0x2) this.threPending = false; // reading IIR clears a THR-empty interrupt
        return ((this.fcr & 1) !== 0 ? 0xc0 : 0) | id;
      }
      case R.LCR: return this.lcr;
      case R.MCR: return this.mcr;
      case R.LSR: return LSR_THR_EMPTY | LSR_TX_IDLE | (this.input.length > 0 ? LSR_DATA_READY : 0);
      case R.MSR: return (this.mcr & 0x10) !== 0 ? ((this.mcr & 0xf) << 4) : 0xb0; // loopback or CTS/DSR/DCD
      default: return this.scr;
    }
  }

  write(port: number, size: number, value: number): void {
    void size;
    this.writeRegister(port, value & 0xff);
    this.update();
  }

  private writeRegister(port: number, value: number): void {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (port - this.base) {
      case R.DATA:
        if (dlab) { this.divisor = (this.divisor & 0xff00) | value; return; }
        this.transmitted++;
        if (this.onTransmit) this.onTransmit(value);
        this.threPending = true; // sent at once: THR is empty again
        return;
      case R.IER:
        if (dlab) { this.divisor = (this.divisor & 0xff) | (value << 8); return; }
        // Enabling ETBEI with THR already empty raises the interrupt at once (datasheet).
        if ((value & 2) !== 0 && (this.ier & 2) === 0) this.threPending = true;
        this.ier = value & 0x0f;
        return;
      case R.IIR_FCR: this.fcr = value; return;
      case R.LCR: this.lcr = value; return;
      case R.MCR: this.mcr = value & 0x1f; return;
      case R.SCR: this.scr = value; return;
      default: return; // LSR and MSR are read-only
    }
  }
}

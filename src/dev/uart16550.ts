// A 16550A UART as the guest sees it at 0x3F8 (COM1): the registers a polling driver
// uses (THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, and the divisor latch when
// LCR.DLAB is set). Transmission is instant: THR empty and transmitter idle always read
// as set. No interrupts are raised yet (there is no interrupt controller).
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
  transmitted = 0;

  constructor(readonly base = 0x3f8) {}

  /** Queues bytes for the guest to read from RBR. */
  receive(bytes: Iterable<number>): void {
    for (const b of bytes) this.input.push(b & 0xff);
  }

  read(port: number, size: number): number {
    void size;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (port - this.base) {
      case R.DATA:
        if (dlab) return this.divisor & 0xff;
        return this.input.length > 0 ? (this.input.shift() as number) : 0;
      case R.IER: return dlab ? (this.divisor >> 8) & 0xff : this.ier;
      case R.IIR_FCR: return ((this.fcr & 1) !== 0 ? 0xc0 : 0) | 0x01; // no interrupt pending
      case R.LCR: return this.lcr;
      case R.MCR: return this.mcr;
      case R.LSR: return LSR_THR_EMPTY | LSR_TX_IDLE | (this.input.length > 0 ? LSR_DATA_READY : 0);
      case R.MSR: return (this.mcr & 0x10) !== 0 ? ((this.mcr & 0xf) << 4) : 0xb0; // loopback or CTS/DSR/DCD
      default: return this.scr;
    }
  }

  write(port: number, size: number, value: number): void {
    void size;
    value &= 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (port - this.base) {
      case R.DATA:
        if (dlab) { this.divisor = (this.divisor & 0xff00) | value; return; }
        this.transmitted++;
        if (this.onTransmit) this.onTransmit(value);
        return;
      case R.IER:
        if (dlab) this.divisor = (this.divisor & 0xff) | (value << 8); else this.ier = value & 0x0f;
        return;
      case R.IIR_FCR: this.fcr = value; return;
      case R.LCR: this.lcr = value; return;
      case R.MCR: this.mcr = value & 0x1f; return;
      case R.SCR: this.scr = value; return;
      default: return; // LSR and MSR are read-only
    }
  }
}

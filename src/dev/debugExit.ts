// QEMU's isa-debug-exit device (hw/misc/debugexit.c semantics): a write of value V ends
// the run, and the process exits with status (V << 1) | 1. Also port 0x92 (system
// control port A), where the fast A20 gate lives: A20 is always enabled here.

import { PortDevice } from "./portBus.js";

export class DebugExit implements PortDevice {
  readonly name = "isa-debug-exit";
  /** The value written, or null while the guest has not asked to exit. */
  value: number | null = null;
  onExit: ((value: number) => void) | null = null;

  read(): number { return 0xffffffff; }

  write(port: number, size: number, value: number): void {
    void port;
    this.value = size === 4 ? value >>> 0 : value & ((1 << (size * 8)) - 1);
    if (this.onExit) this.onExit(this.value);
  }
}

export class SystemControlPortA implements PortDevice {
  readonly name = "system-control-port-a";
  read(): number { return 0x02; } // bit 1: A20 enabled
  write(): void { /* A20 stays enabled; the reset bit is not modelled */ }
}

// Register accesses per device, for the run report: how many, and the cycles of the first
// and the last. Both buses (ports and MMIO) keep one; a device's active span divided by
// the data it moved is what that I/O path cost (docs/report-schema.md).

export interface DeviceActivity {
  accesses: number;
  /** Cycle counts at the first and the latest access. */
  firstCycle: number;
  lastCycle: number;
}

export class AccessLog<D> {
  readonly byDevice = new Map<D, DeviceActivity>();
  /** The cycle count now (set by the machine; 0 without one). */
  clock: () => number = () => 0;

  record(device: D): void {
    const now = this.clock();
    const a = this.byDevice.get(device);
    if (a === undefined) this.byDevice.set(device, { accesses: 1, firstCycle: now, lastCycle: now });
    else { a.accesses++; a.lastCycle = now; }
  }

  accesses(device: D): number {
    return this.byDevice.get(device)?.accesses ?? 0;
  }
}

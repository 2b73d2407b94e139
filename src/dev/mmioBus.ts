// Guest-physical addresses beyond RAM: devices claim windows (a virtio-mmio transport, a
// local APIC page...) and receive the accesses that fall in them. Unclaimed addresses read
// as all ones and ignore writes, like a bus with nothing driving it.

import { PhysicalBus } from "../core/memory.js";
import { AccessLog } from "./accessLog.js";

export interface MmioDevice {
  readonly name: string;
  /** `offset` is relative to the start of the device's window; size is 1, 2 or 4. */
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

interface Window { base: number; end: number; device: MmioDevice }

export class MmioBus implements PhysicalBus {
  private readonly windows: Window[] = [];
  /** Accesses (each load or store beyond RAM), those that hit no device, and those per device, for reports. */
  accesses = 0;
  unclaimedAccesses = 0;
  readonly log = new AccessLog<MmioDevice>();

  constructor(private readonly ramBytes: number) {}

  register(base: number, size: number, device: MmioDevice): void {
    const end = base + size;
    if (base < this.ramBytes) throw new Error(`${device.name}: MMIO window at 0x${base.toString(16)} overlaps RAM`);
    if (end > 0x100000000) throw new Error(`${device.name}: MMIO window ends beyond 4 GiB`);
    for (const w of this.windows) {
      if (base < w.end && end > w.base) throw new Error(`${device.name}: MMIO window overlaps ${w.device.name}`);
    }
    this.windows.push({ base, end, device });
  }

  private find(addr: number): Window | undefined {
    for (const w of this.windows) if (addr >= w.base && addr < w.end) return w;
    return undefined;
  }

  /** The window an access falls in, counted; undefined (and counted as unclaimed) if none. */
  private claim(addr: number): Window | undefined {
    this.accesses++;
    const w = this.find(addr);
    if (w === undefined) { this.unclaimedAccesses++; return undefined; }
    this.log.record(w.device);
    return w;
  }

  read(addr: number, size: number): number {
    const w = this.claim(addr);
    if (w === undefined) return size === 4 ? -1 : (1 << (size * 8)) - 1;
    return w.device.read(addr - w.base, size);
  }

  write(addr: number, size: number, value: number): boolean {
    const w = this.claim(addr);
    if (w === undefined) return false;
    w.device.write(addr - w.base, size, value);
    return true;
  }
}

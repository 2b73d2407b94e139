// Device access to guest RAM (bus-master DMA, shared rings). A device reads and writes
// guest-physical memory here, never through the CPU's caches: writes drop decoded
// instructions they overlap (as a CPU store does), and a range that leaves RAM is
// refused, so a guest that hands a device a bad address gets an error, not a crash.

import type { CoreMemory } from "../core/memory.js";

export class GuestRam {
  constructor(private readonly mem: CoreMemory) {}

  get bytes(): number { return this.mem.ramBytes; }

  /** True when [addr, addr + length) lies inside RAM (addr is taken as unsigned). */
  contains(addr: number, length: number): boolean {
    const a = addr >>> 0;
    return length >= 0 && a + length <= this.mem.ramBytes;
  }

  /** A copy of `length` bytes at `addr`; the caller checked contains(). */
  read(addr: number, length: number): Uint8Array {
    const a = addr >>> 0;
    return this.mem.ram.slice(a, a + length);
  }

  /** Stores `data` at `addr`; the caller checked contains(). */
  write(addr: number, data: Uint8Array): void {
    const a = addr >>> 0;
    this.mem.ram.set(data, a);
    this.invalidate(a, data.length);
  }

  read16(addr: number): number { return this.mem.view.getUint16(addr >>> 0, true); }
  read32(addr: number): number { return this.mem.view.getUint32(addr >>> 0, true); }
  /** A 64-bit guest address or length, as a double (exact below 2^53). */
  read64(addr: number): number { return this.read32(addr) + this.read32(addr + 4) * 0x100000000; }
  write8(addr: number, v: number): void { this.mem.ram[addr >>> 0] = v; this.invalidate(addr >>> 0, 1); }
  write16(addr: number, v: number): void { this.mem.view.setUint16(addr >>> 0, v, true); this.invalidate(addr >>> 0, 2); }
  write32(addr: number, v: number): void { this.mem.view.setUint32(addr >>> 0, v >>> 0, true); this.invalidate(addr >>> 0, 4); }

  /** Decoded code in written pages is stale (SDM 3A 11.6: self- and cross-modifying code). */
  private invalidate(a: number, length: number): void {
    const pages = this.mem.codePages;
    for (let page = a >>> 12; page <= (a + length - 1) >>> 12; page++) {
      if (pages[page] !== 0) { this.mem.invalidateCode(Math.max(a, page << 12), Math.min(a + length, (page + 1) << 12) - Math.max(a, page << 12)); }
    }
  }
}

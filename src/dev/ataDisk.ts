// An ATA hard disk on the primary channel (0x1F0-0x1F7, control 0x3F6, IRQ 14), master
// only, programmed I/O. Commands and register protocol from ATA/ATAPI-6 (T13 1410D):
// IDENTIFY DEVICE, READ SECTORS, WRITE SECTORS (28-bit LBA), FLUSH CACHE. Every register
// access is a port access, which is what makes this device expensive to virtualize.

import { PortDevice } from "./portBus.js";

/** Where the sectors live (the host side provides it: a file, or memory in tests). */
export interface BlockStore {
  readonly sectors: number;
  read(lba: number, out: Uint8Array): void;
  /** Stores one sector; it must survive a host crash only after flush(). */
  write(lba: number, data: Uint8Array): void;
  /** Makes every stored sector durable (fsync) before returning. */
  flush(): void;
}

const enum Status { ERR = 0x01, DRQ = 0x08, DSC = 0x10, DRDY = 0x40, BSY = 0x80 }
const enum AtaError { ABRT = 0x04, IDNF = 0x10 }
const enum Command { READ_SECTORS = 0x20, READ_SECTORS_NR = 0x21, WRITE_SECTORS = 0x30, WRITE_SECTORS_NR = 0x31, IDENTIFY = 0xec, FLUSH_CACHE = 0xe7 }

export class AtaDisk implements PortDevice {
  readonly name = "ATA disk (primary master)";
  private status = Status.DRDY | Status.DSC;
  private error = 0;
  private features = 0;
  private count = 0;
  private lbaLow = 0; private lbaMid = 0; private lbaHigh = 0;
  private device = 0xa0;
  private interruptsOff = false;
  /** The sector being transferred, and where in it the next data-port access is. */
  private readonly buffer = new Uint8Array(512);
  private position = 512;
  private transfer: "none" | "read" | "write" = "none";
  private lba = 0;
  private left = 0;
  /** Register accesses, for reports. */
  accesses = 0;

  /** `irq(level)` drives IRQ 14. */
  constructor(private readonly store: BlockStore, private readonly irq: (level: boolean) => void) {}

  private get selected(): boolean { return (this.device & 0x10) === 0; } // only a master exists

  private raise(): void { if (!this.interruptsOff) this.irq(true); }

  read(port: number, size: number): number {
    this.accesses++;
    if (!this.selected && port !== 0x3f6) return 0; // no slave: the bus reads as an empty device
    switch (port) {
      case 0x1f0: return this.readData(size);
      case 0x1f1: return this.error;
      case 0x1f2: return this.count;
      case 0x1f3: return this.lbaLow;
      case 0x1f4: return this.lbaMid;
      case 0x1f5: return this.lbaHigh;
      case 0x1f6: return this.device;
      case 0x1f7: this.irq(false); return this.status; // reading Status clears INTRQ
      default: return this.selected ? this.status : 0; // 0x3F6: Alternate Status, no side effect
    }
  }

  write(port: number, size: number, value: number): void {
    this.accesses++;
    const v = value & 0xff;
    switch (port) {
      case 0x1f0: this.writeData(size, value); return;
      case 0x1f1: this.features = v; return;
      case 0x1f2: this.count = v; return;
      case 0x1f3: this.lbaLow = v; return;
      case 0x1f4: this.lbaMid = v; return;
      case 0x1f5: this.lbaHigh = v; return;
      case 0x1f6: this.device = v | 0xa0; return;
      case 0x1f7: if (this.selected) this.command(v); return;
      default: // 0x3F6: Device Control. SRST resets the device; nIEN masks INTRQ.
        this.interruptsOff = (v & 2) !== 0;
        if ((v & 4) !== 0) this.reset();
        if (this.interruptsOff) this.irq(false);
    }
  }

  private reset(): void {
    this.transfer = "none"; this.position = 512;
    this.error = 1; // diagnostic code: device 0 passed
    this.status = Status.DRDY | Status.DSC;
    this.count = 1; this.lbaLow = 1; this.lbaMid = 0; this.lbaHigh = 0; this.device = 0xa0;
  }

  private abort(code: number): void {
    this.transfer = "none";
    this.error = code;
    this.status = Status.DRDY | Status.ERR;
    this.raise();
  }

  private command(c: number): void {
    this.error = 0;
    this.irq(false);
    switch (c) {
      case Command.IDENTIFY:
        this.identify();
        this.transfer = "read"; this.left = 0; this.position = 0;
        this.status = Status.DRDY | Status.DSC | Status.DRQ;
        this.raise();
        return;
      case Command.READ_SECTORS: case Command.READ_SECTORS_NR: case Command.WRITE_SECTORS: case Command.WRITE_SECTORS_NR: {
        if ((this.device & 0x40) === 0) { this.abort(AtaError.ABRT); return; } // CHS addressing is not modelled
        const lba = ((this.device & 0x0f) << 24) | (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow;
        const n = this.count === 0 ? 256 : this.count;
        if (lba + n > this.store.sectors) { this.abort(AtaError.IDNF); return; }
        this.lba = lba; this.left = n;
        if (c === Command.READ_SECTORS || c === Command.READ_SECTORS_NR) {
          this.transfer = "read";
          this.nextReadSector();
        } else {
          // The host writes the first sector without waiting for an interrupt.
          this.transfer = "write"; this.position = 0;
          this.status = Status.DRDY | Status.DSC | Status.DRQ;
        }
        return;
      }
      case Command.FLUSH_CACHE:
        this.store.flush(); // completes only once the host says the data is durable
        this.status = Status.DRDY | Status.DSC;
        this.raise();
        return;
      default:
        this.abort(AtaError.ABRT);
    }
  }

  private nextReadSector(): void {
    this.store.read(this.lba, this.buffer);
    this.lba++; this.left--;
    this.position = 0;
    this.status = Status.DRDY | Status.DSC | Status.DRQ;
    this.raise();
  }

  private readData(size: number): number {
    if (this.transfer !== "read" || this.position >= 512) return 0xffff;
    const b = this.buffer, p = this.position;
    const v = size === 4 ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) : b[p] | (b[p + 1] << 8);
    this.position += size === 4 ? 4 : 2;
    if (this.position >= 512) {
      if (this.left > 0) this.nextReadSector();
      else { this.transfer = "none"; this.status = Status.DRDY | Status.DSC; }
    }
    return v;
  }

  private writeData(size: number, value: number): void {
    if (this.transfer !== "write" || this.position >= 512) return;
    const b = this.buffer, p = this.position;
    b[p] = value & 0xff; b[p + 1] = (value >> 8) & 0xff;
    if (size === 4) { b[p + 2] = (value >> 16) & 0xff; b[p + 3] = (value >>> 24) & 0xff; }
    this.position += size === 4 ? 4 : 2;
    if (this.position < 512) return;
    this.store.write(this.lba, b); // stored before the device reports the sector done
    this.lba++; this.left--;
    if (this.left > 0) { this.position = 0; this.status = Status.DRDY | Status.DSC | Status.DRQ; }
    else { this.transfer = "none"; this.status = Status.DRDY | Status.DSC; }
    this.raise();
  }

  /** IDENTIFY DEVICE data (ATA-6 table 26): a fixed disk with LBA and FLUSH CACHE. */
  private identify(): void {
    const w = new Uint16Array(256);
    const sectors = Math.min(this.store.sectors, 0x0fffffff);
    // Legacy CHS geometry: 16 heads, 63 sectors per track.
    const cylinders = Math.min(16383, Math.floor(sectors / (16 * 63)));
    w[0] = 0x0040; w[1] = cylinders; w[3] = 16; w[6] = 63;
    text(w, 10, 20, "VMXLAB0001");
    text(w, 23, 8, "1.0");
    text(w, 27, 40, "vmxlab ATA disk");
    w[47] = 0x8000; // READ/WRITE MULTIPLE: not supported (0 sectors)
    w[49] = 1 << 9; // LBA supported
    w[53] = 1; // words 54-58 valid
    w[54] = cylinders; w[55] = 16; w[56] = 63;
    const chs = cylinders * 16 * 63;
    w[57] = chs & 0xffff; w[58] = chs >>> 16;
    w[60] = sectors & 0xffff; w[61] = sectors >>> 16;
    w[80] = 0x007e; // ATA-1 .. ATA-6
    w[82] = 1 << 14; w[83] = (1 << 14) | (1 << 12); // NOP; FLUSH CACHE supported
    w[85] = 1 << 14; w[86] = 1 << 12; w[87] = 1 << 14;
    for (let i = 0; i < 256; i++) { this.buffer[i * 2] = w[i] & 0xff; this.buffer[i * 2 + 1] = w[i] >> 8; }
  }
}

/** ATA strings: two characters per word, the first in the high byte, space padded. */
function text(w: Uint16Array, word: number, bytes: number, s: string): void {
  const padded = s.padEnd(bytes, " ");
  for (let i = 0; i < bytes; i += 2) w[word + i / 2] = (padded.charCodeAt(i) << 8) | padded.charCodeAt(i + 1);
}

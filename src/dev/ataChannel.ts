// The primary ATA channel (0x1F0-0x1F7, control 0x3F6, IRQ 14) with a hard disk as device 0
// (master), device 1 (slave), or both, programmed I/O. Commands and register protocol from
// ATA/ATAPI-6 (T13 1410D): IDENTIFY DEVICE, READ SECTORS, WRITE SECTORS (28-bit LBA), FLUSH
// CACHE. Every register access is a port access, which is what makes this device expensive
// to virtualize.

import { PortDevice } from "./portBus.js";
import { AccessLog } from "./accessLog.js";

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
/** Device register (ATA-6, "Device register"): DEV selects device 1; LBA selects LBA addressing. */
const DEV = 0x10, LBA = 0x40;

/**
 * What each device of the channel holds for itself: its status, error and transfer. Both
 * devices latch every write to the Command Block registers (count, LBA, device; ATA-6's
 * register description), so the channel keeps one copy of those.
 */
class AtaDrive {
  status = Status.DRDY | Status.DSC;
  error = 0;
  /** The device asserts INTRQ (only the selected device drives the line, ATA-6's INTRQ signal description). */
  intrq = false;
  /** The sector being transferred, and where in it the next data-port access is. */
  readonly buffer = new Uint8Array(512);
  position = 512;
  transfer: "none" | "read" | "write" = "none";
  lba = 0;
  left = 0;
  constructor(readonly store: BlockStore, readonly serial: string) {}
}

export class AtaChannel implements PortDevice {
  readonly name: string;
  private readonly drives: (AtaDrive | null)[];
  private features = 0;
  private count = 0;
  private lbaLow = 0; private lbaMid = 0; private lbaHigh = 0;
  private device = 0xa0;
  private interruptsOff = false;
  /** The level the channel last gave IRQ 14. */
  private line = false;
  /** Register accesses, for reports. */
  accesses = 0;
  /**
   * Register accesses by the device selected at the time (0: master, 1: slave), for the
   * report's per-disk figures; the machine sets its clock.
   */
  readonly byDrive = new AccessLog<number>();

  /** `master` and `slave`: device 0's and device 1's sectors, or null for no device; `irq(level)` drives IRQ 14. */
  constructor(master: BlockStore | null, slave: BlockStore | null, private readonly irq: (level: boolean) => void) {
    this.drives = [master === null ? null : new AtaDrive(master, "VMXLAB0001"), slave === null ? null : new AtaDrive(slave, "VMXLAB0002")];
    this.name = master !== null && slave !== null ? "ATA disks (primary master and slave)" : slave !== null ? "ATA disk (primary slave)" : "ATA disk (primary master)";
  }

  /** The device the DEV bit selects, or null when there is none: the bus then reads as empty. */
  private get selected(): AtaDrive | null { return this.drives[(this.device & DEV) !== 0 ? 1 : 0]; }

  /** IRQ 14 follows the selected device's INTRQ unless nIEN masks it. */
  private updateIrq(): void {
    const level = !this.interruptsOff && this.selected !== null && this.selected.intrq;
    if (level !== this.line) { this.line = level; this.irq(level); }
  }

  private raise(d: AtaDrive): void { d.intrq = true; this.updateIrq(); }

  /** One register access, counted for the channel and for the device selected now. */
  private noteAccess(): void {
    this.accesses++;
    this.byDrive.record((this.device & DEV) !== 0 ? 1 : 0);
  }

  read(port: number, size: number): number {
    this.noteAccess();
    const d = this.selected;
    if (d === null) return 0; // no such device: the bus reads as an empty device
    switch (port) {
      case 0x1f0: return this.readData(d, size);
      case 0x1f1: return d.error;
      case 0x1f2: return this.count;
      case 0x1f3: return this.lbaLow;
      case 0x1f4: return this.lbaMid;
      case 0x1f5: return this.lbaHigh;
      case 0x1f6: return this.device;
      case 0x1f7: d.intrq = false; this.updateIrq(); return d.status; // reading Status clears INTRQ
      default: return d.status; // 0x3F6: Alternate Status, no side effect
    }
  }

  write(port: number, size: number, value: number): void {
    this.noteAccess();
    const v = value & 0xff;
    switch (port) {
      case 0x1f0: if (this.selected !== null) this.writeData(this.selected, size, value); return;
      case 0x1f1: this.features = v; return;
      case 0x1f2: this.count = v; return;
      case 0x1f3: this.lbaLow = v; return;
      case 0x1f4: this.lbaMid = v; return;
      case 0x1f5: this.lbaHigh = v; return;
      case 0x1f6: this.device = v | 0xa0; this.updateIrq(); return;
      case 0x1f7: if (this.selected !== null) this.command(this.selected, v); return;
      default: // 0x3F6: Device Control, to both devices. SRST resets them; nIEN masks INTRQ.
        this.interruptsOff = (v & 2) !== 0;
        if ((v & 4) !== 0) this.reset();
        this.updateIrq();
    }
  }

  private reset(): void {
    for (const d of this.drives) {
      if (d === null) continue;
      d.transfer = "none"; d.position = 512; d.intrq = false;
      d.error = 1; // diagnostic code: passed
      d.status = Status.DRDY | Status.DSC;
    }
    this.count = 1; this.lbaLow = 1; this.lbaMid = 0; this.lbaHigh = 0; this.device = 0xa0;
  }

  private abort(d: AtaDrive, code: number): void {
    d.transfer = "none";
    d.error = code;
    d.status = Status.DRDY | Status.ERR;
    this.raise(d);
  }

  private command(d: AtaDrive, c: number): void {
    d.error = 0;
    d.intrq = false;
    this.updateIrq();
    switch (c) {
      case Command.IDENTIFY:
        this.identify(d);
        d.transfer = "read"; d.left = 0; d.position = 0;
        d.status = Status.DRDY | Status.DSC | Status.DRQ;
        this.raise(d);
        return;
      case Command.READ_SECTORS: case Command.READ_SECTORS_NR: case Command.WRITE_SECTORS: case Command.WRITE_SECTORS_NR: {
        if ((this.device & LBA) === 0) { this.abort(d, AtaError.ABRT); return; } // CHS addressing is not modelled
        const lba = ((this.device & 0x0f) << 24) | (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow;
        const n = this.count === 0 ? 256 : this.count;
        if (lba + n > d.store.sectors) { this.abort(d, AtaError.IDNF); return; }
        d.lba = lba; d.left = n;
        if (c === Command.READ_SECTORS || c === Command.READ_SECTORS_NR) {
          d.transfer = "read";
          this.nextReadSector(d);
        } else {
          // The host writes the first sector without waiting for an interrupt.
          d.transfer = "write"; d.position = 0;
          d.status = Status.DRDY | Status.DSC | Status.DRQ;
        }
        return;
      }
      case Command.FLUSH_CACHE:
        d.store.flush(); // completes only once the host says the data is durable
        d.status = Status.DRDY | Status.DSC;
        this.raise(d);
        return;
      default:
        this.abort(d, AtaError.ABRT);
    }
  }

  private nextReadSector(d: AtaDrive): void {
    d.store.read(d.lba, d.buffer);
    d.lba++; d.left--;
    d.position = 0;
    d.status = Status.DRDY | Status.DSC | Status.DRQ;
    this.raise(d);
  }

  private readData(d: AtaDrive, size: number): number {
    if (d.transfer !== "read" || d.position >= 512) return 0xffff;
    const b = d.buffer, p = d.position;
    const v = size === 4 ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) : b[p] | (b[p + 1] << 8);
    d.position += size === 4 ? 4 : 2;
    if (d.position >= 512) {
      if (d.left > 0) this.nextReadSector(d);
      else { d.transfer = "none"; d.status = Status.DRDY | Status.DSC; }
    }
    return v;
  }

  private writeData(d: AtaDrive, size: number, value: number): void {
    if (d.transfer !== "write" || d.position >= 512) return;
    const b = d.buffer, p = d.position;
    b[p] = value & 0xff; b[p + 1] = (value >> 8) & 0xff;
    if (size === 4) { b[p + 2] = (value >> 16) & 0xff; b[p + 3] = (value >>> 24) & 0xff; }
    d.position += size === 4 ? 4 : 2;
    if (d.position < 512) return;
    d.store.write(d.lba, b); // stored before the device reports the sector done
    d.lba++; d.left--;
    if (d.left > 0) { d.position = 0; d.status = Status.DRDY | Status.DSC | Status.DRQ; }
    else { d.transfer = "none"; d.status = Status.DRDY | Status.DSC; }
    this.raise(d);
  }

  /** IDENTIFY DEVICE data (ATA-6 table 26): a fixed disk with LBA and FLUSH CACHE. */
  private identify(d: AtaDrive): void {
    const w = new Uint16Array(256);
    const sectors = Math.min(d.store.sectors, 0x0fffffff);
    // Legacy CHS geometry: 16 heads, 63 sectors per track.
    const cylinders = Math.min(16383, Math.floor(sectors / (16 * 63)));
    w[0] = 0x0040; w[1] = cylinders; w[3] = 16; w[6] = 63;
    text(w, 10, 20, d.serial);
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
    for (let i = 0; i < 256; i++) { d.buffer[i * 2] = w[i] & 0xff; d.buffer[i * 2 + 1] = w[i] >> 8; }
  }
}

/** ATA strings: two characters per word, the first in the high byte, space padded. */
function text(w: Uint16Array, word: number, bytes: number, s: string): void {
  const padded = s.padEnd(bytes, " ");
  for (let i = 0; i < bytes; i += 2) w[word + i / 2] = (padded.charCodeAt(i) << 8) | padded.charCodeAt(i + 1);
}

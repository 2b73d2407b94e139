// The PC/AT real-time clock and CMOS RAM (Motorola MC146818A; ports 0x70 index, 0x71 data).
// The clock runs on the machine's virtual time, from a fixed start (2000-01-01 00:00:00 UTC
// unless the machine says otherwise): no host time reaches the guest. The CMOS bytes a
// kernel reads to size memory are the IBM AT's, and QEMU's above 16 MiB.
//
// Not modelled: the RTC's interrupts (periodic, alarm, update-ended; IRQ 8). A guest that
// enables one ends the run with "unsupported" rather than waiting for an interrupt that
// never comes. Alarm registers read back what was written.

import { PortDevice } from "./portBus.js";
import { DeviceUnsupported } from "./portBus.js";

/** Status register bits (MC146818A datasheet, registers A-D). */
const enum StatusA { UIP = 0x80 }
const enum StatusB { SET = 0x80, PIE = 0x40, AIE = 0x20, UIE = 0x10, BINARY = 0x04, HOURS_24 = 0x02 }
const enum Index { SECONDS = 0x00, MINUTES = 0x02, HOURS = 0x04, WEEKDAY = 0x06, DAY = 0x07, MONTH = 0x08, YEAR = 0x09, A = 0x0a, B = 0x0b, C = 0x0c, D = 0x0d, CENTURY = 0x32 }

/** Registers 0-9 but the alarms (1, 3, 5): the clock's fields. */
const isTimeField = (i: number): boolean => i <= Index.YEAR && i !== 1 && i !== 3 && i !== 5;

/** 2000-01-01 00:00:00 UTC, in seconds since 1970. */
export const RTC_DEFAULT_START = 946684800;
/** The update cycle: UIP is set for the last 244 us before the clock advances (datasheet, register A). */
const UPDATE_SECONDS = 244e-6;

export class CmosRtc implements PortDevice {
  readonly name = "CMOS RTC";
  private readonly ram = new Uint8Array(128);
  private index = 0;
  /** Seconds since 1970 at virtual second 0, moved when the guest sets the clock. */
  private base: number;

  /**
   * `clock()`: virtual seconds since power-on (fractional), `ramBytes`: for the memory-size
   * bytes, `start`: the clock's value at power-on, in seconds since 1970 (UTC).
   */
  constructor(private readonly clock: () => number, ramBytes: number, start = RTC_DEFAULT_START) {
    this.base = start;
    const r = this.ram;
    r[Index.A] = 0x26; // 32.768 kHz time base, 1024 Hz rate
    r[Index.B] = StatusB.HOURS_24; // BCD, 24-hour
    r[Index.D] = 0x80; // valid RAM and time
    r[0x14] = 0x20; // equipment: 80x25 colour display, no floppy, no coprocessor
    r[0x15] = 640 & 0xff; r[0x16] = 640 >> 8; // base memory, KiB
    const extKiB = Math.min(0xffff, Math.max(0, (ramBytes >> 10) - 1024)); // above 1 MiB, KiB
    r[0x17] = r[0x30] = extKiB & 0xff; r[0x18] = r[0x31] = extKiB >> 8;
    const above16 = Math.min(0xffff, Math.max(0, (ramBytes - (16 << 20)) >> 16)); // above 16 MiB, 64 KiB units (QEMU)
    r[0x34] = above16 & 0xff; r[0x35] = above16 >> 8;
  }

  read(port: number): number {
    if (port === 0x70) return 0xff; // the index register is write-only
    const i = this.index;
    if (isTimeField(i)) return this.timeField(i);
    if (i === Index.CENTURY) return this.encode(Math.floor(this.date().getUTCFullYear() / 100));
    if (i === Index.A) return (this.ram[Index.A] & ~StatusA.UIP) | (this.updating() ? StatusA.UIP : 0);
    if (i === Index.C) { const v = this.ram[Index.C]; this.ram[Index.C] = 0; return v; } // read clears the flags
    return this.ram[i];
  }

  write(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    if (port === 0x70) { this.index = v & 0x7f; return; } // bit 7 masks NMI on the PC: there is no NMI source to mask
    const i = this.index;
    if (i === Index.B && (v & (StatusB.PIE | StatusB.AIE | StatusB.UIE)) !== 0) {
      throw new DeviceUnsupported("CMOS RTC: periodic, alarm and update interrupts (IRQ 8) are not modelled");
    }
    if (i === Index.WEEKDAY) return; // derived from the date here
    if (isTimeField(i) || i === Index.CENTURY) { this.setTimeField(i, v); return; }
    if (i === Index.C || i === Index.D) return; // read-only
    this.ram[i] = v;
  }

  /** The current date: the start plus the whole virtual seconds elapsed. */
  private date(): Date {
    return new Date((this.base + Math.floor(this.clock())) * 1000);
  }

  /** True in the last 244 us of each second, when the chip is about to update (and not SET). */
  private updating(): boolean {
    if ((this.ram[Index.B] & StatusB.SET) !== 0) return false;
    const t = this.clock();
    return t - Math.floor(t) >= 1 - UPDATE_SECONDS;
  }

  private encode(n: number): number {
    return (this.ram[Index.B] & StatusB.BINARY) !== 0 ? n : ((Math.floor(n / 10) << 4) | (n % 10));
  }

  private decode(v: number): number {
    return (this.ram[Index.B] & StatusB.BINARY) !== 0 ? v : ((v >> 4) * 10 + (v & 15));
  }

  private timeField(i: number): number {
    const d = this.date();
    switch (i) {
      case Index.SECONDS: return this.encode(d.getUTCSeconds());
      case Index.MINUTES: return this.encode(d.getUTCMinutes());
      case Index.HOURS: {
        const h = d.getUTCHours();
        if ((this.ram[Index.B] & StatusB.HOURS_24) !== 0) return this.encode(h);
        // 12-hour mode: 1-12, bit 7 for PM.
        return this.encode(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
      }
      case Index.WEEKDAY: return this.encode(d.getUTCDay() + 1); // Sunday = 1
      case Index.DAY: return this.encode(d.getUTCDate());
      case Index.MONTH: return this.encode(d.getUTCMonth() + 1);
      default: return this.encode(d.getUTCFullYear() % 100);
    }
  }

  /** The guest sets one field: the clock keeps running from the new value. */
  private setTimeField(i: number, v: number): void {
    const d = this.date();
    let hours = d.getUTCHours();
    if (i === Index.HOURS) {
      hours = (this.ram[Index.B] & StatusB.HOURS_24) !== 0 ? this.decode(v) : (this.decode(v & 0x7f) % 12) + ((v & 0x80) !== 0 ? 12 : 0);
    }
    const n = this.decode(v);
    const year = i === Index.YEAR ? Math.floor(d.getUTCFullYear() / 100) * 100 + n : i === Index.CENTURY ? n * 100 + (d.getUTCFullYear() % 100) : d.getUTCFullYear();
    const set = Date.UTC(year, i === Index.MONTH ? n - 1 : d.getUTCMonth(), i === Index.DAY ? n : d.getUTCDate(),
      hours, i === Index.MINUTES ? n : d.getUTCMinutes(), i === Index.SECONDS ? n : d.getUTCSeconds()) / 1000;
    this.base = set - Math.floor(this.clock());
  }
}

// The 8254 programmable interval timer at 0x40-0x43, and port 0x61 (channel 2's gate and
// output, as on the PC/AT). Behaviour from the Intel 82C54 datasheet. Time is the guest's
// cycle count converted to the PIT's 1.193182 MHz input clock, never host time
// (DESIGN.md invariant 5); channel 0's output drives IRQ 0.

import { PortDevice, DeviceUnsupported } from "./portBus.js";

/** The PC's PIT input clock: 14.31818 MHz / 12. */
export const PIT_HZ = 1193182;

class Channel {
  mode = 0;
  /** Access mode of the last control word: 1 LSB, 2 MSB, 3 LSB then MSB. */
  access = 3;
  /** The initial count; 0 means 65536 (datasheet: "Counter Initialization"). */
  reload = 0x10000;
  /** PIT tick at which counting started from `reload`; -1 until a count is written. */
  start = -1;
  gate = true;
  /** Tick at which the gate fell (counting paused), or -1. */
  pausedAt = -1;
  writeLow = true;
  pendingLow = 0;
  readLow = true;
  latched = -1;
  latchedLow = true;
  status = -1;
  nullCount = true;

  elapsed(now: number): number {
    if (this.start < 0) return 0;
    return (this.pausedAt >= 0 ? this.pausedAt : now) - this.start;
  }

  /** The counting element's value at tick `now` (datasheet mode descriptions). */
  count(now: number): number {
    if (this.start < 0) return 0;
    const n = this.reload, d = this.elapsed(now);
    switch (this.mode) {
      case 2: return n - (d % n);
      case 3: return (n - ((2 * d) % n)) & 0xfffe;
      default: return (n - d) & 0xffff; // modes 0 and 4 count on through zero
    }
  }

  /** Counter latch: holds the count until both bytes are read; a second latch is ignored. */
  latch(now: number): void {
    if (this.latched < 0) { this.latched = this.count(now); this.latchedLow = true; }
  }

  /** The OUT pin at tick `now`. */
  out(now: number): boolean {
    if (this.start < 0) return this.mode !== 0;
    const n = this.reload, d = this.elapsed(now);
    switch (this.mode) {
      case 0: return d >= n;
      case 2: return d % n !== n - 1; // low for the one tick when the count is 1
      case 3: return d % n < ((n + 1) >> 1);
      default: return d !== n; // mode 4: a one-tick low strobe at terminal count
    }
  }

  /**
   * Rising edges of OUT in the ticks (from, to]: how many, and the first tick after `to`
   * with one (or Infinity). A paused channel has none.
   */
  risingEdges(from: number, to: number): { count: number; next: number } {
    if (this.start < 0 || this.pausedAt >= 0) return { count: 0, next: Infinity };
    const n = this.reload, s = this.start;
    if (this.mode === 2 || this.mode === 3) {
      // Periodic: OUT rises when a new period starts, at start + k*n (k >= 1).
      const k = (t: number) => Math.floor((t - s) / n);
      const count = Math.max(0, k(to) - Math.max(0, k(from)));
      return { count, next: s + (Math.max(0, k(to)) + 1) * n };
    }
    // One shot: mode 0 rises at terminal count, mode 4 after its strobe.
    const at = s + (this.mode === 0 ? n : n + 1);
    return { count: at > from && at <= to ? 1 : 0, next: at > to ? at : Infinity };
  }
}

export class Pit8254 implements PortDevice {
  readonly name = "8254 PIT";
  private readonly channels = [new Channel(), new Channel(), new Channel()];
  private speaker = 0;
  /** The last tick whose channel-0 edges have been delivered. */
  private serviced = 0;

  /** Called when channel 0's next interrupt time may have changed (the host reschedules). */
  onReprogram: (() => void) | null = null;

  /** `now()` is the current PIT tick; `irq0()` pulses IRQ 0. */
  constructor(private readonly now: () => number, private readonly irq0: () => void) {
    this.channels[2].gate = false; // port 0x61 bit 0 starts low
  }

  /** Delivers channel 0's rising edges up to now: one IRQ pulse however many passed. */
  service(): void {
    const now = this.now();
    if (now <= this.serviced) return;
    const { count } = this.channels[0].risingEdges(this.serviced, now);
    this.serviced = now;
    if (count > 0) this.irq0();
  }

  /** The next tick at which channel 0 raises IRQ 0, or Infinity. */
  nextInterruptTick(): number {
    return this.channels[0].risingEdges(this.serviced, this.serviced).next;
  }

  read(port: number): number {
    const now = this.now();
    if (port === 0x61) {
      const c2 = this.channels[2];
      // Bit 4 toggles with DRAM refresh every 15.085 us (18 PIT ticks) on the AT.
      return (c2.gate ? 1 : 0) | (this.speaker << 1) | ((Math.floor(now / 18) & 1) << 4) | ((c2.out(now) ? 1 : 0) << 5);
    }
    if (port === 0x43) return 0xff; // the control register cannot be read
    const c = this.channels[port - 0x40];
    if (c.status >= 0) { const v = c.status; c.status = -1; return v; }
    const value = c.latched >= 0 ? c.latched : c.count(now);
    if (c.access === 3) {
      // LSB then MSB, from the latch if one is held, else from the live count.
      const low = c.latched >= 0 ? c.latchedLow : c.readLow;
      if (c.latched >= 0) { c.latchedLow = !c.latchedLow; if (c.latchedLow) c.latched = -1; }
      else c.readLow = !c.readLow;
      return low ? value & 0xff : (value >> 8) & 0xff;
    }
    c.latched = -1;
    return c.access === 1 ? value & 0xff : (value >> 8) & 0xff;
  }

  write(port: number, _size: number, value: number): void {
    const v = value & 0xff, now = this.now();
    if (port === 0x61) {
      const c2 = this.channels[2], gate = (v & 1) !== 0;
      if (gate !== c2.gate) {
        if (!gate) c2.pausedAt = now;
        else if (c2.mode === 2 || c2.mode === 3) { c2.pausedAt = -1; if (c2.start >= 0) c2.start = now; } // rising gate reloads
        else if (c2.pausedAt >= 0) { c2.start += now - c2.pausedAt; c2.pausedAt = -1; }
        c2.gate = gate;
      }
      this.speaker = (v >> 1) & 1;
      return;
    }
    if (port === 0x43) { this.control(v, now); if (this.onReprogram) this.onReprogram(); return; }
    const c = this.channels[port - 0x40];
    let complete = false;
    if (c.access === 1) { c.reload = v; complete = true; }
    else if (c.access === 2) { c.reload = v << 8; complete = true; }
    else if (c.writeLow) { c.pendingLow = v; c.writeLow = false; if (c.mode === 0) c.pausedAt = now; } // mode 0 stops on the LSB
    else { c.reload = c.pendingLow | (v << 8); c.writeLow = true; complete = true; }
    if (!complete) return;
    if (c.reload === 0) c.reload = 0x10000;
    if ((c.mode === 2 || c.mode === 3) && c.reload === 1) throw new DeviceUnsupported(`8254 count 1 in mode ${c.mode} (the datasheet forbids it)`);
    // The count is loaded on the next clock; counting starts then.
    c.start = now + 1;
    c.pausedAt = c.gate ? -1 : now + 1;
    c.nullCount = false;
    if (this.onReprogram) this.onReprogram();
  }

  private control(v: number, now: number): void {
    const sel = v >> 6;
    if (sel === 3) {
      // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 1-3 pick channels.
      for (let i = 0; i < 3; i++) {
        if (((v >> (i + 1)) & 1) === 0) continue;
        const c = this.channels[i];
        if ((v & 0x20) === 0) c.latch(now);
        if ((v & 0x10) === 0 && c.status < 0) {
          c.status = ((c.out(now) ? 1 : 0) << 7) | ((c.nullCount ? 1 : 0) << 6) | (c.access << 4) | (c.mode << 1);
        }
      }
      return;
    }
    const c = this.channels[sel];
    const access = (v >> 4) & 3;
    if (access === 0) { // counter latch command
      c.latch(now);
      return;
    }
    let mode = (v >> 1) & 7;
    if (mode > 5) mode -= 4; // 6 and 7 are aliases of 2 and 3
    if ((v & 1) !== 0) throw new DeviceUnsupported("8254 BCD counting");
    if (mode === 1 || mode === 5) throw new DeviceUnsupported(`8254 mode ${mode} (hardware-triggered)`);
    c.mode = mode; c.access = access;
    c.start = -1; c.pausedAt = -1; c.writeLow = true; c.readLow = true; c.latched = -1; c.status = -1;
    c.nullCount = true;
  }
}

// The one run loop that lets the host reach a running guest: frames from a UDP tunnel and
// bytes typed on stdin. It runs the machine in slices of SLICE_CYCLES cycles and yields to
// Node's event loop between them, so datagrams and keystrokes are handled (their handlers
// hand them to the devices) before the next slice. A guest halted with nothing due waits
// here for such an event instead of ending the run; the instruction limit and the
// wall-clock timeout are the ways out. This is where host timing reaches a guest, and the
// only place: runs without a tunnel or interactive input never come here.

import type { Machine, RunResult } from "./machine.js";

/** Cycles per slice of a busy guest: 200 000 (a few ms of host time). */
export const SLICE_CYCLES = 200_000;
/** A halted guest's slices span 10 ms of guest time: idling costs a slice's overhead, not its length. */
export const HALTED_SLICE_SECONDS = 0.01;

export type HostRunReason = RunResult["reason"] | "timeout";
export interface HostRunResult extends Omit<RunResult, "reason"> { reason: HostRunReason }

export interface HostRunOptions {
  maxInstructions?: number;
  /** Wall-clock limit in milliseconds (default: none). */
  timeoutMs?: number;
  /** Stop when this resolves to true between slices (Ctrl-A x). */
  quit?: () => boolean;
}

export class HostRunner {
  private wakeUp: (() => void) | null = null;
  private woken = false;
  /** Event sources that may still deliver something (a socket, an open stdin). */
  private openSources = 0;

  constructor(readonly machine: Machine) {}

  /** A source of host events starts; sourceClosed() when it can deliver nothing more. */
  sourceOpened(): void { this.openSources++; }
  sourceClosed(): void { this.openSources--; this.wake(); }

  /** Something arrived for the guest: a waiting run goes on. */
  wake(): void {
    this.woken = true;
    const w = this.wakeUp;
    this.wakeUp = null;
    if (w) w();
  }

  /**
   * Runs until the guest ends, the instruction limit, the timeout, or quit(). A halted guest
   * whose next timer is due later in guest time than the host clock has reached is paced
   * to the host clock (as QEMU's virtual clock follows the host's), so a guest waiting on
   * a timer does not race ahead of the input it waits for.
   */
  async run(options: HostRunOptions = {}): Promise<HostRunResult> {
    const m = this.machine;
    const limit = options.maxInstructions ?? Number.MAX_SAFE_INTEGER;
    const clockHz = m.cpu.accounting.clockHz;
    const t0 = performance.now();
    const cycles0 = m.cpu.accounting.cycles();
    const deadline = options.timeoutMs === undefined ? Infinity : t0 + options.timeoutMs;
    let retired = 0;
    let halted = false;
    for (;;) {
      const span = halted ? Math.max(SLICE_CYCLES, Math.floor(clockHz * HALTED_SLICE_SECONDS)) : SLICE_CYCLES;
      const next = m.cpu.accounting.cycles() + span;
      const r = m.run({ maxInstructions: limit - retired, untilCycle: next });
      retired += r.instructions;
      if (r.reason !== "quantum") return { ...r, instructions: retired };
      halted = r.halted === true;
      if (options.quit?.()) return { reason: "halt", instructions: retired, message: "stopped from the console (Ctrl-A x)" };
      const now = performance.now();
      if (now >= deadline) return { reason: "timeout", instructions: retired, message: `no end after ${options.timeoutMs} ms` };
      let waitMs = 0;
      if (r.waiting) {
        // Nothing in the guest can wake it: wait for the host, unless nothing can come.
        if (this.openSources <= 0) return { reason: "halt", instructions: retired, message: "HLT with interrupts enabled and no interrupt due (input closed)" };
        waitMs = deadline - now;
      } else if (r.halted) {
        const guestMs = ((m.cpu.accounting.cycles() - cycles0) / clockHz) * 1000;
        waitMs = Math.min(guestMs - (now - t0), deadline - now);
      }
      await this.pause(waitMs);
    }
  }

  /** Yields to the event loop; with `ms` > 0, waits up to that long or until wake(). */
  private pause(ms: number): Promise<void> {
    if (this.woken || !(ms > 0)) {
      this.woken = false;
      return new Promise((resolve) => setImmediate(resolve));
    }
    return new Promise((resolve) => {
      const timer = ms === Infinity ? null : setTimeout(() => { this.wakeUp = null; resolve(); }, Math.max(1, Math.ceil(ms)));
      this.wakeUp = () => { if (timer) clearTimeout(timer); this.woken = false; resolve(); };
    });
  }
}

// The one accounting API. Engines and cpu/ count events into the flat counter array
// (`counts[Event.X]++`, cost/event.ts); this class prices them with a profile. Cycles are
// never stored, so changing the profile reprices a run and no engine can drift from
// another: the cycle count is a pure function of the counters.

import { Event, INSTRUCTION_CLASSES, CostClass, counterName, instructionCounter } from "./event.js";
import { Profile } from "./profile.js";

/** One line of a cycle breakdown. */
export interface PricedCount {
  readonly event: string;
  readonly count: number;
  readonly cycles: number;
}

export class Accounting {
  /** Cycles per count, indexed like `counts`. */
  private readonly prices: Float64Array;
  private current!: Profile;

  /**
   * `settle`, when given, is called before the counters are read: the CPU's run loop folds
   * the hot loop's int32 retirement counts into `counts` lazily (Cpu.runFor), and this
   * makes them exact for anyone who asks mid-run (RDTSC, a device, a deadline).
   */
  constructor(readonly counts: Float64Array, profile: Profile, private readonly settle: (() => void) | null = null) {
    this.prices = new Float64Array(counts.length);
    this.profile = profile;
  }

  get profile(): Profile { return this.current; }

  set profile(p: Profile) {
    this.current = p;
    const price = (name: string) => p.events[name].cycles;
    this.prices.fill(0);
    for (const c of INSTRUCTION_CLASSES) {
      if (c === "invalid") continue; // never retires
      this.prices[instructionCounter(c, false)] = price(`insn.${c}`);
      this.prices[instructionCounter(c, true)] = price(`insn.${c}`) + price("mem.operand");
    }
    for (let i = Event.STRING_ITERATION; i < Event.IDLE_CYCLE; i++) this.prices[i] = price(counterName(i));
    this.prices[Event.IDLE_CYCLE] = 1;
    // An upper bound on what one instruction in the hot loop can cost: the dearest class
    // with a memory operand, plus a fetch walk and a data walk of two references each.
    let dearest = 0;
    for (let i = 0; i < Event.STRING_ITERATION; i++) dearest = Math.max(dearest, this.prices[i]);
    this.stepBound = dearest + 2 * (price("tlb.miss") + 2 * price("walk.reference"));
  }

  /** Cycles one hot-loop instruction costs at most (for running up to a deadline). */
  stepBound = 1;

  /** The profile's core clock in Hz (timers convert cycles to time with it). */
  get clockHz(): number { return this.current.clockMHz * 1e6; }

  /** Cycles of everything counted so far: the TSC (DESIGN.md invariant 5). */
  cycles(): number {
    if (this.settle !== null) this.settle();
    const c = this.counts, p = this.prices;
    let total = 0;
    for (let i = 0; i < Event.COUNT; i++) total += c[i] * p[i];
    return total;
  }

  /** Instructions retired, by class (with and without memory operands together). */
  instructionsByClass(): Record<CostClass, number> {
    if (this.settle !== null) this.settle();
    const out = {} as Record<CostClass, number>;
    for (const c of INSTRUCTION_CLASSES) out[c] = this.counts[instructionCounter(c, false)] + this.counts[instructionCounter(c, true)];
    return out;
  }

  /**
   * Cycles by priced event, in profile order: each instruction class at its own price,
   * memory operands separately, then the other events. The lines sum to cycles().
   */
  breakdown(): PricedCount[] {
    const p = this.current.events, c = this.counts, byClass = this.instructionsByClass();
    const lines: PricedCount[] = [];
    let memory = 0;
    for (const k of INSTRUCTION_CLASSES) {
      if (k === "invalid") continue;
      memory += c[instructionCounter(k, true)];
      lines.push({ event: `insn.${k}`, count: byClass[k], cycles: byClass[k] * p[`insn.${k}`].cycles });
    }
    lines.push({ event: "mem.operand", count: memory, cycles: memory * p["mem.operand"].cycles });
    for (let i = Event.STRING_ITERATION; i < Event.COUNT; i++) {
      const name = counterName(i);
      lines.push({ event: name, count: c[i], cycles: c[i] * this.prices[i] });
    }
    return lines;
  }
}

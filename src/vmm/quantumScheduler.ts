// Several machines in one process, deterministic: each runs in turn until its cycle count
// reaches the next multiple of the quantum Q, then the switch between them forwards the
// frames sent during that round. A frame sent at cycle c of quantum [kQ, (k+1)Q) reaches
// the other machines at the start of their next quantum: a link latency between 0 and Q
// cycles of the receiver's clock (docs/devices.md, "Timing"). No host time is involved, so
// two runs give the same outputs and the same cycle counts.
//
// The schedule can be stopped after any step and resumed (QuantumScheduler.runTo): lockstep
// (src/vmm/lockstep.ts) runs two copies of a pair to equal step counts and compares them.
// A turn cut into several Machine.run calls ends exactly as one call would, because each
// turn keeps the boundary and the instruction limit it computed when it began (recomputing
// the boundary after a cut that ends on a multiple of Q would move it a whole quantum on).

import type { Machine, RunResult } from "./machine.js";
import type { EthernetSwitch } from "../dev/ethernetSwitch.js";

/** The default quantum: 100 000 cycles (100 us at the default profile's 1 GHz clock). */
export const DEFAULT_QUANTUM = 100_000;

export interface QuantumRunOptions {
  /** Cycles per quantum (default DEFAULT_QUANTUM). */
  quantum?: number;
  /** Instruction limit for each machine. */
  maxInstructions?: number;
}

export interface QuantumRunResult {
  /** Each machine's end, in the order given. */
  results: RunResult[];
  /** Quanta run. */
  rounds: number;
}

const stepsOf = (m: Machine) => m.cpu.retired + m.cpu.eventsDelivered;

/**
 * The quantum schedule of several machines on one switch, resumable after any step. A step
 * is what Machine.run's limit counts (an instruction retired or an event delivered); the
 * schedule's step count is the sum of its machines'.
 */
export class QuantumScheduler {
  readonly quantum: number;
  private readonly limit: number;
  /** Each machine's end (null while it runs); instructions counted over the whole run. */
  readonly results: (RunResult | null)[];
  /** Quanta begun. */
  rounds = 0;
  /** True once every machine has ended. */
  done = false;
  private readonly retired: number[];
  private readonly waiting: boolean[];
  private readonly startSteps: number;
  /** Where the schedule stands: the machine whose turn it is (machines.length: the round's switch flush). */
  private turn = 0;
  private roundOpen = false;
  /** The current turn's end: the cycle it runs to, its step limit, the machine's steps when it began (boundary -1: not begun). */
  private boundary = -1;
  private turnLimit = 0;
  private turnStart = 0;

  constructor(readonly machines: Machine[], readonly net: EthernetSwitch, options: QuantumRunOptions = {}) {
    const q = options.quantum ?? DEFAULT_QUANTUM;
    if (!Number.isSafeInteger(q) || q <= 0) throw new RangeError(`the quantum must be a positive number of cycles, not ${q}`);
    this.quantum = q;
    this.limit = options.maxInstructions ?? Number.MAX_SAFE_INTEGER;
    this.results = machines.map(() => null);
    this.retired = machines.map(() => 0);
    this.waiting = machines.map(() => false);
    this.startSteps = machines.reduce((n, m) => n + stepsOf(m), 0);
  }

  /** Steps done by all machines since the schedule began. */
  get steps(): number { return this.machines.reduce((n, m) => n + stepsOf(m), 0) - this.startSteps; }

  /** Where the schedule stands and what the switch holds (lockstep compares them too). */
  compared(): [string, number][] {
    const c = this.net.counters;
    return [
      ["quanta begun", this.rounds], ["turn of machine", this.turn], ["turn ends at cycle", this.boundary], ["frames waiting in the switch", this.net.pending],
      ["switch forwarded", c.forwarded], ["switch flooded", c.flooded], ["switch filtered", c.filtered], ["switch runts", c.runts],
    ];
  }

  /**
   * Runs the schedule until `target` steps in all (stopping right after that step, before
   * anything else happens) or until every machine has ended.
   */
  runTo(target = Infinity): void {
    const q = this.quantum, n = this.machines.length;
    while (!this.done) {
      if (!this.roundOpen) { this.rounds++; this.roundOpen = true; this.turn = 0; }
      if (this.turn < n) {
        const i = this.turn, m = this.machines[i];
        if (this.results[i] === null) {
          if (this.boundary < 0) {
            this.boundary = (Math.floor(m.cpu.accounting.cycles() / q) + 1) * q;
            this.turnLimit = this.limit - this.retired[i];
            this.turnStart = stepsOf(m);
          }
          const left = this.turnLimit - (stepsOf(m) - this.turnStart);
          const budget = target - this.steps;
          if (budget <= 0 && left > 0) return;
          const r = m.run({ maxInstructions: Math.min(left, Math.max(0, budget)), untilCycle: this.boundary });
          this.retired[i] += r.instructions;
          // Stopped by the caller's target, not by the turn's limit: the turn goes on.
          if (r.reason === "limit" && stepsOf(m) - this.turnStart < this.turnLimit) continue;
          this.waiting[i] = r.reason === "quantum" && r.waiting === true;
          if (r.reason !== "quantum") this.results[i] = { ...r, instructions: this.retired[i] };
        }
        this.boundary = -1;
        this.turn++;
        continue;
      }
      // The round is over: the switch forwards what was sent during it.
      const delivered = this.net.flush();
      this.roundOpen = false;
      const live = this.machines.map((_, i) => i).filter((i) => this.results[i] === null);
      if (live.length === 0) { this.done = true; break; }
      // Every machine still running is halted with nothing due and no frame arrived: none
      // can ever wake again. They end as a plain run would at that HLT.
      if (delivered === 0 && live.every((i) => this.waiting[i])) {
        for (const i of live) this.results[i] = { reason: "halt", instructions: this.retired[i], message: "HLT with interrupts enabled and no interrupt or frame due" };
        this.done = true;
      }
    }
  }
}

export function runInQuanta(machines: Machine[], net: EthernetSwitch, options: QuantumRunOptions = {}): QuantumRunResult {
  const s = new QuantumScheduler(machines, net, options);
  s.runTo();
  return { results: s.results as RunResult[], rounds: s.rounds };
}

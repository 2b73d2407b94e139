// Several machines in one process, deterministic: each runs in turn until its cycle count
// reaches the next multiple of the quantum Q, then the switch between them forwards the
// frames sent during that round. A frame sent at cycle c of quantum [kQ, (k+1)Q) reaches
// the other machines at the start of their next quantum: a link latency between 0 and Q
// cycles of the receiver's clock (docs/devices.md, "Timing"). No host time is involved, so
// two runs give the same outputs and the same cycle counts.

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

export function runInQuanta(machines: Machine[], net: EthernetSwitch, options: QuantumRunOptions = {}): QuantumRunResult {
  const q = options.quantum ?? DEFAULT_QUANTUM;
  if (!Number.isSafeInteger(q) || q <= 0) throw new RangeError(`the quantum must be a positive number of cycles, not ${q}`);
  const limit = options.maxInstructions ?? Number.MAX_SAFE_INTEGER;
  const results: (RunResult | null)[] = machines.map(() => null);
  const retired = machines.map(() => 0);
  const waiting = machines.map(() => false);
  let rounds = 0;
  for (;;) {
    rounds++;
    machines.forEach((m, i) => {
      if (results[i] !== null) return;
      const next = (Math.floor(m.cpu.accounting.cycles() / q) + 1) * q;
      const r = m.run({ maxInstructions: limit - retired[i], untilCycle: next });
      retired[i] += r.instructions;
      waiting[i] = r.reason === "quantum" && r.waiting === true;
      if (r.reason !== "quantum") results[i] = { ...r, instructions: retired[i] };
    });
    const delivered = net.flush();
    const live = machines.map((_, i) => i).filter((i) => results[i] === null);
    if (live.length === 0) break;
    // Every machine still running is halted with nothing due and no frame arrived: none
    // can ever wake again. They end as a plain run would at that HLT.
    if (delivered === 0 && live.every((i) => waiting[i])) {
      for (const i of live) results[i] = { reason: "halt", instructions: retired[i], message: "HLT with interrupts enabled and no interrupt or frame due" };
      break;
    }
  }
  return { results: results as RunResult[], rounds };
}

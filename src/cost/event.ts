// The events that cost cycles, and the counter each one is counted in. Every cycle the
// guest sees is a count from this list times its price in the active profile
// (DESIGN.md invariant 2); nothing else reaches the TSC.
//
// Counters live in the flat state (state/layout.ts, COUNTER_OFFSET) as float64, so both
// engines count into the same memory and a snapshot carries them.

/**
 * Instruction classes of the opcode table (isa/opcodes.ts). Order matters: a decoded
 * instruction's counter is `class index * 2 + (1 if it has an explicit memory operand)`.
 */
export const INSTRUCTION_CLASSES = [
  "alu", "mov", "mul", "div", "shift", "bit", "bcd", "stack", "branch", "call", "string",
  "flag", "nop", "far", "interrupt", "io", "system", "segment", "serialize", "invalid",
] as const;
export type CostClass = (typeof INSTRUCTION_CLASSES)[number];

/** Counters 0 .. INSTRUCTION_COUNTERS-1 count retired instructions. */
export const INSTRUCTION_COUNTERS = INSTRUCTION_CLASSES.length * 2;

/** Counter of instructions of class `c`, with or without a memory operand. */
export function instructionCounter(c: CostClass, memory: boolean): number {
  return INSTRUCTION_CLASSES.indexOf(c) * 2 + (memory ? 1 : 0);
}

// The counters of events other than retired instructions live in cost/eventCounter.ts,
// where portable code reads them too.
import { Event } from "./eventCounter.js";
export { Event };

/** The profile's name for each counter (the events a profile must price). */
export function counterName(i: number): string {
  if (i < INSTRUCTION_CLASSES.length * 2) return `insn.${INSTRUCTION_CLASSES[i >> 1]}`;
  return EVENT_NAMES[i - Event.STRING_ITERATION];
}

const EVENT_NAMES = ["string.iteration", "tlb.miss", "walk.reference", "exception", "privilege.change", "task.switch", "io.access", "mmio.access", "idle.cycle"];

/** Names a profile prices: one per instruction class, the memory operand, and each event but idle.cycle. */
export const PRICED_EVENTS: readonly string[] = [
  ...INSTRUCTION_CLASSES.filter((c) => c !== "invalid").map((c) => `insn.${c}`),
  "mem.operand",
  ...EVENT_NAMES.filter((e) => e !== "idle.cycle"),
];

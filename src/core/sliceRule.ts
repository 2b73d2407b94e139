// Portable (docs/engine-decision.md): where the run loop (Cpu.runSlices) ends one slice of
// the hot loop and what budget it gives the next, in one place for the run loop and for
// the hot loop, which starts the next slice itself after an event it ran (INT n, IRETD, a
// fault it delivered, MOV from CRn, INVLPG) when the rule needs nothing only the host
// knows. Where slices start matters: each start is a counted instruction-TLB lookup.

import { Reg, Flag, Wide } from "../state/layout.js";
import { HotViews } from "./hotViews.js";

/**
 * HotViews.slice: how the run loop is cutting the current run. Not guest state, and not in
 * the flat state: it depends on how a run was cut into calls, which the flat state must not
 * (tests compare runs cut differently byte for byte).
 */
export const enum SliceWord {
  /** The step count (Wide.RETIRED + EVENTS_DELIVERED) at which the current Cpu.runFor ends. */
  RUN_END = 0,
  /** Slices since the retirement counts were last folded (folded every FOLD_EVERY-th). */
  UNFOLDED = 1,
  /** 1 while nothing only the host knows stands in the way: no cycle deadline, no stop or reschedule requested. */
  FREE = 2,
  COUNT = 3,
}

/** Slices between two folds of the retirement counts (state/layout.ts Reg.DTLB_LAST_HIT's note). */
export const FOLD_EVERY: i32 = 64;
/** Longest slice, in steps. */
export const SLICE_STEPS: i32 = 1 << 20;

/**
 * True when, after a slice, nothing in the state needs the run loop to look before the
 * next: no device waiting (ATTENTION), not halted, no STI / MOV SS shadow (SDM 3A 6.8.3),
 * no single-stepping or instruction breakpoints, no NMI that could be taken (6.7.1).
 * External interrupts the caller checks (only the host can ask the controllers).
 */
export function sliceQuiet(h: HotViews): bool {
  const s = h.s;
  return s[Reg.ATTENTION] === 0 && s[Reg.HALTED] === 0 && s[Reg.INHIBIT_IRQ] === 0 &&
    (s[Reg.EFLAGS] & Flag.TF) === 0 && (s[Reg.DR0 + 7] & 0xff) === 0 &&
    (s[Reg.NMI_PENDING] === 0 || s[Reg.NMI_BLOCKED] !== 0);
}

/** True when the slice now ending is the FOLD_EVERY-th since the retirement counts were last folded. */
export function foldDue(h: HotViews): bool {
  return h.slice[SliceWord.UNFOLDED] + 1 >= <f64>FOLD_EVERY;
}

/** Steps the next slice may take before the run's end (SliceWord.RUN_END), at most SLICE_STEPS; 0 at the end. */
export function stepsToRunEnd(h: HotViews): i32 {
  const w = h.wide;
  const left = h.slice[SliceWord.RUN_END] - w[Wide.RETIRED] - w[Wide.EVENTS_DELIVERED];
  return left <= 0 ? 0 : left >= <f64>SLICE_STEPS ? SLICE_STEPS : <i32>left;
}

/**
 * The hot loop's end of a slice after an event: the next slice's budget, as the run loop
 * would give it, with the slice counted (Cpu.sliceEnded); or -1, with nothing changed,
 * when the host must decide (a stop or reschedule request or a cycle deadline, IF = 1 with
 * interrupts possibly pending, a fold due, anything sliceQuiet() rejects, the run's end).
 */
/* @inline */ export function nextSliceHere(h: HotViews): i32 {
  const c = h.slice;
  if (c[SliceWord.FREE] === 0 || (h.s[Reg.EFLAGS] & Flag.IF) !== 0 || !sliceQuiet(h)) return -1;
  if (foldDue(h)) return -1;
  const steps = stepsToRunEnd(h);
  if (steps === 0) return -1;
  c[SliceWord.UNFOLDED] += 1;
  return steps;
}

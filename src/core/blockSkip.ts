// Portable (docs/engine-decision.md): HotViews.blockSkip, the loop's memory of branch
// targets where BlockCache (core/blockCompiler.ts) found no block. Two words per slot
// (BLOCK_SLOTS, by physical address): the target + 1, and the arrivals left that pass it
// by without asking the cache. BlockCache marks, the loop reads, a write into code forgets.

import { BLOCK_SLOTS } from "../state/layout.js";
import { HotViews } from "./hotViews.js";

/** Arrivals at a target known to start no block that the loop lets pass before asking again. */
const SKIPS = 255;

/**
 * True when no block starts at `phys` (markBlockless()), and this arrival is one that
 * passes by without asking; every SKIPS-th arrival asks again, so code rewritten there
 * gets its block in the end.
 */
export function knownBlockless(h: HotViews, phys: i32): bool {
  const at = (phys & (BLOCK_SLOTS - 1)) * 2, k = h.blockSkip;
  if (k[at] !== phys + 1 || k[at + 1] === 0) return false;
  k[at + 1]--;
  return true;
}

/** Tells the loop that no block starts at `phys`, for the next SKIPS arrivals there. */
export function markBlockless(h: HotViews, phys: i32): void {
  const at = (phys & (BLOCK_SLOTS - 1)) * 2, k = h.blockSkip;
  k[at] = phys + 1;
  k[at + 1] = SKIPS;
}

/** Forgets that no block starts at `phys` (markBlockless()): the code there was written. */
export function forgetBlockless(h: HotViews, phys: i32): void {
  const at = (phys & (BLOCK_SLOTS - 1)) * 2, k = h.blockSkip;
  if (k[at] === phys + 1) k[at + 1] = 0;
}

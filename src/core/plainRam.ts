// Portable (docs/engine-decision.md): whether portable code may touch guest RAM directly.

import { HotViews } from "./hotViews.js";

/**
 * True when the `bytes` at physical `p` are RAM that portable code may access directly: all
 * inside RAM (beyond it are devices), and for a store (`write`) not in a page holding
 * decoded code or watched by a device (CodePage), which the general path's store must see.
 */
export function plainRam(h: HotViews, p: i32, bytes: i32, write: bool): bool {
  return <u32>(p >>> 0) <= <u32>(h.ramBytes - bytes) && (!write || h.codePages[p >>> 12] === 0);
}

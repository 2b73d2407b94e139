// Portable (docs/engine-decision.md): where a frame of pushes or peeks through SS lies,
// when it passes the stack segment's checks as a whole and sits in one page, so that one
// translation serves all of it. Core.pushFrame / peekFrame (the general path) and
// core/protectedEvent.ts (either engine's loop) take their one-page paths on these.

import { Words } from "../state/flatViews.js";
import { Reg, Seg } from "../state/layout.js";
import { SegAccess } from "./segmentCache.js";

/**
 * Linear address of the highest of the `size`-byte values, `bytes` in all, pushed below
 * `esp` through a stack segment with these hidden parts; -1 (never such an address: it
 * would cross a page) when the one-page path does not apply: a 16-bit stack (`big`
 * false), the frame beyond the limit or below 0, an expand-down or unwritable segment, a
 * frame that crosses a page.
 */
export function frameBelowLin(base: i32, limit: i32, access: i32, big: bool, esp: i32, size: i32, bytes: i32): i32 {
  const top = <u32>(esp >>> 0);
  if (!big || top < <u32>bytes || top - 1 > <u32>(limit >>> 0)) return -1;
  if ((access & (SegAccess.WRITE | SegAccess.EXPAND_DOWN)) !== SegAccess.WRITE) return -1;
  const first = (base + esp - size) | 0, low = (base + esp - bytes) | 0;
  if ((first >>> 12) !== (low >>> 12) || (first & 0xfff) > 0x1000 - size) return -1;
  return first;
}

/**
 * Linear address of the `bytes` at ESP + `offset` through SS; -1 (never such an address)
 * when the one-page path does not apply: a 16-bit stack, beyond the limit, an expand-down
 * or unreadable segment, or across a page.
 */
export function stackAboveLin(s: Words, offset: i32, bytes: i32): i32 {
  if (s[Reg.STACK32] === 0) return -1;
  const off = <u32>((s[Reg.ESP] + offset) >>> 0);
  const last = off + <u32>(bytes - 1);
  if (last < off || last > <u32>(s[Reg.SEG_LIMIT + Seg.SS] >>> 0)) return -1;
  if ((s[Reg.SEG_ACCESS + Seg.SS] & (SegAccess.READ | SegAccess.EXPAND_DOWN)) !== SegAccess.READ) return -1;
  const lin = (s[Reg.SEG_BASE + Seg.SS] + <i32>off) | 0;
  if ((lin & 0xfff) > 0x1000 - bytes) return -1;
  return lin;
}

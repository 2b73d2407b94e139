// Portable (docs/engine-decision.md): a segment register's hidden part as the flat state
// holds it, and the descriptor fields it is loaded from (SDM 3A 3.4.5). cpu/segments.ts
// loads segments through these for every path; core/protectedEvent.ts for the event paths
// that run inside the hot loop of either engine.

import { Words } from "../state/flatViews.js";
import { Reg, Seg } from "../state/layout.js";

/** Per-segment access flags kept in Reg.SEG_ACCESS (derived from the descriptor). */
export const enum SegAccess { READ = 1, WRITE = 2, EXPAND_DOWN = 4, BIG = 8, EXEC = 16, USABLE = 32 }

/** Bits of a translation-cache entry; the page frame is in bits 31..12. */
export const enum Tlb { VALID = 1, SUP_WRITE = 2, USER_READ = 4, USER_WRITE = 8, DIRTY = 16, GLOBAL = 32 }

/** TLB entry bits a read at `cpl` needs (Reg.READ_NEED): SDM 3A 4.6, U/S. */
export function readNeedAt(cpl: i32): i32 {
  return cpl === 3 ? Tlb.VALID | Tlb.USER_READ : Tlb.VALID;
}

/** TLB entry bits a write at `cpl` needs (Reg.WRITE_NEED): SDM 3A 4.6, R/W and U/S; 4.8, D. */
export function writeNeedAt(cpl: i32): i32 {
  return (cpl === 3 ? Tlb.VALID | Tlb.USER_WRITE : Tlb.VALID | Tlb.SUP_WRITE) | Tlb.DIRTY;
}

/**
 * What follows from CPL and CS.D: the TLB rights a read and a write need (Reg.READ_NEED,
 * WRITE_NEED) and the decode cache's mode tag (Reg.MODE_TAG: bit 31 for 32-bit code).
 * Part of CoreMemory.syncMode, and all of it a CS load needs.
 */
export function syncCodeMirrors(s: Words): void {
  s[Reg.READ_NEED] = readNeedAt(s[Reg.CPL]);
  s[Reg.WRITE_NEED] = writeNeedAt(s[Reg.CPL]);
  s[Reg.MODE_TAG] = s[Reg.CODE32] !== 0 ? 1 << 31 : 0;
}

/** Base of the descriptor whose dwords are `lo`, `hi` (SDM 3A figure 3-8). */
export function descriptorBase(lo: i32, hi: i32): i32 {
  return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
}

/** Limit in bytes, scaled by the granularity bit (SDM 3A 3.4.5). */
export function descriptorLimit(lo: i32, hi: i32): i32 {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) !== 0 ? (raw << 12) | 0xfff : raw;
}

/** Access rights: type 0-3, S 4, DPL 5-6, P 7, AVL 12, D/B 14, G 15 (VMCS format, SDM 3C 24.4.1). */
export function descriptorAttr(hi: i32): i32 {
  return (hi >>> 8) & 0xf0ff;
}

/** Access flags the hot loop checks, derived from access rights. */
export function accessFromAttr(attr: i32): i32 {
  if ((attr & 0x10) === 0) return 0; // system or unusable
  let a = SegAccess.USABLE;
  if ((attr & 0x8) !== 0) {
    a |= SegAccess.EXEC;
    if ((attr & 0x2) !== 0) a |= SegAccess.READ;
  } else {
    a |= SegAccess.READ;
    if ((attr & 0x2) !== 0) a |= SegAccess.WRITE;
    if ((attr & 0x4) !== 0) a |= SegAccess.EXPAND_DOWN;
  }
  if ((attr & 0x4000) !== 0) a |= SegAccess.BIG;
  return a;
}

/**
 * Writes segment register `seg`: selector, hidden base, limit, attributes and `access`,
 * and the mirrors that follow from them (Reg.FLAT_SEGS; CODE32 for CS, STACK32 for SS).
 * A CS load also changes what Core.syncMode() derives: its caller makes that call.
 */
/* @inline */ export function writeSegment(s: Words, seg: i32, sel: i32, base: i32, limit: i32, attr: i32, access: i32): void {
  s[Reg.SEG_SEL + seg] = sel & 0xffff;
  s[Reg.SEG_BASE + seg] = base;
  s[Reg.SEG_LIMIT + seg] = limit;
  s[Reg.SEG_ATTR + seg] = attr;
  s[Reg.SEG_ACCESS + seg] = access;
  // Flat: read/write data (not expand-down) with base 0 and a 4 GiB limit.
  // (Taken as int32, as the words hold them: a caller may pass a limit as 0xffffffff.)
  const flat = (base | 0) === 0 && (limit | 0) === -1 &&
    (access & (SegAccess.READ | SegAccess.WRITE | SegAccess.EXPAND_DOWN)) === (SegAccess.READ | SegAccess.WRITE);
  s[Reg.FLAT_SEGS] = flat ? s[Reg.FLAT_SEGS] | (1 << seg) : s[Reg.FLAT_SEGS] & ~(1 << seg);
  if (seg === Seg.CS) s[Reg.CODE32] = (attr & 0x4000) !== 0 ? 1 : 0;
  else if (seg === Seg.SS) s[Reg.STACK32] = (attr & 0x4000) !== 0 ? 1 : 0;
}

// Portable (docs/engine-decision.md): the page walk of 32-bit paging, on the flat state,
// for either engine. A page directory entry, then a page table entry or a 4 MiB page (SDM
// 3A 4.3); the rights (4.6); the accessed and dirty bits (4.8); the TLB fill
// (core/tlbHit.ts tlbInsert); or #PF with CR2 and its error code (4.7).
//
// Every walk of the general path is this function (CoreMemory.tryWalk). The hot loop also
// calls it itself on a data-TLB miss of its plain path, as a `plain` walk, so that a
// demand-paging kernel's walks and page faults need no call into the host. A plain walk
// is the general path's walk exactly, or nothing: it declines, changing and counting
// nothing, where the general path would reach beyond RAM (a paging structure there, or
// an access that would not be plain RAM afterwards), update an entry in a page holding
// decoded code or watched by a device, report to a walk observer, or end the slice; the
// loop then takes the general path.

import { Reg, Cr0, Cr4, TlbModelLayout } from "../state/layout.js";
import { ramRead32, ramWrite32 } from "../state/flatViews.js";
import { Event } from "../cost/eventCounter.js";
import { HotViews } from "./hotViews.js";
import { plainRam } from "./plainRam.js";
import { Tlb } from "./segmentCache.js";
import { tlbInsert } from "./tlbHit.js";
import { flagFault } from "./faultFlag.js";
import { Vector } from "./vector.js";
import { hostPhysRead32, hostPhysWrite32 } from "./hotHost.js";

/** Kinds of access, valued as their bits in the #PF error code where they have one (SDM 3A 4.7). */
export const enum Access { READ = 0, WRITE = 2, FETCH = 16 }

/** Words of HotViews.walkRefs: how many references, then level (2: PDE, 1: PTE), address and value of each. */
export const WALK_REF_WORDS = 7;

/**
 * Walks the paging structures for linear `lin`. A general walk (`plainBytes` 0) returns the
 * physical address, or 0 with Reg.HOT_FAULTED set once #PF is recorded. A plain walk, for
 * an access of `plainBytes` bytes, returns its RAM offset, or -1: declined with nothing
 * changed, or #PF recorded and flagged as above.
 */
export function pageWalk(h: HotViews, lin: i32, access: i32, user: bool, plainBytes: i32): i32 {
  const s = h.s;
  const plain = plainBytes > 0;
  // While a device waits to be looked at (Reg.ATTENTION), the loop's general paths end the
  // slice after a store; one walked here would not go there.
  if (plain && (h.observedWalks || s[Reg.ATTENTION] !== 0)) return -1;
  const write = access === Access.WRITE;
  // The general path counts as it goes (a device holding a paging structure sees the
  // counts so far); a plain walk counts once it can no longer decline (countPlain).
  if (!plain) h.counts[Event.TLB_MISS] += 1;
  if (h.observedWalks) h.walkRefs[0] = 0;
  const pdeAddr = (s[Reg.CR3] & ~0xfff) + ((lin >>> 22) << 2);
  if (plain && !plainRam(h, pdeAddr, 4, false)) return -1;
  let pde = walkRead(h, pdeAddr);
  noteReference(h, 2, pdeAddr, pde, plain);
  if ((pde & 1) === 0) return pageFault(h, lin, 0, write, user, plain, 1);
  let entry = pde, entryAddr = pdeAddr, frame = 0, rw = false, us = false, global = false, refs = 1;
  if ((pde & 0x80) !== 0 && (s[Reg.CR4] & Cr4.PSE) !== 0) {
    // A 4 MiB page: the PDE maps it.
    frame = (pde & 0xffc00000) | (lin & 0x3ff000);
    rw = (pde & 2) !== 0; us = (pde & 4) !== 0; global = (pde & 0x100) !== 0;
  } else {
    entryAddr = (pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2);
    if (plain && !plainRam(h, entryAddr, 4, false)) return -1;
    entry = walkRead(h, entryAddr);
    noteReference(h, 1, entryAddr, entry, plain);
    refs = 2;
    if ((entry & 1) === 0) return pageFault(h, lin, 0, write, user, plain, refs);
    frame = entry & ~0xfff;
    rw = (pde & entry & 2) !== 0; us = (pde & entry & 4) !== 0; global = (entry & 0x100) !== 0;
  }
  const wp = (s[Reg.CR0] & Cr0.WP) !== 0;
  if (user && !us) return pageFault(h, lin, 1, write, user, plain, refs);
  if (write && !rw && (user || wp)) return pageFault(h, lin, 1, write, user, plain, refs);
  const p = frame | (lin & 0xfff);
  if (plain) {
    // The access must be plain RAM, and the accessed / dirty updates below plain stores.
    if (!plainRam(h, p, plainBytes, write)) return -1;
    if ((pde & 0x20) === 0 && h.codePages[pdeAddr >>> 12] !== 0) return -1;
    if ((entry | 0x20 | (write ? 0x40 : 0)) !== entry && h.codePages[entryAddr >>> 12] !== 0) return -1;
    countPlain(h, refs);
  }
  // Accessed bits on both levels; dirty on the mapping entry for a write (SDM 3A 4.8).
  if ((pde & 0x20) === 0) { pde |= 0x20; walkWrite(h, pdeAddr, pde); if (entryAddr === pdeAddr) entry = pde; }
  const updated = entry | 0x20 | (write ? 0x40 : 0);
  if (updated !== entry) walkWrite(h, entryAddr, updated);
  let bits = Tlb.VALID;
  if (rw || !wp) bits |= Tlb.SUP_WRITE;
  if (us) bits |= Tlb.USER_READ;
  if (us && rw) bits |= Tlb.USER_WRITE;
  if ((updated & 0x40) !== 0) bits |= Tlb.DIRTY;
  if (global && (s[Reg.CR4] & Cr4.PGE) !== 0) bits |= Tlb.GLOBAL;
  // Fill the TLB the access belongs to; the model says which page made room.
  const page = lin >>> 12;
  const fetch = access === Access.FETCH;
  const model = fetch ? h.itlb : h.dtlb, map = fetch ? h.itlbMap : h.tlb;
  model.f[TlbModelLayout.MISSES] += 1;
  const evicted = tlbInsert(s, fetch ? Reg.ITLB_LAST_HIT : Reg.DTLB_LAST_HIT, model, page, s[Reg.VPID], (bits & Tlb.GLOBAL) !== 0);
  if (evicted >= 0) map[evicted] = 0;
  map[page] = frame | bits;
  return p;
}

/** A paging-structure entry: from RAM, or from a device through the host (CoreMemory.physRead32). */
/* @inline */ function walkRead(h: HotViews, p: i32): i32 {
  return plainRam(h, p, 4, false) ? ramRead32(h.ram32, h.view, p) : hostPhysRead32(p);
}

/**
 * Stores an updated entry: into RAM, or through the host (CoreMemory.physWrite32) for a
 * device or a page holding decoded code, which the store must invalidate.
 */
/* @inline */ function walkWrite(h: HotViews, p: i32, v: i32): void {
  if (plainRam(h, p, 4, true)) ramWrite32(h.ram32, h.view, p, v);
  else hostPhysWrite32(p, v);
}

/** One reference to a paging structure: counted (a general walk), and recorded while a walk observer listens. */
function noteReference(h: HotViews, level: i32, addr: i32, value: i32, plain: bool): void {
  if (!plain) h.counts[Event.WALK_REFERENCE] += 1;
  if (!h.observedWalks) return;
  const r = h.walkRefs, i = r[0] * 3 + 1;
  r[i] = level; r[i + 1] = addr; r[i + 2] = value;
  r[0] = r[0] + 1;
}

/** What a plain walk that no longer declines counts: the miss and its `refs` references. */
function countPlain(h: HotViews, refs: i32): void {
  h.counts[Event.TLB_MISS] += 1;
  h.counts[Event.WALK_REFERENCE] += <f64>refs;
}

/** Records #PF for `lin` (CR2, the error code: SDM 3A 4.7) and flags it; pageWalk's result. */
function pageFault(h: HotViews, lin: i32, present: i32, write: bool, user: bool, plain: bool, refs: i32): i32 {
  if (plain) countPlain(h, refs);
  h.s[Reg.CR2] = lin;
  flagFault(h.s, Vector.PF, present | (write ? 2 : 0) | (user ? 4 : 0), true);
  return plain ? -1 : 0;
}

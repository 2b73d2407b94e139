// Portable (docs/engine-decision.md): the hot loop, written once and compiled twice. tsc
// builds it into the TS engine (Core.run calls it); asc builds it into the wasm engine
// (assembly/index.ts exports it). It fetches through the decoded-instruction cache and
// executes the commonest 32-bit forms inline on the flat state; anything else (decoding,
// page crossings, other kinds, operands off the flat path) is a call into hotHost.ts,
// which is the TypeScript Core under both engines. Nothing here allocates.
//
// Faults: the loop spills the instruction's EIP, its decode record and the count retired
// so far (Reg.HOT_*) before every call that can fault, so Core.run can finish the
// instruction's bookkeeping without this function's locals. In the TS engine a fault
// unwinds to Core.run's catch (fault.ts throws). In the wasm engine nothing unwinds
// (fault.wasm.ts, vmm/wasmEngine.ts): a fault sets Reg.HOT_FAULTED and the loop returns
// at once, so every host call that can fault is followed by that test, before the
// instruction commits anything.

import { Words, Bytes, Doubles, ramRead32, ramWrite32 } from "../state/flatViews.js";
import { Reg, Flag, Cr0, DECODE_SLOTS, DECODE_WORDS, RETIRE_COUNTER_WORD, Wide } from "../state/layout.js";
import { Kind, AluOp } from "../isa/kind.js";
import { Dw, Info, NO_REG } from "../isa/record.js";
import { Lazy, lazyCond, setLazyKeepCarry } from "./lazyFlags.js";
import { shiftRotate } from "./shift.js";
import { raiseFault } from "./fault.js";
import { Vector } from "./vector.js";
import { tlbHit, tlbInvalidate, FlushCause } from "./tlbHit.js";
import { HotViews } from "./hotViews.js";
import { pageWalk, Access } from "./pageWalk.js";
import { nextSliceHere } from "./sliceRule.js";
import { knownBlockless } from "./blockSkip.js";
import { deliverProtected, iretProtected, countEvent } from "./protectedEvent.js";
export { HotViews };
import {
  hostDecode, hostNextPhys, hostExecute, hostLoad32, hostStore32, hostWriteE, hostReadE, hostAlu, hostRunBlock, hostSettle,
} from "./hotHost.js";

/** Why the hot loop returned. */
export const enum Exit {
  /** The instruction budget ran out. */
  LIMIT = 0,
  /** A complex instruction is decoded at `complexAt` and waits for cpu/. */
  COMPLEX = 1,
  /** A fault is recorded in Reg.EXIT_*; EIP points at the faulting instruction. */
  FAULT = 2,
  /** An instruction changed state the loop caches (TF, IF, interrupt shadow). */
  MODE = 3,
  /**
   * The host settled a complex instruction or a fault inside the loop (runHot with
   * `settle`) and wants the run loop to look around before going on (cpu/cpu.ts).
   */
  SETTLED = 4,
  /**
   * With `events`, the loop executed a complex instruction whole (INT n or IRETD through
   * core/protectedEvent.ts, MOV from CRn, INVLPG) or delivered a fault: CS and CPL may
   * have changed, and the host only looks around (hostSettle).
   */
  EVENT = 5,
}

/**
 * RAM offset of a ModRM memory operand of `size` bytes when the plain path applies (32-bit
 * address through a flat read/write segment, no data breakpoints, not crossing a page,
 * a data-TLB hit or, with `walk`, a plain walk when paging is on, inside RAM, and for
 * writes not in a page holding decoded code), or -1. `flatSegs` (0 under data breakpoints), `paging` and `need` (the
 * TLB bits the access needs) are the memory mirrors as the loop read them at entry.
 */
function flatPhys(h: HotViews, at: i32, info: i32, size: i32, write: bool, flatSegs: i32, paging: bool, need: i32, walk: bool): i32 {
  const ops = h.d[at + Dw.OPS];
  if (!flatOperand(info, ops, flatSegs)) return -1;
  // With `walk`, a data-TLB miss is walked here (a plain walk: core/pageWalk.ts), which may
  // flag #PF; the caller tests Reg.HOT_FAULTED when this answers -1.
  return linPhys(h, modrmOffset(h.s, h.d, at), size, write, paging, need, walk);
}

/**
 * flatPhys() of an operand at offset `ea` through the segment its record's OPS word names
 * (blockCompiler.ts passes the record's words as constants), without walking: a block
 * cannot fault, and leaves a miss to the loop.
 */
export function flatPhysAt(h: HotViews, ea: i32, ops: i32, info: i32, size: i32, write: bool, flatSegs: i32, paging: bool, need: i32): i32 {
  return flatOperand(info, ops, flatSegs) ? linPhys(h, ea, size, write, paging, need, false) : -1;
}

/** A 32-bit address through a flat segment (no data breakpoints: `flatSegs`), whose offset is the linear address. */
function flatOperand(info: i32, ops: i32, flatSegs: i32): bool {
  return (info & Info.A32) !== 0 && ((flatSegs >> ((ops >> 16) & 7)) & 1) !== 0;
}

/**
 * RAM offset of `size` bytes at linear address `lin` when the plain path applies (not
 * crossing a page, a data-TLB hit or with `walk` a plain walk when paging is on, inside
 * RAM, for writes not in a page holding decoded code), or -1: flatPhys() after the
 * segment, and the flat stack's accesses.
 */
function linPhys(h: HotViews, lin: i32, size: i32, write: bool, paging: bool, need: i32, walk: bool): i32 {
  const s = h.s;
  if ((lin & 0xfff) > 0x1000 - size) return -1;
  let phys = lin;
  if (paging) {
    // A data-TLB hit translates here. A miss walks (the general path's walk, counted as
    // it counts it: no hit after it), or takes the general path, which walks.
    const e = h.tlb[lin >>> 12];
    if ((e & need) !== need) return walk ? pageWalk(h, lin, write ? Access.WRITE : Access.READ, s[Reg.CPL] === 3, size) : -1;
    phys = (e & ~0xfff) | (lin & 0xfff);
  }
  // plainRam(), written out: in a block (flatPhysAt) one more call level spent V8's
  // inlining budget (bench-mem-paged, TS engine: 1.03-1.06x the time with the call).
  if (<u32>(phys >>> 0) > <u32>(h.ramBytes - size) || (write && h.codePages[phys >>> 12] !== 0)) return -1;
  // The hit is counted only now: an access sent to the general path is looked up there,
  // and one access is one lookup. A hit on the most recently used page only counts
  // (tlbModel.ts hit()).
  if (paging) {
    if ((lin >>> 12) + 1 === s[Reg.DTLB_LAST_HIT]) s[Reg.DTLB_NEW_HITS]++; else tlbHit(s, Reg.DTLB_LAST_HIT, h.dtlb, lin >>> 12);
  }
  return phys;
}

/**
 * Base + index * scale + displacement of the ModRM memory operand of the record at `at`,
 * wrapped to 32 bits (a 16-bit address takes the low half: Core.ea).
 */
export function modrmOffset(s: Words, d: Words, at: i32): i32 {
  const ops = d[at + Dw.OPS];
  const base = (ops >> 4) & 15, index = (ops >> 8) & 15;
  return ea32(base !== NO_REG ? s[base] : 0, index !== NO_REG ? s[index] : 0, (ops >> 12) & 3, d[at + Dw.DISP]);
}

/** A 32-bit effective address: base + index * 2^scale + displacement, wrapped to 32 bits. */
export function ea32(base: i32, index: i32, scale: i32, disp: i32): i32 {
  return (base + (index << scale) + disp) | 0;
}

/**
 * ADD, OR, ADC, SBB, AND, SUB, XOR or CMP (AluOp `op`) of two 32-bit values: records the
 * lazy flags and returns the result (which CMP discards).
 */
export function alu32(s: Words, op: i32, a: i32, b: i32): i32 {
  switch (op) {
    case AluOp.ADD: return aluAdd(s, a, b);
    case AluOp.SUB: case AluOp.CMP: return aluSub(s, a, b);
    case AluOp.AND: return aluAnd(s, a, b);
    case AluOp.OR: return aluOr(s, a, b);
    case AluOp.XOR: return aluXor(s, a, b);
    default: return hostAlu(op, 4, a, b); // ADC, SBB need the carry; the host records their flags
  }
}

// One function per operation, so that a compiled block (blockCompiler.ts), which knows
// the operation, calls one small enough for V8 to inline. Each records its lazy flags
// (lazyFlags.ts setLazy, size 4) with its own stores rather than through a shared helper:
// the extra call level cost V8's inlining budget in blocks with several ALU operations,
// which then called it out of line (bench-alu, TS engine: 0.83x the time without it).
export function aluAdd(s: Words, a: i32, b: i32): i32 {
  const r = (a + b) | 0; s[Reg.LAZY_OP] = Lazy.ADD; s[Reg.LAZY_SIZE] = 4; s[Reg.LAZY_DST] = a; s[Reg.LAZY_SRC] = b; s[Reg.LAZY_RES] = r; return r;
}
/** SUB, and CMP, which discards the result. */
export function aluSub(s: Words, a: i32, b: i32): i32 {
  const r = (a - b) | 0; s[Reg.LAZY_OP] = Lazy.SUB; s[Reg.LAZY_SIZE] = 4; s[Reg.LAZY_DST] = a; s[Reg.LAZY_SRC] = b; s[Reg.LAZY_RES] = r; return r;
}
export function aluAnd(s: Words, a: i32, b: i32): i32 {
  const r = a & b; s[Reg.LAZY_OP] = Lazy.LOGIC; s[Reg.LAZY_SIZE] = 4; s[Reg.LAZY_DST] = a; s[Reg.LAZY_SRC] = b; s[Reg.LAZY_RES] = r; return r;
}
export function aluOr(s: Words, a: i32, b: i32): i32 {
  const r = a | b; s[Reg.LAZY_OP] = Lazy.LOGIC; s[Reg.LAZY_SIZE] = 4; s[Reg.LAZY_DST] = a; s[Reg.LAZY_SRC] = b; s[Reg.LAZY_RES] = r; return r;
}
export function aluXor(s: Words, a: i32, b: i32): i32 {
  const r = a ^ b; s[Reg.LAZY_OP] = Lazy.LOGIC; s[Reg.LAZY_SIZE] = 4; s[Reg.LAZY_DST] = a; s[Reg.LAZY_SRC] = b; s[Reg.LAZY_RES] = r; return r;
}

/** Whether condition `c` holds (SDM 2A B.1.4.7) for Jcc. */
export function jccTaken(s: Words, c: i32): bool {
  // JE/JNE after any lazily-flagged operation test the stored result directly.
  return (c === 4 || c === 5) && s[Reg.LAZY_OP] !== Lazy.NONE ? (s[Reg.LAZY_RES] === 0) === (c === 4) : lazyCond(s, c);
}

/** INC (or DEC when `dec`) of a 32-bit value: records the flags, keeping CF, and returns the result. */
export function incDec32(s: Words, v: i32, dec: bool): i32 {
  const res = dec ? (v - 1) | 0 : (v + 1) | 0;
  setLazyKeepCarry(s, dec ? Lazy.DEC : Lazy.INC, 4, v, res);
  return res;
}

/**
 * Physical address of the instruction at CS:eip, as Core.nextPhys finds it: translated
 * here on an instruction-TLB hit, by the host (which walks, and may fault) on a miss.
 */
function codePhys(h: HotViews, eip: i32, paging: bool, need: i32, n: i32): i32 {
  const s = h.s;
  const lin = (s[Reg.SEG_BASE + 1] + eip) | 0;
  if (!paging) return lin;
  const e = h.itlbMap[lin >>> 12];
  if ((e & need) !== need) { spill(s, eip, -1, n); return hostNextPhys(eip); }
  tlbHit(s, Reg.ITLB_LAST_HIT, h.itlb, lin >>> 12);
  return (e & ~0xfff) | (lin & 0xfff);
}

/**
 * A fast kind whose operand is off the inline path runs as its general `kind` in the host,
 * with EIP past the instruction as execute() expects; returns the EIP it leaves.
 */
function executeInHost(s: Words, kind: i32, at: i32, info: i32, next: i32): i32 {
  s[Reg.EIP] = next;
  hostExecute(kind, at, info);
  return s[Reg.EIP];
}

/**
 * INT n or IRETD executed whole by core/protectedEvent.ts, as cpu/ would execute it
 * (executeComplex, with the counts of Cpu.deliver): false, with nothing changed, when
 * that does not apply and cpu/ must.
 */
function eventHere(h: HotViews, kind: i32, at: i32, info: i32, next: i32): bool {
  if (kind === Kind.INT) {
    const vector = h.d[at + Dw.IMM] & 0xff;
    if (!deliverProtected(h, vector, 0, false, true, next)) return false;
    countEvent(h, vector);
    return true;
  }
  if (kind !== Kind.IRET || (info & Info.O32) === 0) return false;
  // IRET ends NMI blocking even when it then faults (cpu/system.ts iret()).
  h.s[Reg.NMI_BLOCKED] = 0;
  return iretProtected(h);
}

/**
 * Delivers the fault the loop flagged (Reg.EXIT_*) through core/protectedEvent.ts, after
 * what Cpu.settle does first (Core.unwindFault, clearSpill: the faulting instruction did
 * not retire, and EIP was at it) and with the counts of Cpu.deliverFault and deliver;
 * false, with nothing changed, when cpu/ must deliver it.
 */
function faultHere(h: HotViews): bool {
  const s = h.s;
  const vector = s[Reg.EXIT_VECTOR];
  if (s[Reg.HOT_FAULTED] === 0 || !deliverProtected(h, vector, s[Reg.EXIT_ERROR], s[Reg.EXIT_HAS_ERROR] !== 0, false, s[Reg.HOT_EIP])) return false;
  unwindSpill(h); // EIP is the handler's now, not the faulting instruction's
  clearSpill(s);
  h.wide[Wide.EVENTS_DELIVERED] += 1;
  countEvent(h, vector);
  return true;
}

/**
 * After a fault ended a stretch: takes back the faulting instruction's count (unless the
 * fault came before it was counted: fetch, decode, CS limit), adds the instructions that
 * retired before it, and points INSN_EIP at it, from what the loop spilled (Reg.HOT_*).
 * Core.unwindFault also leaves EIP there.
 */
export function unwindSpill(h: HotViews): void {
  const s = h.s, d = h.d, at = s[Reg.HOT_AT];
  if (s[Reg.UNCOUNTED] === 0 && at >= 0) d[RETIRE_COUNTER_WORD + d[at + Dw.COUNTER]]--;
  s[Reg.UNCOUNTED] = 0;
  s[Reg.INSN_EIP] = s[Reg.HOT_EIP];
  h.wide[Wide.RETIRED] += <f64>s[Reg.HOT_RETIRED];
}

/**
 * The spill words mean something only inside one stretch of the loop: cleared, the state
 * between calls does not depend on how a run was cut into calls (lockstep's replay
 * relies on that), and the next stretch starts with no fault flagged.
 */
export function clearSpill(s: Words): void {
  s[Reg.HOT_EIP] = 0; s[Reg.HOT_AT] = 0; s[Reg.HOT_RETIRED] = 0; s[Reg.HOT_FAULTED] = 0;
}

/**
 * MOV from a control register and INVLPG, which the hot loop executes itself at CPL 0 (SDM
 * 2A MOV, INVLPG: #GP(0) at CPL > 0 and in virtual-8086 mode), as cpu/system.ts would;
 * false, with nothing changed, for anything else, which cpu/ executes.
 */
function systemHere(h: HotViews, kind: i32, at: i32, info: i32): bool {
  const s = h.s;
  if ((s[Reg.CR0] & Cr0.PE) !== 0 && ((s[Reg.EFLAGS] & Flag.VM) !== 0 || s[Reg.CPL] !== 0)) return false;
  const ops = h.d[at + Dw.OPS];
  if (kind === Kind.MOV_R_CR) {
    const cr = ops & 15;
    if (cr === 1 || cr > 4) return false; // #UD: cpu/ raises it
    s[(ops >> 4) & 15] = s[cr === 0 ? Reg.CR0 : Reg.CR0 + cr - 1];
    return true;
  }
  if (kind !== Kind.INVLPG || (info & (Info.A32 | Info.REGFORM)) !== Info.A32) return false;
  // The page leaves both TLBs, global or not (CoreMemory.invalidatePage).
  const page = ((s[Reg.SEG_BASE + ((ops >> 16) & 7)] + modrmOffset(s, h.d, at)) | 0) >>> 12;
  tlbInvalidate(s, Reg.DTLB_LAST_HIT, h.dtlb, h.tlb, page, FlushCause.INVLPG);
  tlbInvalidate(s, Reg.ITLB_LAST_HIT, h.itlb, h.itlbMap, page, FlushCause.INVLPG);
  return true;
}

/** Saves what the fault path in Core.run needs, before a call that can fault. */
function spill(s: Words, eip: i32, at: i32, n: i32): void {
  s[Reg.HOT_EIP] = eip;
  s[Reg.HOT_AT] = at;
  s[Reg.HOT_RETIRED] = n;
}

/**
 * Runs at most `budget` steps (instructions retired, events delivered). Without `settle`
 * it returns at the first complex instruction or fault, for its caller to handle. With
 * `settle` the host handles those itself (hostSettle: cpu/cpu.ts executes the instruction
 * or delivers the fault exactly as its run loop would) and gives the budget of the slice
 * its run loop would run next, or 0 when that loop must look around first (an interrupt
 * became deliverable, a device asked to stop, single-stepping...): a guest kernel's system
 * calls, page faults and IRETs then cost no return to the host's run loop. With `events`
 * too, the loop executes the INT n and IRETD that core/protectedEvent.ts can take whole
 * itself, and the host only looks around after them.
 */
export function runHot(h: HotViews, budget: i32, settle: bool, events: bool): i32 {
  do {
    let exit = runStretch(h, budget, settle && events);
    if (!settle || (exit !== Exit.COMPLEX && exit !== Exit.FAULT && exit !== Exit.EVENT)) return exit;
    // The host's next slice, cut where its run loop would cut it, or 0 to return to that
    // loop. After a fault delivered here the loop knows it itself, unless the host must
    // decide; an Exit.EVENT from runStretch is one after which the slice rule said so.
    budget = -1;
    if (exit === Exit.FAULT && events && faultHere(h)) { exit = Exit.EVENT; budget = nextSliceHere(h); }
    if (budget < 0) budget = hostSettle(exit);
  } while (budget > 0);
  return Exit.SETTLED;
}

/**
 * Runs at most `budget` instructions, up to the first complex instruction or fault. The
 * physical address of the next instruction is carried from one instruction to the next
 * while execution stays within one page, so the translation is only redone when a page
 * boundary is crossed. With `events`, an event it runs itself (systemHere, eventHere) ends
 * the slice, and it goes on with the next slice when core/sliceRule.ts nextSliceHere()
 * gives one (a return and a call per event cost the TS engine 5 % on bench-kernel).
 */
function runStretch(h: HotViews, budget: i32, events: bool): i32 {
  const s = h.s, d = h.d, view = h.view, ram32 = h.ram32, ram = h.ram;
  const blocks = h.blocks;
  // Blocks may start at any branch target, or only where a Jcc or JMP goes back.
  const anyTarget = blocks && !h.loopHeadsOnly;
  // What a slice reads once at its start. CS cannot change inside a slice (every CS load
  // is a complex instruction or an event, which ends it), so its limit, default size and
  // the cache's mode tag are constants there. Nor can paging, the CPL, DR7 or a segment's
  // hidden part: the memory mirrors flatPhys() tests. With data breakpoints armed no
  // segment counts as flat. The stack forms run inline through a flat SS with a 32-bit
  // stack pointer (SS.B = 1).
  let csLimit = 0, code32 = false, modeTag = 0, flatSegs = 0;
  let paging = false, readNeed = 0, writeNeed = 0, flatStack = false;
  let branched = false, n = 0, eip = 0, phys = 0;
  // The budget of the slice the loop starts itself after an event (core/sliceRule.ts), or 0.
  let nextBudget = 0;
  for (;;) {
    csLimit = s[Reg.SEG_LIMIT + 1];
    code32 = s[Reg.CODE32] !== 0;
    modeTag = s[Reg.MODE_TAG];
    flatSegs = s[Reg.WATCHING] !== 0 ? 0 : s[Reg.FLAT_SEGS];
    paging = s[Reg.PAGING] !== 0; readNeed = s[Reg.READ_NEED]; writeNeed = s[Reg.WRITE_NEED];
    flatStack = s[Reg.STACK32] !== 0 && (flatSegs & (1 << 2)) !== 0;
    // Where a slice starts counts as a target too: after an event, an IRET or a far jump.
    branched = anyTarget;
    n = 0;
    eip = s[Reg.EIP];
    phys = codePhys(h, eip, paging, readNeed, 0);
    if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
    while (n < budget) {
      if (branched) {
        // A compiled block at a branch target (core/blockCompiler.ts) runs the straight-line
        // code there in one call. It retires k instructions, none of which can fault, and
        // leaves EIP after the last of them, in the same page.
        branched = false;
        const k = knownBlockless(h, phys) ? 0 : hostRunBlock(eip, phys, budget - n);
        if (k > 0) {
          const e = s[Reg.EIP];
          phys += e - eip; eip = e; n += k;
          // Where a block left (a taken branch, or an instruction it cannot hold) is a
          // target too: a loop's head reached from its tail's block, or code after a PUSH.
          branched = anyTarget;
          continue;
        }
      }
      const start = eip;
      let at = (phys & (DECODE_SLOTS - 1)) * DECODE_WORDS;
      if (d[at] !== (phys ^ modeTag)) {
        spill(s, eip, -1, n);
        at = hostDecode((s[Reg.SEG_BASE + 1] + eip) | 0, phys, at);
        if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
      }
      const info = d[at + Dw.INFO];
      let next = eip + ((info >> Info.LEN_SHIFT) & Info.LEN_MASK);
      // SDM 3A 5.3: every byte of the instruction must lie within the CS limit.
      if (<u32>((next - 1) >>> 0) > <u32>(csLimit >>> 0)) {
        s[Reg.UNCOUNTED] = 1; spill(s, eip, at, n); raiseFault(s, Vector.GP, 0, true); return Exit.FAULT;
      }
      if (!code32) next &= 0xffff;
      const kind = info & Info.KIND_MASK;
      // Counted as retired here, where the record is at hand (cost/event.ts); the paths
      // that leave without retiring (complex, fault, a REP yielding mid-way) take it back.
      d[RETIRE_COUNTER_WORD + d[at + Dw.COUNTER]]++;
      // The memory operand of a fast variant, resolved at one call site: its RAM offset
      // when the flat path applies, else -1 and the case takes the general path.
      let p = -1;
      if (kind >= Kind.FAST_MEM_FIRST && kind <= Kind.FAST_MEM_LAST) {
        const write = kind !== Kind.FAST_LOAD32 && kind !== Kind.FAST_MOVZX_R_M8 && kind !== Kind.FAST_ALU_RM32;
        // A read-modify-write walks twice on the general path (a read, then a write that sets
        // D), which one plain walk would not match: it takes the general path on a miss.
        const rmw = kind === Kind.FAST_ALU_MR32 || kind === Kind.FAST_INC_M32 || kind === Kind.FAST_DEC_M32;
        p = flatPhys(h, at, info, kind === Kind.FAST_MOVZX_R_M8 ? 1 : (info >> Info.SIZE_SHIFT) & Info.SIZE_MASK,
          write, flatSegs, paging, write ? writeNeed : readNeed, !rmw);
        if (p < 0) {
          spill(s, eip, at, n); // the general path, in the host, may fault
          if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT; // so may the loop's walk
        }
      }
      switch (kind) {
        case Kind.FAST_ALU_RR32: case Kind.FAST_ALU_RI32: case Kind.FAST_ALU_RM32: case Kind.FAST_ALU_MR32: {
          const ops = d[at + Dw.OPS];
          const op = (info >> 8) & 0xff;
          let dst = 0, a = 0, b = 0;
          if (kind === Kind.FAST_ALU_RM32) {
            dst = ops & 15; a = s[dst];
            if (p >= 0) b = ramRead32(ram32, view, p);
            else {
              b = hostLoad32(at, info);
              if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
            }
            p = -1; // the result goes to the register
          } else if (kind === Kind.FAST_ALU_MR32) {
            b = s[ops & 15];
            if (p < 0) {
              eip = executeInHost(s, Kind.ALU_EG, at, info, next);
              if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
              n++;
              if (s[Reg.ATTENTION] !== 0) budget = 0;
              break;
            }
            a = ramRead32(ram32, view, p);
          } else { dst = (ops >> 4) & 15; a = s[dst]; b = kind === Kind.FAST_ALU_RR32 ? s[ops & 15] : d[at + Dw.IMM]; }
          const r = alu32(s, op, a, b);
          if (op !== AluOp.CMP) {
            if (p < 0) s[dst] = r; else ramWrite32(ram32, view, p, r);
          }
          eip = next; n++;
          break;
        }
        case Kind.FAST_MOV_RR32: { const ops = d[at + Dw.OPS]; s[(ops >> 4) & 15] = s[ops & 15]; eip = next; n++; break; }
        case Kind.FAST_MOV_RI32: s[(d[at + Dw.OPS] >> 4) & 15] = d[at + Dw.IMM]; eip = next; n++; break;
        case Kind.FAST_LOAD32: {
          if (p >= 0) s[d[at + Dw.OPS] & 15] = ramRead32(ram32, view, p);
          else {
            const v = hostLoad32(at, info);
            if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
            s[d[at + Dw.OPS] & 15] = v;
          }
          eip = next; n++;
          break;
        }
        case Kind.FAST_STORE32: {
          if (p >= 0) { ramWrite32(ram32, view, p, s[d[at + Dw.OPS] & 15]); }
          else {
            hostStore32(at, info, s[d[at + Dw.OPS] & 15]);
            if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
            if (s[Reg.ATTENTION] !== 0) budget = 0;
          }
          eip = next; n++;
          break;
        }
        case Kind.FAST_STORE_IMM: {
          const size = (info >> Info.SIZE_SHIFT) & Info.SIZE_MASK;
          if (p < 0) {
            hostWriteE(at, info, size, d[at + Dw.IMM]);
            if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
            if (s[Reg.ATTENTION] !== 0) budget = 0;
          }
          else if (size === 4) ramWrite32(ram32, view, p, d[at + Dw.IMM]);
          else ram[p] = <u8>d[at + Dw.IMM];
          eip = next; n++;
          break;
        }
        case Kind.FAST_MOVZX_R_M8: {
          if (p >= 0) s[d[at + Dw.OPS] & 15] = <i32>ram[p];
          else {
            const v = hostReadE(at, info, 1);
            if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
            s[d[at + Dw.OPS] & 15] = v;
          }
          eip = next; n++;
          break;
        }
        case Kind.FAST_LEA32: s[d[at + Dw.OPS] & 15] = modrmOffset(s, d, at); eip = next; n++; break;
        case Kind.FAST_INC_R32: case Kind.FAST_DEC_R32: {
          const r = (d[at + Dw.OPS] >> 4) & 15;
          s[r] = incDec32(s, s[r], kind === Kind.FAST_DEC_R32);
          eip = next; n++;
          break;
        }
        case Kind.FAST_INC_M32: case Kind.FAST_DEC_M32: {
          if (p < 0) {
            eip = executeInHost(s, kind === Kind.FAST_INC_M32 ? Kind.INC_E : Kind.DEC_E, at, info, next);
            if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
            if (s[Reg.ATTENTION] !== 0) budget = 0;
          } else {
            ramWrite32(ram32, view, p, incDec32(s, ramRead32(ram32, view, p), kind === Kind.FAST_DEC_M32));
            eip = next;
          }
          n++;
          break;
        }
        case Kind.FAST_SHIFT_RI32: {
          const r = (d[at + Dw.OPS] >> 4) & 15;
          const c = d[at + Dw.IMM] & 0x1f; // SDM 2A SAL: the count is masked to 5 bits
          if (c !== 0) s[r] = shiftRotate(s, (info >> 8) & 0xff, 4, s[r], c);
          eip = next; n++;
          break;
        }
        case Kind.FAST_JCC: case Kind.FAST_JMP_REL: {
          const taken = kind === Kind.FAST_JMP_REL || jccTaken(s, (info >> 8) & 0xff);
          if (taken) {
            let t = next + d[at + Dw.IMM];
            if ((info & Info.O32) === 0) t &= 0xffff;
            // SDM 2A Jcc, JMP: a target outside CS is #GP(0).
            if (<u32>(t >>> 0) > <u32>(csLimit >>> 0)) { spill(s, eip, at, n); raiseFault(s, Vector.GP, 0, true); return Exit.FAULT; }
            branched = anyTarget || (blocks && <u32>(t >>> 0) <= <u32>(eip >>> 0));
            next = t;
          }
          eip = next; n++;
          break;
        }
        case Kind.FAST_PUSH_R32: case Kind.FAST_CALL_REL32: {
          const sp = (s[Reg.ESP] - 4) | 0;
          let target = 0;
          if (kind === Kind.FAST_CALL_REL32) {
            // SDM 2A CALL: the target is checked against the CS limit before anything is pushed.
            target = (next + d[at + Dw.IMM]) | 0;
            if (<u32>(target >>> 0) > <u32>(csLimit >>> 0)) { spill(s, eip, at, n); raiseFault(s, Vector.GP, 0, true); return Exit.FAULT; }
          }
          p = flatStack ? linPhys(h, sp, 4, true, paging, writeNeed, false) : -1;
          if (p < 0) {
            spill(s, eip, at, n);
            next = executeInHost(s, kind === Kind.FAST_CALL_REL32 ? Kind.CALL_REL : Kind.PUSH_E, at, info, next);
            if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
            if (s[Reg.ATTENTION] !== 0) budget = 0;
          } else {
            // PUSH ESP stores the value before the decrement (SDM 2A PUSH).
            const v = kind === Kind.FAST_CALL_REL32 ? next : s[(d[at + Dw.OPS] >> 4) & 15];
            ramWrite32(ram32, view, p, v);
            s[Reg.ESP] = sp;
            if (kind === Kind.FAST_CALL_REL32) { next = target; branched = anyTarget; }
          }
          eip = next; n++;
          break;
        }
        case Kind.FAST_POP_R32: case Kind.FAST_RET32: {
          const sp = s[Reg.ESP];
          p = flatStack ? linPhys(h, sp, 4, false, paging, readNeed, false) : -1;
          if (p < 0) {
            spill(s, eip, at, n);
            next = executeInHost(s, kind === Kind.FAST_RET32 ? Kind.RET_NEAR : Kind.POP_E, at, info, next);
            if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
            if (s[Reg.ATTENTION] !== 0) budget = 0;
          } else {
            const v = ramRead32(ram32, view, p);
            if (kind === Kind.FAST_RET32) {
              // SDM 2A RET: #GP(0) for a return address outside CS, with ESP unchanged.
              if (<u32>(v >>> 0) > <u32>(csLimit >>> 0)) { spill(s, eip, at, n); raiseFault(s, Vector.GP, 0, true); return Exit.FAULT; }
              s[Reg.ESP] = (sp + 4 + d[at + Dw.IMM]) | 0;
              next = v;
              branched = anyTarget;
            } else {
              // POP ESP leaves the popped value in ESP: the increment comes first (SDM 2A POP).
              s[Reg.ESP] = (sp + 4) | 0;
              s[(d[at + Dw.OPS] >> 4) & 15] = v;
            }
          }
          eip = next; n++;
          break;
        }
        default: {
          s[Reg.EIP] = next;
          if (kind >= Kind.COMPLEX_FIRST) {
            s[Reg.COMPLEX_AT] = at;
            s[Reg.INSN_EIP] = eip;
            if (events && (systemHere(h, kind, at, info) || eventHere(h, kind, at, info, next))) {
              // Done and counted like any instruction. The slice ends, and the next starts
              // where the run loop would start it: where slices start decides the
              // instruction-TLB lookups (one at each start), which are counted. The loop
              // starts it itself when the slice rule needs nothing only the host knows.
              h.wide[Wide.RETIRED] += <f64>(n + 1);
              nextBudget = nextSliceHere(h);
              if (nextBudget < 0) return Exit.EVENT;
              budget = 0; // ends this slice; the loop around it starts the next
              continue;
            }
            d[RETIRE_COUNTER_WORD + d[at + Dw.COUNTER]]--; // cpu/ counts it once it completes
            h.wide[Wide.RETIRED] += <f64>n;
            return Exit.COMPLEX;
          }
          spill(s, eip, at, n);
          const mode = hostExecute(kind, at, info);
          if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
          if (mode) {
            h.wide[Wide.RETIRED] += <f64>(n + 1);
            return Exit.MODE;
          }
          next = s[Reg.EIP];
          eip = next;
          // A device asked to look at what this instruction stored: end the slice after it.
          if (s[Reg.ATTENTION] !== 0) budget = 0;
          // A REP string instruction that yields mid-way has not retired yet; return so
          // the run loop can look around (single-step trap, device stop, budget).
          if (s[Reg.REPEATING] !== 0) {
            s[Reg.REPEATING] = 0;
            d[RETIRE_COUNTER_WORD + d[at + Dw.COUNTER]]--;
            h.wide[Wide.RETIRED] += <f64>n;
            return Exit.LIMIT;
          }
          n++;
        }
      }
      // Carry the physical address along while the next instruction is in the same page.
      const within = (phys & 0xfff) + (eip - start);
      if (within >= 0 && within < 0x1000) phys = phys + (eip - start);
      else {
        phys = codePhys(h, eip, paging, readNeed, n);
        if (s[Reg.HOT_FAULTED] !== 0) return Exit.FAULT;
      }
    }
    if (nextBudget === 0) break;
    budget = nextBudget;
    nextBudget = 0;
  }
  s[Reg.EIP] = eip;
  h.wide[Wide.RETIRED] += <f64>n;
  return Exit.LIMIT;
}

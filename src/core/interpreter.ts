// The hot loop: fetch through the decoded-instruction cache, execute the common
// instructions, and return an exit code for anything rare (segment loads, far
// transfers, interrupts, I/O, system instructions), which cpu/ executes in TypeScript.
// Handlers are small methods named after their kind; none allocates.

import { Reg, Flag, Cr0, DECODE_SLOTS, DECODE_WORDS, Wide } from "../state/layout.js";
import { Kind, AluOp, FlagOp, LoopOp } from "../isa/kind.js";
import { decode, Dw, Info, Rep, ByteSource } from "../isa/decode.js";
import { FAULT, raiseFault, Vector } from "./fault.js";
import { CoreFlags, Lazy, sizeMask } from "./flags.js";
import { mul32, imul32, divu64, wide } from "./arith.js";
import { specialize } from "./specialize.js";
import { shiftRotate, shifted } from "./shift.js";
import { Event } from "../cost/event.js";
import { CodePage } from "./memory.js";
import { frameBelowLin, stackAboveLin } from "./stackFrame.js";
import { Exit, runHot, modrmOffset, unwindSpill, clearSpill } from "./hotLoop.js";
import { HotHost, attachHost } from "./hotHost.js";
import { BlockCache, jsEmitter, loopsOnly } from "./blockCompiler.js";

export { Exit } from "./hotLoop.js";

/** Instructions a REP-prefixed string instruction runs before yielding to the loop. */
const REP_CHUNK = 16384;
const SCRATCH = DECODE_SLOTS * DECODE_WORDS;

export class Core extends CoreFlags implements ByteSource, HotHost {
  /**
   * Linear and physical address of the instruction being decoded (for ByteSource): set and
   * used within one decodeAt(), never across instructions, so not part of the flat state.
   */
  private fetchLin = 0;
  private fetchPhysStart = 0;

  // Names for the flat state's words (state/layout.ts Reg, Wide); the loop uses the words.
  /** Instructions retired by this core since creation. */
  get retired(): number { return this.wide[Wide.RETIRED]; }
  set retired(n: number) { this.wide[Wide.RETIRED] = n; }
  /** Decoded record of the complex instruction handed to cpu/. */
  get complexAt(): number { return this.s[Reg.COMPLEX_AT]; }
  set complexAt(at: number) { this.s[Reg.COMPLEX_AT] = at; }
  /** Added to the physical address in a cache tag: bit 31 marks 32-bit code. */
  get modeTag(): number { return this.s[Reg.MODE_TAG]; }
  /** Set by a REP string instruction that stops mid-way to let the loop look around. */
  get repeating(): boolean { return this.s[Reg.REPEATING] !== 0; }
  set repeating(on: boolean) { this.s[Reg.REPEATING] = on ? 1 : 0; }

  /**
   * ByteSource for the decoder. The instruction's first page was translated by whoever
   * asked for the decode (the loop's codePhys, which counted the instruction-TLB lookup of
   * execution entering the page), so its bytes are read there without another lookup: a
   * decode is a host cache fill, and counting its bytes as TLB hits made the counts depend
   * on what the decode cache held (xv6 in lockstep, blocks on against off). The bytes of an
   * instruction that runs into the next page are fetched through paging, as the CPU does.
   */
  byteAt(offset: number): number {
    if ((this.fetchLin & 0xfff) + offset < 0x1000) return this.physRead8((this.fetchPhysStart + offset) | 0);
    return this.physRead8(this.xlateFetch((this.fetchLin + offset) | 0));
  }

  /** Drops every cached decode (after a mode change that alters decoding). */
  flushDecoded(): void {
    const d = this.decoded;
    for (let i = 0; i <= DECODE_SLOTS; i++) d[i * DECODE_WORDS] = -1;
    this.codePages.fill(0);
    for (const page of this.watchedPages) this.codePages[page] = CodePage.WATCHED;
    // With no CODE marks, writes no longer report themselves: every block is suspect.
    const gen = this.codeGen;
    for (let i = 0; i < gen.length; i++) gen[i]++;
  }

  /** Decodes the instruction at `lin` (physical `phys`), caching it when that is safe. */
  decodeAt(lin: number, phys: number, at: number): number {
    this.s[Reg.UNCOUNTED] = 1; // a fault while decoding comes before the instruction is counted
    this.fetchLin = lin;
    this.fetchPhysStart = phys;
    // An instruction that may cross a page, or that lies outside RAM, is not cached: the
    // second page's mapping, or a device, may change without a write we can see.
    const cacheable = (lin & 0xfff) <= 0xff1 && (phys >>> 0) + 16 <= this.ramBytes && phys >= 0;
    if (!cacheable) at = SCRATCH;
    const len = decode(this, this.s[Reg.CODE32] !== 0, this.decoded, at);
    if (len < 0) raiseFault(this.s, Vector.GP, 0, true); // longer than 15 bytes
    this.decoded[at + Dw.INFO] = specialize(this.decoded[at + Dw.INFO]);
    if (cacheable) {
      this.decoded[at + Dw.TAG] = phys ^ this.s[Reg.MODE_TAG];
      this.codePages[phys >>> 12] |= CodePage.CODE;
    } else {
      this.decoded[at + Dw.TAG] = -1;
    }
    this.s[Reg.UNCOUNTED] = 0;
    return at;
  }

  /** Compiled blocks (when enabled: core/blockCompiler.ts). */
  blockCache: BlockCache | null = null;
  /**
   * Set by the wasm engine (vmm/wasmEngine.ts): its loop's HotViews live in the module, so
   * turning blocks on (loops only there: blockCompiler.ts loopsOnly), or a walk observer,
   * goes through it too. `eventPairs` runs `n` INT `vector` + IRETD pairs through the
   * module's own build of core/protectedEvent.ts on this state, for bench/int-iret.mjs,
   * and says how many it did before one declined.
   */
  wasmLoop: {
    setBlocks(on: boolean): void; setObservedWalks(on: boolean): void;
    eventPairs(n: number, vector: number): number;
  } | null = null;

  /**
   * For the wasm engine: its loop keeps HotViews.blockSkip and .slice in its own memory;
   * these views of them become this core's, so the host writes what that loop reads.
   */
  shareLoopArrays(blockSkip: Int32Array, slice: Float64Array): void {
    this.hot.blockSkip = blockSkip;
    this.hot.slice = slice;
  }
  /** Set by the wasm engine (vmm/wasmEngine.ts): runs the same loop compiled by asc on this state. */
  wasmRun: ((budget: number, settle: boolean, events: boolean) => number) | null = null;

  /**
   * Runs at most `budget` instructions through the hot loop (core/hotLoop.ts) of the
   * engine in use, and finishes the bookkeeping of a fault that unwound it.
   */
  run(budget: number): Exit {
    const exit = this.runUnfolded(budget);
    this.foldRetirements();
    return exit;
  }

  /**
   * run() without the foldRetirements() that makes the counters exact: for a caller that
   * calls it many times and folds itself (Cpu.runFor), since the fold costs as much as a
   * short slice of the loop. The int32 counts stay far from overflow for 2^6 calls.
   */
  runUnfolded(budget: number, settle = false, events = false): Exit {
    let exit: Exit;
    const s = this.s;
    try {
      // The host of the TS loop's calls, and of a compiled block's in either engine (a
      // block's ADC or SBB calls alu32, whose general case is hostAlu).
      attachHost(this);
      if (this.wasmRun !== null) exit = this.wasmRun(budget, settle, events);
      else exit = runHot(this.hot, budget, settle, events);
    } catch (e) {
      if (e !== FAULT) throw e;
      exit = this.unwindFault();
    }
    // The wasm engine ends its loop on a fault instead of unwinding it (core/fault.wasm.ts).
    if (s[Reg.HOT_FAULTED] !== 0) exit = this.unwindFault();
    this.clearSpill();
    return exit;
  }

  /** core/hotLoop.ts clearSpill() on this core's state. */
  protected clearSpill(): void {
    clearSpill(this.s);
  }

  /**
   * HotHost.settle: only a Cpu (cpu/cpu.ts) settles the loop's stops itself; a bare Core
   * runs with `settle` off and hands every stop to its caller.
   */
  settle(exit: number): number {
    throw new Error(`Core.settle(${exit}): a bare Core does not settle complex instructions or faults`);
  }

  /**
   * After a fault ended the hot loop: takes back the faulting instruction's count (unless
   * the fault came before it was counted: fetch, decode, CS limit) and leaves EIP at it,
   * from what the loop spilled (Reg.HOT_*).
   */
  protected unwindFault(): Exit {
    this.s[Reg.EIP] = this.s[Reg.HOT_EIP];
    unwindSpill(this.hot);
    return Exit.FAULT;
  }

  /** fetchPhys for the instruction about to be counted: a fault here precedes its count. */
  nextPhys(eip: number): number {
    const s = this.s;
    s[Reg.UNCOUNTED] = 1;
    const phys = this.fetchPhys(eip);
    s[Reg.UNCOUNTED] = 0;
    return phys;
  }

  /** Physical address of the instruction at CS:eip. */
  private fetchPhys(eip: number): number {
    const lin = (this.s[Reg.SEG_BASE + 1] + eip) | 0;
    return this.s[Reg.PAGING] !== 0 ? this.xlateFetch(lin) : lin;
  }

  // --- Operands ------------------------------------------------------------------------

  /**
   * 32-bit read of the ModRM memory operand through the general path (segment checks, TLB),
   * for the hot loop only: a #PF from the walk (a demand fault, the common one) is reported
   * through Reg.HOT_FAULTED, which the loop tests after this call, rather than thrown
   * (CoreMemory.tryWalk); rd32's other faults and rarer paths still throw.
   */
  load32(at: number, info: number): number {
    const s = this.s;
    const lin = this.segRead(this.segOf(at), this.ea(at, info), 4);
    if (s[Reg.WATCHING] !== 0 || (lin & 0xfff) > 0xffc) return this.rd32(lin);
    const p = this.xlateDataOrFlag(lin, false);
    return s[Reg.HOT_FAULTED] !== 0 ? 0 : this.physRead32(p);
  }

  /** 32-bit write of the ModRM memory operand through the general path, as load32 (hot loop only). */
  store32(at: number, info: number, v: number): void {
    const s = this.s;
    const lin = this.segWrite(this.segOf(at), this.ea(at, info), 4);
    if (s[Reg.WATCHING] !== 0 || (lin & 0xfff) > 0xffc) { this.wr32(lin, v); return; }
    const p = this.xlateDataOrFlag(lin, true);
    if (s[Reg.HOT_FAULTED] === 0) this.physWrite32(p, v);
  }

  getReg(size: number, r: number): number {
    const s = this.s;
    if (size === 4) return s[r];
    if (size === 2) return s[r] & 0xffff;
    return r < 4 ? s[r] & 0xff : (s[r - 4] >> 8) & 0xff;
  }

  setReg(size: number, r: number, v: number): void {
    const s = this.s;
    if (size === 4) s[r] = v;
    else if (size === 2) s[r] = (s[r] & ~0xffff) | (v & 0xffff);
    else if (r < 4) s[r] = (s[r] & ~0xff) | (v & 0xff);
    else s[r - 4] = (s[r - 4] & ~0xff00) | ((v & 0xff) << 8);
  }

  /** Effective address (offset within the segment) of the ModRM memory operand. */
  ea(at: number, info: number): number {
    const a = modrmOffset(this.s, this.decoded, at);
    return (info & Info.A32) !== 0 ? a : a & 0xffff;
  }

  segOf(at: number): number {
    return (this.decoded[at + Dw.OPS] >> 16) & 7;
  }

  /** Reads the E operand (register or memory). */
  readE(at: number, info: number, size: number): number {
    if ((info & Info.REGFORM) !== 0) return this.getReg(size, (this.decoded[at + Dw.OPS] >> 4) & 15);
    return this.rd(this.segRead(this.segOf(at), this.ea(at, info), size), size);
  }

  /** Writes the E operand. */
  writeE(at: number, info: number, size: number, v: number): void {
    if ((info & Info.REGFORM) !== 0) this.setReg(size, (this.decoded[at + Dw.OPS] >> 4) & 15, v);
    else this.wr(this.segWrite(this.segOf(at), this.ea(at, info), size), size, v);
  }

  /** Linear address of a memory E operand checked for writing (read-modify-write). */
  linE(at: number, info: number, size: number): number {
    return this.segWrite(this.segOf(at), this.ea(at, info), size);
  }

  // --- Stack (SDM 1 6.2: SS.B selects ESP or SP) ------------------------------------------

  push(size: number, v: number): void {
    const s = this.s;
    if (s[Reg.STACK32] !== 0) {
      const sp = (s[Reg.ESP] - size) | 0;
      this.wr(this.segWrite(2, sp, size), size, v);
      s[Reg.ESP] = sp;
    } else {
      const sp = (s[Reg.ESP] - size) & 0xffff;
      this.wr(this.segWrite(2, sp, size), size, v);
      s[Reg.ESP] = (s[Reg.ESP] & ~0xffff) | sp;
    }
  }

  pop(size: number): number {
    const s = this.s;
    const esp = s[Reg.ESP];
    const sp = s[Reg.STACK32] !== 0 ? esp : esp & 0xffff;
    const v = this.rd(this.segRead(2, sp, size), size);
    if (s[Reg.STACK32] !== 0) s[Reg.ESP] = (esp + size) | 0;
    else s[Reg.ESP] = (esp & ~0xffff) | ((sp + size) & 0xffff);
    return v;
  }

  /** Values for pushFrame() (first pushed first) and from peekFrame(); used at once, never across instructions. */
  readonly frame = new Int32Array(8);

  /**
   * Pushes frame[0..n-1] in that order, as n calls of push(size, ...) would: the same
   * checks, TLB hits, walk, faults and stores. When the segment check passes for the whole
   * frame and it lies in one page, that is one check and one translation; only the first
   * store can fault, before anything is written (interrupt and exception frames).
   */
  pushFrame(size: number, n: number): void {
    const s = this.s, f = this.frame, bytes = size * n;
    const first = s[Reg.WATCHING] !== 0 ? -1 : frameBelowLin(s[Reg.SEG_BASE + 2], s[Reg.SEG_LIMIT + 2],
      s[Reg.SEG_ACCESS + 2], s[Reg.STACK32] !== 0, s[Reg.ESP], size, bytes);
    if (first === -1) {
      for (let i = 0; i < n; i++) this.push(size, f[i]);
      return;
    }
    const p = this.xlateWrite(first);
    // Every store after the first hits the entry the first one found or made.
    if (s[Reg.PAGING] !== 0) this.repeatDataHits(n - 1);
    if ((p >>> 0) + size <= this.ramBytes && this.codePages[p >>> 12] === 0) {
      // The frame is in one page of RAM with no decoded code and no watcher: plain stores.
      const view = this.view;
      for (let i = 0; i < n; i++) {
        if (size === 4) view.setInt32(p - 4 * i, f[i], true); else view.setUint16(p - 2 * i, f[i], true);
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (size === 4) this.physWrite32((p - 4 * i) | 0, f[i]); else this.physWrite16((p - 2 * i) | 0, f[i]);
      }
    }
    s[Reg.ESP] = (s[Reg.ESP] - bytes) | 0;
  }

  /**
   * frame[i] = peek(size, offset + i * size) for i < n, in that order, with the same
   * checks, TLB hits, walk and faults: one check and one translation when the values lie
   * in one page (IRET's frame).
   */
  peekFrame(size: number, offset: number, n: number): void {
    const s = this.s, f = this.frame, bytes = size * n;
    const lin = s[Reg.WATCHING] !== 0 ? -1 : stackAboveLin(s, offset, bytes);
    if (lin === -1) {
      for (let i = 0; i < n; i++) f[i] = this.peek(size, offset + i * size);
      return;
    }
    const p = this.xlateRead(lin);
    if (s[Reg.PAGING] !== 0) this.repeatDataHits(n - 1);
    if ((p >>> 0) + bytes <= this.ramBytes) {
      // All in RAM: no device sees the reads.
      const view = this.view;
      for (let i = 0; i < n; i++) f[i] = size === 4 ? view.getInt32(p + 4 * i, true) : view.getUint16(p + 2 * i, true);
    } else {
      for (let i = 0; i < n; i++) f[i] = size === 4 ? this.physRead32((p + 4 * i) | 0) : this.physRead16((p + 2 * i) | 0);
    }
  }

  /** Reads the stack `offset` bytes above the top without popping. */
  peek(size: number, offset: number): number {
    const s = this.s;
    const sp = s[Reg.STACK32] !== 0 ? (s[Reg.ESP] + offset) | 0 : (s[Reg.ESP] + offset) & 0xffff;
    return this.rd(this.segRead(2, sp, size), size);
  }

  /** Near jump: the target must be inside CS (SDM 2A JMP: #GP(0)). */
  jumpNear(target: number, o32: boolean): void {
    const t = o32 ? target | 0 : target & 0xffff;
    if ((t >>> 0) > (this.s[Reg.SEG_LIMIT + 1] >>> 0)) raiseFault(this.s, Vector.GP, 0, true);
    this.s[Reg.EIP] = t;
  }

  // --- Execution ---------------------------------------------------------------------------

  /** Executes one core-kind instruction; returns true when the loop must stop after it. */
  execute(kind: number, at: number, info: number): boolean {
    const s = this.s, d = this.decoded;
    const size = (info >> Info.SIZE_SHIFT) & Info.SIZE_MASK;
    switch (kind) {
      case Kind.ALU_EG: this.aluEG(at, info, size); break;
      case Kind.ALU_GE: {
        const g = d[at + Dw.OPS] & 15;
        const r = this.alu((info >> 8) & 0xff, size, this.getReg(size, g), this.readE(at, info, size));
        if (((info >> 8) & 0xff) !== AluOp.CMP) this.setReg(size, g, r);
        break;
      }
      case Kind.ALU_EI: this.aluEI(at, info, size); break;
      case Kind.MOV_EG: this.writeE(at, info, size, this.getReg(size, d[at + Dw.OPS] & 15)); break;
      case Kind.MOV_GE: this.setReg(size, d[at + Dw.OPS] & 15, this.readE(at, info, size)); break;
      case Kind.MOV_EI: this.writeE(at, info, size, d[at + Dw.IMM]); break;
      case Kind.TEST_EG: {
        const m = sizeMask(size);
        this.setLazy(Lazy.LOGIC, size, 0, 0, this.readE(at, info, size) & this.getReg(size, d[at + Dw.OPS] & 15) & m);
        break;
      }
      case Kind.TEST_EI: {
        const m = sizeMask(size);
        this.setLazy(Lazy.LOGIC, size, 0, 0, this.readE(at, info, size) & d[at + Dw.IMM] & m);
        break;
      }
      case Kind.INC_E: case Kind.DEC_E: this.incDec(kind, at, info, size); break;
      case Kind.LEA: {
        const g = d[at + Dw.OPS] & 15;
        this.setReg(size, g, this.ea(at, info));
        break;
      }
      case Kind.PUSH_E: this.push(size, this.readE(at, info, size)); break;
      case Kind.POP_E: this.popE(at, info, size); break;
      case Kind.PUSH_I: this.push(size, d[at + Dw.IMM]); break;
      case Kind.CALL_REL: {
        const o32 = (info & Info.O32) !== 0;
        const ret = s[Reg.EIP];
        const target = o32 ? (ret + d[at + Dw.IMM]) | 0 : (ret + d[at + Dw.IMM]) & 0xffff;
        if ((target >>> 0) > (s[Reg.SEG_LIMIT + 1] >>> 0)) raiseFault(s, Vector.GP, 0, true);
        this.push(size, ret);
        s[Reg.EIP] = target;
        break;
      }
      case Kind.RET_NEAR: {
        const target = this.peek(size, 0);
        this.jumpNear(target, (info & Info.O32) !== 0);
        this.pop(size);
        if (d[at + Dw.IMM] !== 0) this.adjustSp(d[at + Dw.IMM]);
        break;
      }
      case Kind.JMP_E: this.jumpNear(this.readE(at, info, size), (info & Info.O32) !== 0); break;
      case Kind.CALL_E: {
        const target = this.readE(at, info, size);
        const t = (info & Info.O32) !== 0 ? target : target & 0xffff;
        if ((t >>> 0) > (s[Reg.SEG_LIMIT + 1] >>> 0)) raiseFault(s, Vector.GP, 0, true);
        this.push(size, s[Reg.EIP]);
        s[Reg.EIP] = t;
        break;
      }
      case Kind.LOOP: this.loop(at, info); break;
      case Kind.MOVZX_GE: {
        const src = (info >> 8) & 0xff;
        this.setReg(size, d[at + Dw.OPS] & 15, this.readE(at, info, src));
        break;
      }
      case Kind.MOVSX_GE: {
        const src = (info >> 8) & 0xff;
        const sh = 32 - src * 8;
        this.setReg(size, d[at + Dw.OPS] & 15, (this.readE(at, info, src) << sh) >> sh);
        break;
      }
      case Kind.NOT_E: {
        if ((info & Info.REGFORM) !== 0) this.writeE(at, info, size, ~this.readE(at, info, size));
        else { const l = this.linE(at, info, size); this.wr(l, size, ~this.rd(l, size)); }
        break;
      }
      case Kind.NEG_E: {
        const m = sizeMask(size);
        const rmw = (info & Info.REGFORM) === 0;
        const l = rmw ? this.linE(at, info, size) : 0;
        const v = rmw ? this.rd(l, size) : this.readE(at, info, size);
        const r = (0 - v) & m;
        if (rmw) this.wr(l, size, r); else this.writeE(at, info, size, r);
        this.setLazy(Lazy.SUB, size, 0, v & m, r);
        break;
      }
      case Kind.MUL_E: this.mul(this.readE(at, info, size), size); break;
      case Kind.IMUL_E: this.imul1(this.readE(at, info, size), size); break;
      case Kind.DIV_E: this.div(this.readE(at, info, size), size); break;
      case Kind.IDIV_E: this.idiv(this.readE(at, info, size), size); break;
      case Kind.IMUL_GE: {
        const g = d[at + Dw.OPS] & 15;
        this.setReg(size, g, this.imul2(this.getReg(size, g), this.readE(at, info, size), size));
        break;
      }
      case Kind.IMUL_GEI:
        this.setReg(size, d[at + Dw.OPS] & 15, this.imul2(this.readE(at, info, size), d[at + Dw.IMM], size));
        break;
      case Kind.SHIFT_E1: this.shiftE(at, info, size, 1); break;
      case Kind.SHIFT_ECL: this.shiftE(at, info, size, s[Reg.ECX] & 0xff); break;
      case Kind.SHIFT_EI: this.shiftE(at, info, size, d[at + Dw.IMM] & 0xff); break;
      case Kind.SHLD_EGI: this.shiftDouble(at, info, size, d[at + Dw.IMM] & 0xff, true); break;
      case Kind.SHLD_EGCL: this.shiftDouble(at, info, size, s[Reg.ECX] & 0xff, true); break;
      case Kind.SHRD_EGI: this.shiftDouble(at, info, size, d[at + Dw.IMM] & 0xff, false); break;
      case Kind.SHRD_EGCL: this.shiftDouble(at, info, size, s[Reg.ECX] & 0xff, false); break;
      case Kind.MOV_E_SEG: {
        const sel = s[Reg.SEG_SEL + (d[at + Dw.OPS] & 15)] & 0xffff;
        // SDM 2A MOV: a register destination with 32-bit operand size receives the
        // zero-extended selector (Pentium Pro and later); memory always gets 16 bits.
        if ((info & Info.REGFORM) !== 0) this.writeE(at, info, size, sel);
        else this.writeE(at, info, 2, sel);
        break;
      }
      case Kind.XCHG_EG: {
        const g = d[at + Dw.OPS] & 15;
        if ((info & Info.REGFORM) !== 0) {
          const e = this.readE(at, info, size);
          this.writeE(at, info, size, this.getReg(size, g));
          this.setReg(size, g, e);
        } else {
          const l = this.linE(at, info, size);
          const e = this.rd(l, size);
          this.wr(l, size, this.getReg(size, g));
          this.setReg(size, g, e);
        }
        break;
      }
      case Kind.XADD_EG: {
        const g = d[at + Dw.OPS] & 15, m = sizeMask(size);
        const rmw = (info & Info.REGFORM) === 0;
        const l = rmw ? this.linE(at, info, size) : 0;
        const e = (rmw ? this.rd(l, size) : this.readE(at, info, size)) & m;
        const src = this.getReg(size, g) & m;
        const r = (e + src) & m;
        if (rmw) this.wr(l, size, r);
        this.setReg(size, g, e);
        if (!rmw) this.writeE(at, info, size, r);
        this.setLazy(Lazy.ADD, size, e, src, r);
        break;
      }
      case Kind.CMPXCHG_EG: {
        const g = d[at + Dw.OPS] & 15, m = sizeMask(size);
        const rmw = (info & Info.REGFORM) === 0;
        const l = rmw ? this.linE(at, info, size) : 0;
        const e = (rmw ? this.rd(l, size) : this.readE(at, info, size)) & m;
        const acc = this.getReg(size, 0) & m;
        this.setLazy(Lazy.SUB, size, acc, e, (acc - e) & m);
        // SDM 2A CMPXCHG: the destination is always written (with itself when unequal).
        if (acc === e) {
          if (rmw) this.wr(l, size, this.getReg(size, g)); else this.writeE(at, info, size, this.getReg(size, g));
        } else {
          if (rmw) this.wr(l, size, e);
          this.setReg(size, 0, e);
        }
        break;
      }
      case Kind.CMPXCHG8B: {
        const l = this.linE(at, info, 8);
        const lo = this.rd32(l), hi = this.rd32(l + 4);
        if (lo === s[Reg.EAX] && hi === s[Reg.EDX]) {
          this.wr32(l, s[Reg.EBX]); this.wr32(l + 4, s[Reg.ECX]);
          this.setArithFlags(Flag.ZF, Flag.ZF);
        } else {
          this.wr32(l, lo); this.wr32(l + 4, hi);
          s[Reg.EAX] = lo; s[Reg.EDX] = hi;
          this.setArithFlags(Flag.ZF, 0);
        }
        break;
      }
      case Kind.BSWAP: {
        const r = (d[at + Dw.OPS] >> 4) & 15, v = s[r];
        s[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
        break;
      }
      case Kind.CMOV: {
        const v = this.readE(at, info, size); // the source is read whatever the condition
        if (this.cond((info >> 8) & 0xff)) this.setReg(size, d[at + Dw.OPS] & 15, v);
        break;
      }
      case Kind.SETCC: this.writeE(at, info, 1, this.cond((info >> 8) & 0xff) ? 1 : 0); break;
      case Kind.PUSH_SEG: this.pushSeg(info, (info >> 8) & 0xff); break;
      case Kind.PUSHA: this.pusha(size); break;
      case Kind.POPA: this.popa(size); break;
      case Kind.ENTER: this.enter(size, d[at + Dw.IMM] & 0xffff, d[at + Dw.IMM2] & 31); break;
      case Kind.LEAVE: {
        const ebp = s[Reg.EBP];
        const sp = s[Reg.STACK32] !== 0 ? ebp : ebp & 0xffff;
        const v = this.rd(this.segRead(2, sp, size), size);
        if (s[Reg.STACK32] !== 0) s[Reg.ESP] = (ebp + size) | 0;
        else s[Reg.ESP] = (s[Reg.ESP] & ~0xffff) | ((sp + size) & 0xffff);
        this.setReg(size, Reg.EBP, v);
        break;
      }
      case Kind.PUSHF: this.pushf(size); break;
      case Kind.POPF: this.popf(size); return true;
      case Kind.CBW:
        if (size === 4) s[Reg.EAX] = (s[Reg.EAX] << 16) >> 16;
        else s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | (((s[Reg.EAX] << 24) >> 24) & 0xffff);
        break;
      case Kind.CWD:
        if (size === 4) s[Reg.EDX] = s[Reg.EAX] >> 31;
        else s[Reg.EDX] = (s[Reg.EDX] & ~0xffff) | (((s[Reg.EAX] << 16) >> 31) & 0xffff);
        break;
      case Kind.LAHF: this.setReg(1, 4, (this.getEflags() & 0xd5) | 2); break;
      case Kind.SAHF: this.setArithFlags(0xd5, this.getReg(1, 4)); break;
      case Kind.XLAT: {
        const off = (info & Info.A32) !== 0 ? (s[Reg.EBX] + (s[Reg.EAX] & 0xff)) | 0 : (s[Reg.EBX] + (s[Reg.EAX] & 0xff)) & 0xffff;
        this.setReg(1, 0, this.rd8(this.segRead(this.segOf(at), off, 1)));
        break;
      }
      case Kind.FLAG_OP: this.flagOp((info >> 8) & 0xff); break;
      case Kind.CLI: this.checkIopl(); s[Reg.EFLAGS] &= ~Flag.IF; break;
      case Kind.STI:
        this.checkIopl();
        if ((s[Reg.EFLAGS] & Flag.IF) === 0) {
          s[Reg.EFLAGS] |= Flag.IF;
          s[Reg.INHIBIT_IRQ] = 1; // SDM 2A STI: interrupts stay blocked for one instruction
        }
        return true;
      case Kind.NOP: break;
      case Kind.BT_EG: this.bitTest(at, info, size, this.getReg(size, d[at + Dw.OPS] & 15), true); break;
      case Kind.BT_EI: this.bitTest(at, info, size, d[at + Dw.IMM] & 0xff, false); break;
      case Kind.BSF: case Kind.BSR: this.bitScan(kind, at, info, size); break;
      case Kind.MOVS: case Kind.STOS: case Kind.LODS: case Kind.CMPS: case Kind.SCAS:
        this.string(kind, at, info, size); break;
      case Kind.DAA: case Kind.DAS: this.decimalAdjust(kind === Kind.DAS); break;
      case Kind.AAA: case Kind.AAS: this.asciiAdjust(kind === Kind.AAS); break;
      case Kind.AAM: {
        const base = d[at + Dw.IMM] & 0xff;
        if (base === 0) raiseFault(s, Vector.DE, 0, false);
        const al = s[Reg.EAX] & 0xff;
        const r = al % base;
        s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | (((al / base) | 0) << 8) | r;
        this.setLazy(Lazy.LOGIC, 1, 0, 0, r);
        break;
      }
      case Kind.AAD: {
        const base = d[at + Dw.IMM] & 0xff;
        const al = s[Reg.EAX] & 0xff, ah = (s[Reg.EAX] >> 8) & 0xff;
        const r = (al + ah * base) & 0xff;
        s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | r;
        this.setLazy(Lazy.LOGIC, 1, 0, 0, r);
        break;
      }
      case Kind.SALC: this.setReg(1, 0, this.cf() !== 0 ? 0xff : 0); break;
      case Kind.BOUND: {
        const idx = this.getReg(size, d[at + Dw.OPS] & 15);
        const off = this.ea(at, info), seg = this.segOf(at);
        const sh = 32 - size * 8;
        const lo = (this.rd(this.segRead(seg, off, size), size) << sh) >> sh;
        const hi = (this.rd(this.segRead(seg, (info & Info.A32) !== 0 ? off + size : (off + size) & 0xffff, size), size) << sh) >> sh;
        const v = (idx << sh) >> sh;
        if (v < lo || v > hi) raiseFault(s, Vector.BR, 0, false);
        break;
      }
      case Kind.FPU: {
        // No x87: CR0.EM or CR0.TS give #NM (SDM 3A 2.5); otherwise the opcode is invalid.
        if ((s[Reg.CR0] & (Cr0.EM | Cr0.TS)) !== 0) raiseFault(s, Vector.NM, 0, false);
        raiseFault(s, Vector.UD, 0, false);
      }
      // falls through (unreachable: raiseFault throws)
      case Kind.WAIT:
        if ((s[Reg.CR0] & (Cr0.MP | Cr0.TS)) === (Cr0.MP | Cr0.TS)) raiseFault(s, Vector.NM, 0, false);
        break;
      default:
        raiseFault(s, Vector.UD, 0, false);
    }
    return false;
  }

  private aluEG(at: number, info: number, size: number): void {
    const d = this.decoded;
    const op = (info >> 8) & 0xff;
    const src = this.getReg(size, d[at + Dw.OPS] & 15);
    if ((info & Info.REGFORM) !== 0) {
      const r = (d[at + Dw.OPS] >> 4) & 15;
      const v = this.alu(op, size, this.getReg(size, r), src);
      if (op !== AluOp.CMP) this.setReg(size, r, v);
    } else if (op === AluOp.CMP) {
      this.alu(op, size, this.readE(at, info, size), src);
    } else {
      const l = this.linE(at, info, size);
      this.wr(l, size, this.alu(op, size, this.rd(l, size), src));
    }
  }

  private aluEI(at: number, info: number, size: number): void {
    const d = this.decoded;
    const op = (info >> 8) & 0xff;
    const imm = d[at + Dw.IMM];
    if ((info & Info.REGFORM) !== 0) {
      const r = (d[at + Dw.OPS] >> 4) & 15;
      const v = this.alu(op, size, this.getReg(size, r), imm);
      if (op !== AluOp.CMP) this.setReg(size, r, v);
    } else if (op === AluOp.CMP) {
      this.alu(op, size, this.readE(at, info, size), imm);
    } else {
      const l = this.linE(at, info, size);
      this.wr(l, size, this.alu(op, size, this.rd(l, size), imm));
    }
  }

  /** Turns block compilation on or off, for the engine in use. */
  setBlocks(on: boolean): void {
    const w = this.wasmLoop;
    // Both engines' blocks are JavaScript over the flat state; the wasm engine's loop
    // reaches one through a wasm-to-JS call, which only a loop's many passes repay.
    const emit = jsEmitter(this.hot);
    this.blockCache = on ? new BlockCache(this.hot, this.codeGen, w === null ? emit : loopsOnly(emit)) : null;
    this.hot.blocks = on;
    if (w !== null) w.setBlocks(on);
  }

  protected override observedWalksChanged(on: boolean): void {
    if (this.wasmLoop !== null) this.wasmLoop.setObservedWalks(on);
  }

  /** The hot loop's hostRunBlock: the compiled block at a branch target, if any (blockCompiler.ts). */
  runBlock(eip: number, phys: number, left: number): number {
    return this.blockCache === null ? 0 : this.blockCache.run(eip, phys, left);
  }

  /** The eight group-1 operations; returns the result masked to size. */
  alu(op: number, size: number, a: number, b: number): number {
    const m = sizeMask(size);
    a &= m; b &= m;
    let r: number;
    switch (op) {
      case AluOp.ADD: r = (a + b) & m; this.setLazy(Lazy.ADD, size, a, b, r); return r;
      case AluOp.OR: r = a | b; this.setLazy(Lazy.LOGIC, size, 0, 0, r); return r;
      case AluOp.ADC: {
        const c = this.cf();
        r = (a + b + c) & m; this.setLazy(c ? Lazy.ADC : Lazy.ADD, size, a, b, r); return r;
      }
      case AluOp.SBB: {
        const c = this.cf();
        r = (a - b - c) & m; this.setLazy(c ? Lazy.SBB : Lazy.SUB, size, a, b, r); return r;
      }
      case AluOp.AND: r = a & b; this.setLazy(Lazy.LOGIC, size, 0, 0, r); return r;
      case AluOp.XOR: r = a ^ b; this.setLazy(Lazy.LOGIC, size, 0, 0, r); return r;
      default: r = (a - b) & m; this.setLazy(Lazy.SUB, size, a, b, r); return r; // SUB, CMP
    }
  }

  private incDec(kind: number, at: number, info: number, size: number): void {
    const m = sizeMask(size);
    const dec = kind === Kind.DEC_E;
    if ((info & Info.REGFORM) !== 0) {
      const r = (this.decoded[at + Dw.OPS] >> 4) & 15;
      const v = this.getReg(size, r) & m;
      const res = (dec ? v - 1 : v + 1) & m;
      this.setReg(size, r, res);
      this.setLazyKeepCarry(dec ? Lazy.DEC : Lazy.INC, size, v, res);
    } else {
      const l = this.linE(at, info, size);
      const v = this.rd(l, size) & m;
      const res = (dec ? v - 1 : v + 1) & m;
      this.wr(l, size, res);
      this.setLazyKeepCarry(dec ? Lazy.DEC : Lazy.INC, size, v, res);
    }
  }

  private popE(at: number, info: number, size: number): void {
    const s = this.s;
    if ((info & Info.REGFORM) !== 0) {
      const v = this.pop(size);
      this.setReg(size, (this.decoded[at + Dw.OPS] >> 4) & 15, v);
      return;
    }
    // SDM 2A POP: a memory destination addressed through ESP uses the incremented ESP.
    const old = s[Reg.ESP];
    const v = this.pop(size);
    try {
      this.writeE(at, info, size, v);
    } catch (e) {
      s[Reg.ESP] = old;
      throw e;
    }
  }

  /** Moves ESP (or SP, with a 16-bit stack) by `bytes`. */
  adjustSp(bytes: number): void {
    const s = this.s;
    if (s[Reg.STACK32] !== 0) s[Reg.ESP] = (s[Reg.ESP] + bytes) | 0;
    else s[Reg.ESP] = (s[Reg.ESP] & ~0xffff) | ((s[Reg.ESP] + bytes) & 0xffff);
  }

  private loop(at: number, info: number): void {
    const s = this.s;
    const sub = (info >> 8) & 0xff;
    const a32 = (info & Info.A32) !== 0;
    let count = a32 ? s[Reg.ECX] : s[Reg.ECX] & 0xffff;
    let take: boolean;
    if (sub === LoopOp.JCXZ) {
      take = count === 0;
    } else {
      count = a32 ? (count - 1) | 0 : (count - 1) & 0xffff;
      if (a32) s[Reg.ECX] = count; else s[Reg.ECX] = (s[Reg.ECX] & ~0xffff) | count;
      take = count !== 0;
      if (sub === LoopOp.LOOPE) take = take && this.zf() !== 0;
      else if (sub === LoopOp.LOOPNE) take = take && this.zf() === 0;
    }
    if (take) this.jumpNear(s[Reg.EIP] + this.decoded[at + Dw.IMM], (info & Info.O32) !== 0);
  }

  private pushSeg(info: number, seg: number): void {
    const s = this.s;
    const size = (info & Info.O32) !== 0 ? 4 : 2;
    // SDM 2A PUSH: with 32-bit operand size recent processors write only the low 16
    // bits and still move ESP by 4.
    const esp = s[Reg.ESP];
    const sp = s[Reg.STACK32] !== 0 ? (esp - size) | 0 : (esp - size) & 0xffff;
    this.wr16(this.segWrite(2, sp, size), s[Reg.SEG_SEL + seg]);
    s[Reg.ESP] = s[Reg.STACK32] !== 0 ? sp : (esp & ~0xffff) | sp;
  }

  private pusha(size: number): void {
    const s = this.s;
    const big = s[Reg.STACK32] !== 0;
    const esp = s[Reg.ESP];
    let sp = big ? esp : esp & 0xffff;
    // Write all eight, then commit ESP, so a fault leaves ESP unchanged.
    for (let r = 0; r < 8; r++) {
      sp = big ? (sp - size) | 0 : (sp - size) & 0xffff;
      const v = r === Reg.ESP ? esp : s[r];
      this.wr(this.segWrite(2, sp, size), size, v);
    }
    s[Reg.ESP] = big ? sp : (esp & ~0xffff) | sp;
  }

  private popa(size: number): void {
    const s = this.s;
    const big = s[Reg.STACK32] !== 0;
    const esp = s[Reg.ESP];
    let sp = big ? esp : esp & 0xffff;
    const values = this.popaValues;
    for (let r = 7; r >= 0; r--) {
      values[r] = this.rd(this.segRead(2, sp, size), size);
      sp = big ? (sp + size) | 0 : (sp + size) & 0xffff;
    }
    for (let r = 0; r < 8; r++) if (r !== Reg.ESP) this.setReg(size, r, values[r]);
    s[Reg.ESP] = big ? sp : (esp & ~0xffff) | sp;
  }
  private readonly popaValues = new Int32Array(8);

  private enter(size: number, alloc: number, level: number): void {
    const s = this.s;
    const big = s[Reg.STACK32] !== 0;
    const oldEsp = s[Reg.ESP], oldEbp = s[Reg.EBP];
    try {
      this.push(size, s[Reg.EBP]);
      const frame = big ? s[Reg.ESP] : s[Reg.ESP] & 0xffff;
      if (level > 0) {
        let bp = big ? s[Reg.EBP] : s[Reg.EBP] & 0xffff;
        for (let i = 1; i < level; i++) {
          bp = big ? (bp - size) | 0 : (bp - size) & 0xffff;
          this.push(size, this.rd(this.segRead(2, bp, size), size));
        }
        this.push(size, frame);
      }
      // SDM 2A ENTER: the allocation is checked by a write at the new stack top.
      const top = big ? (s[Reg.ESP] - alloc) | 0 : (s[Reg.ESP] - alloc) & 0xffff;
      this.segWrite(2, top, 1);
      this.setReg(size, Reg.EBP, frame);
      this.adjustSp(-alloc);
    } catch (e) {
      s[Reg.ESP] = oldEsp; s[Reg.EBP] = oldEbp;
      throw e;
    }
  }

  /** IOPL-sensitive instructions (SDM 3A 20.2.7 for v86; 2A CLI/STI). */
  private checkIopl(): void {
    const s = this.s;
    if ((s[Reg.CR0] & Cr0.PE) === 0) return;
    const iopl = (s[Reg.EFLAGS] >> 12) & 3;
    const cpl = (s[Reg.EFLAGS] & Flag.VM) !== 0 ? 3 : s[Reg.CPL];
    if (cpl > iopl) raiseFault(s, Vector.GP, 0, true);
  }

  private pushf(size: number): void {
    const s = this.s;
    if ((s[Reg.EFLAGS] & Flag.VM) !== 0 && ((s[Reg.EFLAGS] >> 12) & 3) < 3) raiseFault(s, Vector.GP, 0, true);
    // SDM 2A PUSHF: VM and RF are cleared in the image pushed.
    this.push(size, this.getEflags() & ~(Flag.VM | Flag.RF));
  }

  /** POPF with the privilege rules of SDM 2A POPF. */
  private popf(size: number): void {
    const s = this.s;
    const old = this.getEflags();
    const vm = (old & Flag.VM) !== 0;
    const iopl = (old >> 12) & 3;
    if (vm && iopl < 3) raiseFault(s, Vector.GP, 0, true);
    let v = this.pop(size);
    let mask = Flag.ARITH | Flag.TF | Flag.DF | Flag.NT | Flag.IF | Flag.IOPL | Flag.AC | Flag.ID;
    if ((s[Reg.CR0] & Cr0.PE) !== 0) {
      const cpl = vm ? 3 : s[Reg.CPL];
      if (vm || cpl > 0) mask &= ~Flag.IOPL;
      if (!vm && cpl > iopl) mask &= ~Flag.IF;
    }
    if (size === 2) { mask &= 0xffff; v &= 0xffff; }
    this.setEflags(((old & ~mask) | (v & mask)) & ~Flag.RF);
  }

  private flagOp(sub: number): void {
    const s = this.s;
    switch (sub) {
      case FlagOp.CMC: this.setArithFlags(Flag.CF, this.cf() ^ 1); break;
      case FlagOp.CLC: this.setArithFlags(Flag.CF, 0); break;
      case FlagOp.STC: this.setArithFlags(Flag.CF, Flag.CF); break;
      case FlagOp.CLD: s[Reg.EFLAGS] &= ~Flag.DF; break;
      default: s[Reg.EFLAGS] |= Flag.DF; break;
    }
  }

  // --- Multiply and divide (SDM 2A MUL, IMUL, DIV, IDIV) ------------------------------

  /** Sets CF=OF=overflow and SF/ZF/PF from the low result (undefined, so any choice is fine). */
  private mulFlags(overflow: boolean, low: number, size: number): void {
    const m = sizeMask(size);
    const r = low & m;
    let f = (overflow ? Flag.CF | Flag.OF : 0) | (this.parity(r) ? Flag.PF : 0) | (r === 0 ? Flag.ZF : 0);
    if ((r >>> (size * 8 - 1)) & 1) f |= Flag.SF;
    this.setArithFlags(Flag.ARITH, f);
  }

  private mul(src: number, size: number): void {
    const s = this.s;
    if (size === 1) {
      const r = (s[Reg.EAX] & 0xff) * (src & 0xff);
      s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | r;
      this.mulFlags((r >> 8) !== 0, r, 1);
    } else if (size === 2) {
      const r = (s[Reg.EAX] & 0xffff) * (src & 0xffff);
      s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | (r & 0xffff);
      s[Reg.EDX] = (s[Reg.EDX] & ~0xffff) | (r >>> 16);
      this.mulFlags((r >>> 16) !== 0, r, 2);
    } else {
      mul32(s[Reg.EAX], src);
      s[Reg.EAX] = wide.lo; s[Reg.EDX] = wide.hi;
      this.mulFlags(wide.hi !== 0, wide.lo, 4);
    }
  }

  private imul1(src: number, size: number): void {
    const s = this.s;
    if (size === 1) {
      const r = ((s[Reg.EAX] << 24) >> 24) * ((src << 24) >> 24);
      s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | (r & 0xffff);
      this.mulFlags(r !== (r << 24) >> 24, r, 1);
    } else if (size === 2) {
      const r = ((s[Reg.EAX] << 16) >> 16) * ((src << 16) >> 16);
      s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | (r & 0xffff);
      s[Reg.EDX] = (s[Reg.EDX] & ~0xffff) | ((r >> 16) & 0xffff);
      this.mulFlags(r !== (r << 16) >> 16, r, 2);
    } else {
      imul32(s[Reg.EAX], src);
      s[Reg.EAX] = wide.lo; s[Reg.EDX] = wide.hi;
      this.mulFlags(wide.hi !== wide.lo >> 31, wide.lo, 4);
    }
  }

  /** Two- and three-operand IMUL: the truncated product, CF=OF when it did not fit. */
  private imul2(a: number, b: number, size: number): number {
    if (size === 2) {
      const r = ((a << 16) >> 16) * ((b << 16) >> 16);
      this.mulFlags(r !== (r << 16) >> 16, r, 2);
      return r & 0xffff;
    }
    const r = Math.imul(a, b);
    this.mulFlags(a * b !== r, r, 4);
    return r;
  }

  private div(src: number, size: number): void {
    const s = this.s;
    if (size === 1) {
      const dv = src & 0xff, n = s[Reg.EAX] & 0xffff;
      if (dv === 0) raiseFault(s, Vector.DE, 0, false);
      const q = (n / dv) >>> 0;
      if (q > 0xff) raiseFault(s, Vector.DE, 0, false);
      s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | ((n % dv) << 8) | q;
    } else if (size === 2) {
      const dv = src & 0xffff, n = (((s[Reg.EDX] & 0xffff) << 16) | (s[Reg.EAX] & 0xffff)) >>> 0;
      if (dv === 0) raiseFault(s, Vector.DE, 0, false);
      const q = Math.floor(n / dv);
      if (q > 0xffff) raiseFault(s, Vector.DE, 0, false);
      s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | q;
      s[Reg.EDX] = (s[Reg.EDX] & ~0xffff) | (n - q * dv);
    } else {
      const dv = src >>> 0;
      if (dv === 0 || (s[Reg.EDX] >>> 0) >= dv) raiseFault(s, Vector.DE, 0, false);
      divu64(s[Reg.EDX] >>> 0, s[Reg.EAX] >>> 0, dv);
      s[Reg.EAX] = wide.q; s[Reg.EDX] = wide.r;
    }
  }

  private idiv(src: number, size: number): void {
    const s = this.s;
    if (size === 1 || size === 2) {
      const sh = 32 - size * 8;
      const dv = (src << sh) >> sh;
      if (dv === 0) raiseFault(s, Vector.DE, 0, false);
      const n = size === 1 ? (s[Reg.EAX] << 16) >> 16 : ((s[Reg.EDX] & 0xffff) << 16) | (s[Reg.EAX] & 0xffff);
      const q = Math.trunc(n / dv);
      const lim = size === 1 ? 0x80 : 0x8000;
      if (q >= lim || q < -lim) raiseFault(s, Vector.DE, 0, false);
      const r = n - q * dv;
      if (size === 1) s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | ((r & 0xff) << 8) | (q & 0xff);
      else {
        s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | (q & 0xffff);
        s[Reg.EDX] = (s[Reg.EDX] & ~0xffff) | (r & 0xffff);
      }
      return;
    }
    const dv = src | 0;
    if (dv === 0) raiseFault(s, Vector.DE, 0, false);
    let hi = s[Reg.EDX], lo = s[Reg.EAX];
    const negN = hi < 0;
    if (negN) { lo = (~lo + 1) | 0; hi = (~hi + (lo === 0 ? 1 : 0)) | 0; }
    const ad = Math.abs(dv);
    if ((hi >>> 0) >= ad) raiseFault(s, Vector.DE, 0, false);
    divu64(hi >>> 0, lo >>> 0, ad);
    const neg = negN !== dv < 0;
    const q = neg ? -(wide.q >>> 0) : wide.q >>> 0;
    if (q > 0x7fffffff || q < -0x80000000) raiseFault(s, Vector.DE, 0, false);
    s[Reg.EAX] = q | 0;
    s[Reg.EDX] = negN ? -(wide.r >>> 0) | 0 : wide.r;
  }

  // --- Shifts and rotates (SDM 2A SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD) --------

  private shiftE(at: number, info: number, size: number, count: number): void {
    const c = count & 0x1f; // SDM: the count is masked to 5 bits on IA-32
    if (c === 0) {
      this.readE(at, info, size); // the operand is still accessed
      return;
    }
    const rmw = (info & Info.REGFORM) === 0;
    const l = rmw ? this.linE(at, info, size) : 0;
    const v = rmw ? this.rd(l, size) : this.readE(at, info, size);
    const r = shiftRotate(this.s, (info >> 8) & 0xff, size, v, c);
    if (rmw) this.wr(l, size, r); else this.writeE(at, info, size, r);
  }

  private shiftDouble(at: number, info: number, size: number, count: number, left: boolean): void {
    const c = count & 0x1f;
    if (c === 0) { this.readE(at, info, size); return; }
    const bits = size * 8, m = sizeMask(size), top = bits - 1;
    const rmw = (info & Info.REGFORM) === 0;
    const l = rmw ? this.linE(at, info, size) : 0;
    const a = (rmw ? this.rd(l, size) : this.readE(at, info, size)) & m;
    const b = this.getReg(size, this.decoded[at + Dw.OPS] & 15) & m;
    let r: number, cf: number;
    if (size === 4) {
      r = left ? (a << c) | (b >>> (32 - c)) : (a >>> c) | (b << (32 - c));
      cf = left ? (a >>> (32 - c)) & 1 : (a >>> (c - 1)) & 1;
    } else {
      // 16-bit operands with counts above 16 give a result the SDM leaves undefined;
      // this follows the 32-bit concatenation a:b:a, as Intel silicon does.
      if (left) {
        r = c <= 16 ? (a << c) | (b >>> (16 - c)) : (b << (c - 16)) | (a >>> (32 - c));
        cf = c <= 16 ? (a >>> (16 - c)) & 1 : (b >>> (32 - c)) & 1;
      } else {
        r = c <= 16 ? (a >>> c) | (b << (16 - c)) : (b >>> (c - 16)) | (a << (32 - c));
        cf = c <= 16 ? (a >>> (c - 1)) & 1 : (b >>> (c - 17)) & 1;
      }
    }
    r &= m;
    const of = (((r ^ a) >>> top) & 1);
    if (rmw) this.wr(l, size, r); else this.writeE(at, info, size, r);
    shifted(this.s, size, r, cf, of);
  }

  // --- Bit instructions (SDM 2A BT/BTS/BTR/BTC, BSF, BSR) --------------------------------

  private bitTest(at: number, info: number, size: number, offset: number, fromRegister: boolean): void {
    const op = (info >> 8) & 0xff;
    const bits = size * 8;
    let value: number, l = 0;
    const rmw = (info & Info.REGFORM) === 0;
    let bit: number;
    if (rmw) {
      // A register bit offset addresses memory beyond the operand (signed, in operand-size units).
      let off = this.ea(at, info);
      if (fromRegister) {
        const sh = 32 - bits;
        const signed = (offset << sh) >> sh;
        const delta = (signed >> (size === 4 ? 5 : 4)) * size;
        off = (info & Info.A32) !== 0 ? (off + delta) | 0 : (off + delta) & 0xffff;
      }
      bit = offset & (bits - 1);
      l = op === 0 ? this.segRead(this.segOf(at), off, size) : this.segWrite(this.segOf(at), off, size);
      value = this.rd(l, size);
    } else {
      bit = offset & (bits - 1);
      value = this.readE(at, info, size);
    }
    const cf = (value >>> bit) & 1;
    this.setArithFlags(Flag.CF, cf);
    if (op === 0) return;
    const r = op === 1 ? value | (1 << bit) : op === 2 ? value & ~(1 << bit) : value ^ (1 << bit);
    if (rmw) this.wr(l, size, r); else this.writeE(at, info, size, r);
  }

  private bitScan(kind: number, at: number, info: number, size: number): void {
    const v = this.readE(at, info, size) & sizeMask(size);
    if (v === 0) {
      // Destination unchanged (as Intel silicon behaves; the SDM calls it undefined).
      this.setArithFlags(Flag.ZF, Flag.ZF);
      return;
    }
    const r = kind === Kind.BSF ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
    this.setReg(size, this.decoded[at + Dw.OPS] & 15, r);
    this.setArithFlags(Flag.ZF, 0);
  }

  // --- String instructions (SDM 2A MOVS...SCAS, REP prefixes) -----------------------------

  private string(kind: number, at: number, info: number, size: number): void {
    const s = this.s;
    const a32 = (info & Info.A32) !== 0;
    const rep = (info >> Info.REP_SHIFT) & Info.REP_MASK;
    const step = (s[Reg.EFLAGS] & Flag.DF) !== 0 ? -size : size;
    const srcSeg = this.segOf(at);
    if (rep === Rep.NONE) {
      this.stringStep(kind, srcSeg, size, step, a32);
      return;
    }
    const compares = kind === Kind.CMPS || kind === Kind.SCAS;
    // Under single-step each iteration ends with a #DB trap (SDM 3A 17.3.1.4).
    const chunk = (s[Reg.EFLAGS] & Flag.TF) !== 0 ? 1 : REP_CHUNK;
    for (let i = 0; i < chunk; i++) {
      const count = a32 ? s[Reg.ECX] : s[Reg.ECX] & 0xffff;
      if (count === 0) return;
      this.stringStep(kind, srcSeg, size, step, a32);
      this.advance(Reg.ECX, -1, a32); // the count is CX or ECX by address size
      if (compares) {
        const z = this.zf();
        if ((rep === Rep.REPE && z === 0) || (rep === Rep.REPNE && z !== 0)) return;
      }
    }
    // Not finished: run this instruction again (an interrupt could be taken here).
    if ((a32 ? s[Reg.ECX] : s[Reg.ECX] & 0xffff) !== 0) {
      const back = s[Reg.EIP] - ((info >> Info.LEN_SHIFT) & Info.LEN_MASK);
      s[Reg.EIP] = s[Reg.CODE32] !== 0 ? back : back & 0xffff;
      s[Reg.REPEATING] = 1;
    }
  }

  private stringStep(kind: number, srcSeg: number, size: number, step: number, a32: boolean): void {
    const s = this.s;
    const si = a32 ? s[Reg.ESI] : s[Reg.ESI] & 0xffff;
    const di = a32 ? s[Reg.EDI] : s[Reg.EDI] & 0xffff;
    switch (kind) {
      case Kind.MOVS: {
        const v = this.rd(this.segRead(srcSeg, si, size), size);
        this.wr(this.segWrite(0, di, size), size, v);
        this.advance(Reg.ESI, step, a32); this.advance(Reg.EDI, step, a32);
        break;
      }
      case Kind.STOS:
        this.wr(this.segWrite(0, di, size), size, this.getReg(size, 0));
        this.advance(Reg.EDI, step, a32);
        break;
      case Kind.LODS:
        this.setReg(size, 0, this.rd(this.segRead(srcSeg, si, size), size));
        this.advance(Reg.ESI, step, a32);
        break;
      case Kind.CMPS: {
        const a = this.rd(this.segRead(srcSeg, si, size), size);
        const b = this.rd(this.segRead(0, di, size), size);
        this.alu(AluOp.CMP, size, a, b);
        this.advance(Reg.ESI, step, a32); this.advance(Reg.EDI, step, a32);
        break;
      }
      default: { // SCAS
        const b = this.rd(this.segRead(0, di, size), size);
        this.alu(AluOp.CMP, size, this.getReg(size, 0), b);
        this.advance(Reg.EDI, step, a32);
        break;
      }
    }
    this.counts[Event.STRING_ITERATION]++; // counted once the element is done (a fault undoes nothing)
  }

  advance(r: number, step: number, a32: boolean): void {
    const s = this.s;
    if (a32) s[r] = (s[r] + step) | 0;
    else s[r] = (s[r] & ~0xffff) | ((s[r] + step) & 0xffff);
  }

  // --- BCD (SDM 2A DAA, DAS, AAA, AAS) ------------------------------------------------------

  private decimalAdjust(subtract: boolean): void {
    const s = this.s;
    const oldAl = s[Reg.EAX] & 0xff, oldCf = this.cf();
    let al = oldAl, cf = 0, af = 0;
    if ((al & 0xf) > 9 || this.af() !== 0) {
      const t = subtract ? al - 6 : al + 6;
      cf = oldCf | (subtract ? (t < 0 ? 1 : 0) : (t > 0xff ? 1 : 0));
      al = t & 0xff;
      af = 1;
    }
    if (oldAl > 0x99 || oldCf !== 0) {
      al = (subtract ? al - 0x60 : al + 0x60) & 0xff;
      cf = 1;
    }
    s[Reg.EAX] = (s[Reg.EAX] & ~0xff) | al;
    this.setArithFlags(Flag.ARITH, cf | (af ? Flag.AF : 0) | (this.parity(al) ? Flag.PF : 0) | (al === 0 ? Flag.ZF : 0) | (al & 0x80 ? Flag.SF : 0));
  }

  private asciiAdjust(subtract: boolean): void {
    const s = this.s;
    let ax = s[Reg.EAX] & 0xffff;
    let adjust = 0;
    if ((ax & 0xf) > 9 || this.af() !== 0) {
      ax = subtract ? (ax - 6 - 0x100) & 0xffff : (ax + 0x106) & 0xffff;
      adjust = Flag.AF | Flag.CF;
    }
    ax &= 0xff0f;
    s[Reg.EAX] = (s[Reg.EAX] & ~0xffff) | ax;
    const al = ax & 0xff;
    this.setArithFlags(Flag.ARITH, adjust | (this.parity(al) ? Flag.PF : 0) | (al === 0 ? Flag.ZF : 0) | (al & 0x80 ? Flag.SF : 0));
  }
}

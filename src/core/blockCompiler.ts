// Block compilation (docs/engine-decision.md, "Block compilation"). A straight-line run
// of fast instructions that starts at a branch target the hot loop keeps jumping to is
// turned into one function: the operands of each instruction become constants, and there
// is no fetch, tag check or dispatch between them. BlockCache chooses the block and plans
// it (Step); jsEmitter writes the plan as JavaScript, which V8 compiles like any other
// function, for both engines: a block reads and writes the flat state through the same
// views wherever that state lives (the wasm engine's blocks run on its module's memory,
// loops only: loopsOnly). Everything below that decides what a block does is shared.
//
// The generated code is glue only. Every instruction's semantics is a call of the portable
// function the hot loop's own case calls (alu32's and shiftRotate's per-operation functions,
// incDec32, ea32, flatPhysAt, the RAM accessors), so nothing is written twice; what a block may contain, and in what
// order it counts, resolves and stores, mirrors runHot exactly:
// - each instruction's retire counter is incremented, as the loop does before its case (in
//   batches between the places where the block may leave, see PendingCounts);
// - a memory operand off the flat path (TLB miss, breakpoints, MMIO, a code page) leaves
//   the block *before* that instruction, which the loop then runs itself; flatPhysAt has
//   no side effect when it answers -1, so nothing is counted twice;
// - nothing in a block can fault, touch a device or change what the loop caches;
// - a block lies in one 4 KiB page, inside the CS limit, within the loop's budget.
// Lockstep runs its second engine without blocks (cli/main.ts), so lockstep of ts against
// wasm checks this file and jsEmitter against the wasm loop on every guest;
// tests/blocks.test.ts checks each engine's blocks against its own loop.

import { Reg, RETIRE_COUNTER_WORD, DECODE_SLOTS, DECODE_WORDS, BLOCK_SLOTS } from "../state/layout.js";
import { Kind, AluOp, ShiftOp } from "../isa/kind.js";
import { Dw, Info, NO_REG } from "../isa/record.js";
import { HotViews, alu32, aluAdd, aluSub, aluAnd, aluOr, aluXor, incDec32, ea32, flatPhysAt, jccTaken } from "./hotLoop.js";
import { rol, ror, rcx, shl, shr, sar } from "./shift.js";
import { markBlockless } from "./blockSkip.js";
import { ramRead32, ramWrite32 } from "../state/flatViews.js";

/**
 * A compiled block: runs its instructions from `eip` (the block's first), leaves EIP after
 * the last one it ran and returns how many it ran (0: it left before the first). `paging`
 * is 0 or 1.
 */
export type BlockFn = (eip: number, flatSegs: number, paging: number, readNeed: number, writeNeed: number, left: number) => number;

/**
 * Turns a block's plan into code that runs it (jsEmitter below), or null when this emitter
 * leaves such a block to the loop (loopsOnly).
 */
export type BlockEmitter = (plan: BlockPlan) => BlockFn | null;

/**
 * The wasm engine's emitter: `emit`'s blocks for loops only. Its loop reaches a block
 * through a wasm-to-JavaScript call, which a straight-line block of a few instructions
 * does not repay (bench-kernel 1.13x the time with every block, 2026-12-08, bench/ab.mjs);
 * a loop's passes do. The engine's loop asks only where a branch goes back
 * (HotViews.loopHeadsOnly).
 */
export function loopsOnly(emit: BlockEmitter): BlockEmitter {
  return (plan) => (plan.loop === null ? null : emit(plan));
}

/** Executions of a branch target before its block is compiled. */
const COMPILE_AFTER = 16;
/** Longest block, in instructions. */
const MAX_INSNS = 64;
const SLOTS = BLOCK_SLOTS;
/** Heat of a target that cannot start a block (fewer than two instructions would fit). */
const NO_BLOCK = -0x40000000;

/** The kinds a block may hold: the loop's inline cases that cannot fault, branch or end the slice. */
function blockable(kind: number): boolean {
  switch (kind) {
    case Kind.FAST_ALU_RR32: case Kind.FAST_ALU_RI32: case Kind.FAST_MOV_RR32: case Kind.FAST_MOV_RI32:
    case Kind.FAST_INC_R32: case Kind.FAST_DEC_R32: case Kind.FAST_SHIFT_RI32: case Kind.FAST_LEA32:
    case Kind.FAST_ALU_RM32: case Kind.FAST_ALU_MR32: case Kind.FAST_LOAD32: case Kind.FAST_STORE32:
    case Kind.FAST_MOVZX_R_M8: case Kind.FAST_STORE_IMM: case Kind.FAST_INC_M32: case Kind.FAST_DEC_M32:
      return true;
  }
  return false;
}

/** The compiled blocks of one Core, by the physical address of their first instruction. */
export class BlockCache {
  private readonly phys = new Int32Array(SLOTS).fill(-1);
  private readonly mode = new Int32Array(SLOTS);
  /** The code generation of the block's page when it was compiled (CoreMemory.codeGen). */
  private readonly gen = new Int32Array(SLOTS);
  private readonly heat = new Int32Array(SLOTS);
  /** Instructions and bytes of each block. */
  private readonly insns = new Int32Array(SLOTS);
  private readonly bytes = new Int32Array(SLOTS);
  /** Its branch targets' lowest and highest offsets from its start (0 when it has none). */
  private readonly lo = new Int32Array(SLOTS);
  private readonly hi = new Int32Array(SLOTS);
  private readonly fns: (BlockFn | null)[] = new Array<BlockFn | null>(SLOTS).fill(null);
  /** Blocks compiled so far (for reports and tests). */
  compiled = 0;

  constructor(
    private readonly h: HotViews,
    /** Per physical page: bumped whenever decoded code in it is overwritten. */
    private readonly codeGen: Int32Array,
    /** What turns a plan into code: jsEmitter (the TS engine), loopsOnly(jsEmitter) (the wasm engine). */
    private readonly emit: BlockEmitter,
  ) {
    h.blockSkip.fill(0); // what an earlier cache found out is not this one's
  }

  /**
   * Runs the block at `phys` (linear `eip`) if one is compiled, valid and fits `left`
   * instructions, after counting this arrival toward compiling one. Returns the
   * instructions retired (0: none ran, EIP untouched).
   */
  run(eip: number, phys: number, left: number): number {
    const h = this.h, s = h.s;
    const slot = phys & (SLOTS - 1);
    const page = phys >>> 12;
    // A flush of the decode cache clears the page's CODE mark; a write to its code bumps
    // its generation. Either way the block's source may be gone.
    if (this.phys[slot] !== phys || this.mode[slot] !== s[Reg.MODE_TAG] || this.gen[slot] !== this.codeGen[page] ||
        h.codePages[page] === 0) {
      this.phys[slot] = phys; this.mode[slot] = s[Reg.MODE_TAG]; this.gen[slot] = this.codeGen[page];
      this.heat[slot] = 0; this.fns[slot] = null;
    }
    let fn = this.fns[slot];
    if (fn === null) {
      if (++this.heat[slot] < COMPILE_AFTER) {
        if (this.heat[slot] < 0) markBlockless(this.h, phys);
        return 0;
      }
      fn = this.compile(slot, phys);
      if (fn === null) { this.heat[slot] = NO_BLOCK; markBlockless(this.h, phys); return 0; }
    }
    if (this.insns[slot] > left || s[Reg.CODE32] === 0) return 0;
    // SDM 3A 5.3: every byte of every instruction inside the CS limit (the loop checks each).
    // SDM 2A Jcc: a target outside it is #GP(0), which the loop raises, not a block.
    const limit = s[Reg.SEG_LIMIT + 1] >>> 0;
    if ((eip + this.bytes[slot] - 1) >>> 0 > limit || (eip + this.lo[slot]) >>> 0 > limit || (eip + this.hi[slot]) >>> 0 > limit) return 0;
    const flatSegs = s[Reg.WATCHING] !== 0 ? 0 : s[Reg.FLAT_SEGS];
    return fn(eip, flatSegs, s[Reg.PAGING] !== 0 ? 1 : 0, s[Reg.READ_NEED], s[Reg.WRITE_NEED], left);
  }

  /**
   * The 32-bit Jcc or JMP rel cached at `p` (`off` bytes into the block) when it jumps
   * back to the block's first instruction and lies in the same page, else null.
   */
  private branchBack(p: number, off: number, modeTag: number): { cond: number; len: number; counter: number } | null {
    const d = this.h.d;
    const at = this.recordAt(p, modeTag);
    if (at < 0) return null;
    const info = d[at + Dw.INFO];
    const kind = info & Info.KIND_MASK;
    if ((kind !== Kind.FAST_JCC && kind !== Kind.FAST_JMP_REL) || (info & Info.O32) === 0) return null;
    const len = (info >> Info.LEN_SHIFT) & Info.LEN_MASK;
    if (off + len + d[at + Dw.IMM] !== 0) return null;
    return { cond: kind === Kind.FAST_JCC ? (info >> 8) & 0xff : -1, len, counter: RETIRE_COUNTER_WORD + d[at + Dw.COUNTER] };
  }

  /**
   * The decode record cached for the instruction at `p`, or -1. The instruction and the
   * next one's start must stay in this page (so the loop's phys carry holds after the
   * block): starting at most 0xff0 into the page, an instruction of at most 15 bytes ends
   * in it (and decodeAt caches none that may cross).
   */
  private recordAt(p: number, modeTag: number): number {
    if ((p & 0xfff) > 0xff0) return -1;
    const at = (p & (DECODE_SLOTS - 1)) * DECODE_WORDS;
    return this.h.d[at + Dw.TAG] === (p ^ modeTag) ? at : -1;
  }

  /** Plans the block at `phys` and has it emitted; null when no block fits there. */
  private compile(slot: number, phys: number): BlockFn | null {
    const plan = this.plan(phys);
    if (plan === null) return null;
    const fn = this.emit(plan);
    if (fn === null) return null;
    this.fns[slot] = fn; this.insns[slot] = plan.insns; this.bytes[slot] = plan.bytes; this.lo[slot] = plan.lo; this.hi[slot] = plan.hi;
    this.compiled++;
    return fn;
  }

  /**
   * The block starting at `phys`, from the decode cache as it stands: the loop has run
   * these instructions before, so their records are there unless evicted, and the block
   * ends at the first one that is not (nothing is decoded here, which could fault).
   */
  private plan(phys: number): BlockPlan | null {
    const d = this.h.d, s = this.h.s;
    if (s[Reg.CODE32] === 0) return null;
    const modeTag = s[Reg.MODE_TAG];
    const steps: BlockStep[] = [];
    const counts = new PendingCounts(steps);
    let off = 0, n = 0, ended = false;
    // The nearest and farthest branch targets, as offsets from the block's start.
    let lo = 0, hi = 0;
    while (n < MAX_INSNS) {
      const at = this.recordAt(phys + off, modeTag);
      if (at < 0) break;
      const info = d[at + Dw.INFO];
      const kind = info & Info.KIND_MASK;
      const len = (info >> Info.LEN_SHIFT) & Info.LEN_MASK;
      const counter = RETIRE_COUNTER_WORD + d[at + Dw.COUNTER];
      if (kind === Kind.FAST_JCC || kind === Kind.FAST_JMP_REL) {
        // A branch inside the page leaves the block when taken (JMP: always, and ends it);
        // one back to the block's start closes a loop instead (below).
        const target = off + len + d[at + Dw.IMM];
        if ((info & Info.O32) === 0 || target === 0) break;
        if ((phys & 0xfff) + target < 0 || (phys & 0xfff) + target > 0xfff) break;
        lo = Math.min(lo, target); hi = Math.max(hi, target);
        counts.add(counter);
        counts.flush();
        steps.push({ step: Step.EXIT_IF, cond: kind === Kind.FAST_JMP_REL ? -1 : (info >> 8) & 0xff, to: target, ret: n + 1 });
        off += len; n++;
        if (kind === Kind.FAST_JMP_REL) { ended = true; break; }
        continue;
      }
      if (!blockable(kind)) break;
      const ops = d[at + Dw.OPS], disp = d[at + Dw.DISP];
      if (kind >= Kind.FAST_MEM_FIRST && kind <= Kind.FAST_MEM_LAST) {
        // As the loop: which operands are writes, and MOVZX reads one byte. An operand off
        // the flat path leaves before the instruction, with the counts so far added.
        const write = kind !== Kind.FAST_LOAD32 && kind !== Kind.FAST_MOVZX_R_M8 && kind !== Kind.FAST_ALU_RM32;
        const size = kind === Kind.FAST_MOVZX_R_M8 ? 1 : (info >> Info.SIZE_SHIFT) & Info.SIZE_MASK;
        counts.flush();
        steps.push({ step: Step.RESOLVE, ops, info, disp, size, write, to: off, ret: n });
      }
      counts.add(counter);
      // SDM 2A SAL: the count is masked to 5 bits; 0 changes nothing (no flags either).
      const imm = kind === Kind.FAST_SHIFT_RI32 ? d[at + Dw.IMM] & 0x1f : d[at + Dw.IMM];
      if (kind !== Kind.FAST_SHIFT_RI32 || imm !== 0) steps.push({ step: Step.EXEC, kind, info, ops, disp, imm });
      off += len; n++;
    }
    if (n < 2) return null;
    const back = ended ? null : this.branchBack(phys + off, off, modeTag);
    if (back !== null) counts.add(back.counter);
    counts.flush();
    // A loop: the block ends in a Jcc or JMP back to its own first instruction, in this
    // page (so the loop's code-TLB carry would not look anything up either).
    return back === null
      ? { steps, loop: null, insns: n, bytes: off, lo, hi }
      : { steps, loop: { cond: back.cond, after: off + back.len }, insns: n + 1, bytes: off + back.len, lo, hi };
  }
}

/** What a block does, step by step, in the order runHot would do it (the emitters' input). */
export const enum Step {
  /** d[counter] += n: retire counts, added in one go (PendingCounts). */
  COUNT,
  /**
   * p = the RAM offset of the instruction's memory operand (flatPhysAt), or leave before
   * it: EIP = eip + to, return ret (+ k in a loop).
   */
  RESOLVE,
  /** The instruction of `kind` (runHot's case on the flat path), p resolved when it has a memory operand. */
  EXEC,
  /** A branch: when condition `cond` holds (-1: always), EIP = eip + to, return ret (+ k in a loop). */
  EXIT_IF,
}

export type BlockStep =
  | { step: Step.COUNT; counter: number; n: number }
  | { step: Step.RESOLVE; ops: number; info: number; disp: number; size: number; write: boolean; to: number; ret: number }
  | { step: Step.EXEC; kind: number; info: number; ops: number; disp: number; imm: number }
  | { step: Step.EXIT_IF; cond: number; to: number; ret: number };

/**
 * A block as BlockCache.plan() chose it. Without `loop` it runs `steps` once and ends with
 * EIP = eip + bytes, returning `insns`. With it the block ends in a Jcc (`cond`; -1: JMP)
 * back to its start, `after` bytes in: it goes round while the budget allows a whole turn,
 * k counting what earlier turns retired; after each turn (k += insns) it leaves at
 * eip + after when the branch is not taken, and at eip when one more turn would not fit.
 */
export interface BlockPlan {
  steps: BlockStep[];
  loop: { cond: number; after: number } | null;
  insns: number;
  bytes: number;
  lo: number;
  hi: number;
}

/**
 * Retire counts not yet added: a block adds them in one go at each place where it may
 * leave (before a memory operand's check, at a branch, at its end), so the counters are
 * exact wherever the loop can see them and a run of instructions costs one add per counter.
 */
class PendingCounts {
  private readonly n = new Map<number, number>();
  constructor(private readonly steps: BlockStep[]) {}
  add(counter: number): void { this.n.set(counter, (this.n.get(counter) ?? 0) + 1); }
  flush(): void {
    for (const [counter, n] of this.n) this.steps.push({ step: Step.COUNT, counter, n });
    this.n.clear();
  }
}

/** The registers (0..7) a plan reads or writes, and those it writes (spilled at every exit). */
function planRegs(plan: BlockPlan): { used: Set<number>; written: Set<number> } {
  const used = new Set<number>(), written = new Set<number>();
  const ea = (ops: number): void => {
    const base = (ops >> 4) & 15, index = (ops >> 8) & 15;
    if (base !== NO_REG) used.add(base);
    if (index !== NO_REG) used.add(index);
  };
  for (const st of plan.steps) {
    if (st.step === Step.RESOLVE) ea(st.ops);
    if (st.step !== Step.EXEC) continue;
    const reg = st.ops & 15, rm = (st.ops >> 4) & 15;
    const keep = ((st.info >> 8) & 0xff) !== AluOp.CMP;
    switch (st.kind) {
      case Kind.FAST_ALU_RR32: used.add(rm); used.add(reg); if (keep) written.add(rm); break;
      case Kind.FAST_ALU_RI32: used.add(rm); if (keep) written.add(rm); break;
      case Kind.FAST_MOV_RR32: used.add(reg); used.add(rm); written.add(rm); break;
      case Kind.FAST_MOV_RI32: case Kind.FAST_INC_R32: case Kind.FAST_DEC_R32: case Kind.FAST_SHIFT_RI32:
        used.add(rm); written.add(rm); break;
      case Kind.FAST_LEA32: ea(st.ops); used.add(reg); written.add(reg); break;
      case Kind.FAST_LOAD32: case Kind.FAST_MOVZX_R_M8: used.add(reg); written.add(reg); break;
      case Kind.FAST_ALU_RM32: used.add(reg); if (keep) written.add(reg); break;
      case Kind.FAST_STORE32: case Kind.FAST_ALU_MR32: used.add(reg); break;
    }
  }
  return { used, written };
}

/** The name of alu32's per-operation function for `op` (ADC, SBB: alu32 itself, which takes op). */
function aluFunction(op: number): "aluAdd" | "aluSub" | "aluAnd" | "aluOr" | "aluXor" | "alu32" {
  switch (op) {
    case AluOp.ADD: return "aluAdd";
    case AluOp.SUB: case AluOp.CMP: return "aluSub";
    case AluOp.AND: return "aluAnd";
    case AluOp.OR: return "aluOr";
    case AluOp.XOR: return "aluXor";
    default: return "alu32"; // ADC, SBB
  }
}

/** The name of shiftRotate's per-operation function for `op` (RCL, RCR: rcx, which takes op). */
function shiftFunction(op: number): "rol" | "ror" | "rcx" | "shl" | "shr" | "sar" {
  switch (op) {
    case ShiftOp.ROL: return "rol";
    case ShiftOp.ROR: return "ror";
    case ShiftOp.RCL: case ShiftOp.RCR: return "rcx";
    case ShiftOp.SHL: case ShiftOp.SAL: return "shl";
    case ShiftOp.SHR: return "shr";
    default: return "sar";
  }
}

/**
 * The TS engine's emitter: a plan as one JavaScript function over `h`'s views. Registers
 * live in locals and go back to the state at every exit.
 */
export function jsEmitter(h: HotViews): BlockEmitter {
  return (plan) => {
    const { used, written } = planRegs(plan);
    const spill = [...written].map((x) => `s[${x}] = r${x};`).join(" ");
    const k = plan.loop === null ? "" : "k + ";
    const leave = (to: number | string, ret: string | number): string => `${spill} s[${Reg.EIP}] = ${to === 0 ? "eip" : `(eip + ${to}) | 0`}; return ${ret};`;
    const ea = (ops: number, disp: number): string => {
      const base = (ops >> 4) & 15, index = (ops >> 8) & 15;
      return `ea32(${base !== NO_REG ? `r${base}` : 0}, ${index !== NO_REG ? `r${index}` : 0}, ${(ops >> 12) & 3}, ${disp})`;
    };
    const lines: string[] = [];
    for (const st of plan.steps) {
      switch (st.step) {
        case Step.COUNT: lines.push(`d[${st.counter}] += ${st.n};`); break;
        case Step.RESOLVE:
          lines.push(`p = flatPhysAt(h, ${ea(st.ops, st.disp)}, ${st.ops}, ${st.info}, ${st.size}, ${st.write}, flatSegs, paging, ${st.write ? "writeNeed" : "readNeed"});`);
          lines.push(`if (p < 0) { ${leave(st.to, k + st.ret)} }`);
          break;
        case Step.EXEC: lines.push(jsInstruction(st.kind, st.info, st.ops, st.disp, st.imm, ea)); break;
        case Step.EXIT_IF: lines.push(`if (${st.cond < 0 ? "true" : `jccTaken(s, ${st.cond})`}) { ${leave(st.to, k + st.ret)} }`); break;
      }
    }
    let body: string;
    if (plan.loop === null) body = `${lines.join("\n")}\n${leave(plan.bytes, plan.insns)}`;
    else {
      const taken = plan.loop.cond < 0 ? "true" : `jccTaken(s, ${plan.loop.cond})`;
      body = `let k = 0;\nfor (;;) {\n${lines.join("\n")}\nk += ${plan.insns};\n` +
        `if (!(${taken})) { ${leave(plan.loop.after, "k")} }\n` +
        `if (k + ${plan.insns} > left) { ${leave(0, "k")} }\n}`;
    }
    const entry = used.size > 0 ? `let p = 0, ${[...used].map((x) => `r${x} = s[${x}]`).join(", ")};` : "let p = 0;";
    const make = new Function("s", "d", "h", "alu32", "aluAdd", "aluSub", "aluAnd", "aluOr", "aluXor", "incDec32", "rol", "ror", "rcx", "shl", "shr", "sar", "ea32", "flatPhysAt",
      "ramRead32", "ramWrite32", "jccTaken",
      `return function block(eip, flatSegs, pagingBit, readNeed, writeNeed, left) {\nconst paging = pagingBit !== 0;\n${entry}\n${body}\n};`);
    return make(h.s, h.d, h, alu32, aluAdd, aluSub, aluAnd, aluOr, aluXor, incDec32, rol, ror, rcx, shl, shr, sar, ea32, flatPhysAt, ramRead32, ramWrite32, jccTaken) as BlockFn;
  };
}

/**
 * JavaScript for one instruction, as runHot's case for `kind` does it on the flat path
 * (p holds a memory operand's RAM offset).
 */
function jsInstruction(kind: number, info: number, ops: number, disp: number, imm: number, ea: (ops: number, disp: number) => string): string {
  const op = (info >> 8) & 0xff;
  const reg = `r${ops & 15}`, rm = `r${(ops >> 4) & 15}`;
  const keep = op !== AluOp.CMP;
  const alu = (a: string, b: string): string => { const f = aluFunction(op); return f === "alu32" ? `alu32(s, ${op}, ${a}, ${b})` : `${f}(s, ${a}, ${b})`; };
  switch (kind) {
    case Kind.FAST_ALU_RR32: return keep ? `${rm} = ${alu(rm, reg)};` : `${alu(rm, reg)};`;
    case Kind.FAST_ALU_RI32: return keep ? `${rm} = ${alu(rm, String(imm))};` : `${alu(rm, String(imm))};`;
    case Kind.FAST_MOV_RR32: return `${rm} = ${reg};`;
    case Kind.FAST_MOV_RI32: return `${rm} = ${imm};`;
    case Kind.FAST_INC_R32: case Kind.FAST_DEC_R32: return `${rm} = incDec32(s, ${rm}, ${kind === Kind.FAST_DEC_R32});`;
    case Kind.FAST_SHIFT_RI32: {
      const f = shiftFunction(op);
      return f === "rcx" ? `${rm} = rcx(s, ${op}, 4, ${rm}, ${imm});` : `${rm} = ${f}(s, 4, ${rm}, ${imm});`;
    }
    case Kind.FAST_LEA32: return `${reg} = ${ea(ops, disp)};`;
    case Kind.FAST_LOAD32: return `${reg} = ramRead32(h.ram32, h.view, p);`;
    case Kind.FAST_STORE32: return `ramWrite32(h.ram32, h.view, p, ${reg});`;
    case Kind.FAST_MOVZX_R_M8: return `${reg} = h.ram[p];`;
    case Kind.FAST_ALU_RM32: return keep ? `${reg} = ${alu(reg, "ramRead32(h.ram32, h.view, p)")};` : `${alu(reg, "ramRead32(h.ram32, h.view, p)")};`;
    case Kind.FAST_ALU_MR32:
      return keep ? `ramWrite32(h.ram32, h.view, p, ${alu("ramRead32(h.ram32, h.view, p)", reg)});` : `${alu("ramRead32(h.ram32, h.view, p)", reg)};`;
    case Kind.FAST_STORE_IMM:
      return ((info >> Info.SIZE_SHIFT) & Info.SIZE_MASK) === 4 ? `ramWrite32(h.ram32, h.view, p, ${imm});` : `h.ram[p] = ${imm & 0xff};`;
    case Kind.FAST_INC_M32: case Kind.FAST_DEC_M32:
      return `ramWrite32(h.ram32, h.view, p, incDec32(s, ramRead32(h.ram32, h.view, p), ${kind === Kind.FAST_DEC_M32}));`;
  }
  throw new Error(`blockCompiler: kind ${kind} is not blockable`);
}

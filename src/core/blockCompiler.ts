// Block compilation for the TS engine (docs/engine-decision.md, "Block compilation"). A
// straight-line run of fast instructions that starts at a branch target the hot loop
// keeps jumping to is turned into one JavaScript function: the operands of each
// instruction become constants, and there is no fetch, tag check or dispatch between
// them. V8 compiles that function to machine code like any other.
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
// The wasm engine has no blocks (HotViews.blocks is false there), so lockstep of the two
// engines checks this file against the interpreter on every guest.

import { Reg, RETIRE_COUNTER_WORD, DECODE_SLOTS, DECODE_WORDS } from "../state/layout.js";
import { Kind, AluOp, ShiftOp } from "../isa/kind.js";
import { Dw, Info, NO_REG } from "../isa/record.js";
import { HotViews, alu32, aluAdd, aluSub, aluAnd, aluOr, aluXor, incDec32, ea32, flatPhysAt, jccTaken } from "./hotLoop.js";
import { rol, ror, rcx, shl, shr, sar } from "./shift.js";
import { ramRead32, ramWrite32 } from "../state/flatViews.js";

/**
 * A compiled block: runs its instructions from `eip` (the block's first), leaves EIP after
 * the last one it ran and returns how many it ran (0: it left before the first).
 */
type BlockFn = (s: Int32Array, d: Int32Array, h: HotViews, eip: number, flatSegs: number, paging: boolean, readNeed: number, writeNeed: number, left: number) => number;

/** Executions of a branch target before its block is compiled. */
const COMPILE_AFTER = 16;
/** Longest block, in instructions. */
const MAX_INSNS = 64;
const SLOTS = 4096;
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
  ) {}

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
      if (++this.heat[slot] < COMPILE_AFTER) return 0;
      fn = this.compile(slot, eip, phys);
      if (fn === null) { this.heat[slot] = NO_BLOCK; return 0; }
    }
    if (this.insns[slot] > left || s[Reg.CODE32] === 0) return 0;
    // SDM 3A 5.3: every byte of every instruction inside the CS limit (the loop checks each).
    // SDM 2A Jcc: a target outside it is #GP(0), which the loop raises, not a block.
    const limit = s[Reg.SEG_LIMIT + 1] >>> 0;
    if ((eip + this.bytes[slot] - 1) >>> 0 > limit || (eip + this.lo[slot]) >>> 0 > limit || (eip + this.hi[slot]) >>> 0 > limit) return 0;
    const flatSegs = s[Reg.WATCHING] !== 0 ? 0 : s[Reg.FLAT_SEGS];
    return fn(s, h.d, h, eip, flatSegs, s[Reg.PAGING] !== 0, s[Reg.READ_NEED], s[Reg.WRITE_NEED], left);
  }

  /**
   * The 32-bit Jcc or JMP rel cached at `p` (`off` bytes into the block) when it jumps
   * back to the block's first instruction and lies in the same page, else null.
   */
  private branchBack(p: number, off: number, modeTag: number): LoopBranch | null {
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

  /**
   * Builds the block starting at `phys` from the decode cache as it stands: the loop has
   * run these instructions before, so their records are there unless evicted, and the
   * block ends at the first one that is not (nothing is decoded here, which could fault).
   */
  private compile(slot: number, eip: number, phys: number): BlockFn | null {
    const d = this.h.d, s = this.h.s;
    if (s[Reg.CODE32] === 0) return null;
    const modeTag = s[Reg.MODE_TAG];
    const lines: string[] = [];
    const g = new BlockRegs();
    const counts = new PendingCounts();
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
        const taken = kind === Kind.FAST_JMP_REL ? "true" : `jccTaken(s, ${(info >> 8) & 0xff})`;
        counts.add(counter);
        lines.push(`${counts.flush()}if (${taken}) { ${SPILL} s[${Reg.EIP}] = (eip + ${target}) | 0; return ${n + 1}; }`);
        off += len; n++;
        if (kind === Kind.FAST_JMP_REL) { ended = true; break; }
        continue;
      }
      if (!blockable(kind)) break;
      lines.push(instruction(g, counts, kind, info, d[at + Dw.OPS], d[at + Dw.DISP], d[at + Dw.IMM], counter, n, off));
      off += len; n++;
    }
    if (n < 2) return null;
    let body: string, insns = n, bytes = off;
    const loop = ended ? null : this.branchBack(phys + off, off, modeTag);
    if (loop === null) {
      body = `${lines.join("\n")}\n${counts.flush()}${SPILL} s[${Reg.EIP}] = (eip + ${off}) | 0;\nreturn ${n};`;
    } else {
      // A loop: the block ends in a Jcc or JMP back to its own first instruction, in this
      // page (so the loop's code-TLB carry would not look anything up either). It goes
      // round while the budget allows a whole turn; k counts what earlier turns retired.
      insns = n + 1; bytes = off + loop.len;
      const exitsAt = lines.map((l) => l.replace(/return (\d+);/, "return k + $1;"));
      const taken = loop.cond < 0 ? "true" : `jccTaken(s, ${loop.cond})`;
      counts.add(loop.counter);
      body = `let k = 0;\nfor (;;) {\n${exitsAt.join("\n")}\n${counts.flush()}k += ${insns};\n` +
        `if (!(${taken})) { ${SPILL} s[${Reg.EIP}] = (eip + ${bytes}) | 0; return k; }\n` +
        `if (k + ${insns} > left) { ${SPILL} s[${Reg.EIP}] = eip; return k; }\n}`;
    }
    // Registers live in locals inside the block and go back to the state at every exit.
    const entry = g.used.size > 0 ? `let p = 0, ${g.entry()};` : "let p = 0;";
    body = `${entry}\n${body.split(SPILL).join(g.spill())}`;
    const make = new Function("alu32", "aluAdd", "aluSub", "aluAnd", "aluOr", "aluXor", "incDec32", "rol", "ror", "rcx", "shl", "shr", "sar", "ea32", "flatPhysAt",
      "ramRead32", "ramWrite32", "jccTaken",
      `return function block(s, d, h, eip, flatSegs, paging, readNeed, writeNeed, left) {\n${body}\n};`);
    const fn = make(alu32, aluAdd, aluSub, aluAnd, aluOr, aluXor, incDec32, rol, ror, rcx, shl, shr, sar, ea32, flatPhysAt, ramRead32, ramWrite32, jccTaken) as BlockFn;
    this.fns[slot] = fn; this.insns[slot] = insns; this.bytes[slot] = bytes; this.lo[slot] = lo; this.hi[slot] = hi;
    this.compiled++;
    return fn;
  }
}

/** A branch that closes a loop: its condition (-1: JMP), length and retire counter. */
interface LoopBranch { cond: number; len: number; counter: number }

/**
 * The guest registers a block keeps in JavaScript locals (r0..r7): loaded on entry, stored
 * back at every exit (SPILL marks the places; the set is known once the block is built).
 */
class BlockRegs {
  readonly used = new Set<number>();
  readonly written = new Set<number>();
  /** A register read. */
  get(x: number): string { this.used.add(x); return `r${x}`; }
  /** A register written. */
  set(x: number): string { this.used.add(x); this.written.add(x); return `r${x}`; }
  /** An effective address from the record's OPS and DISP (modrmOffset on the locals). */
  ea(ops: number, disp: number): string {
    const base = (ops >> 4) & 15, index = (ops >> 8) & 15;
    return `ea32(${base !== NO_REG ? this.get(base) : 0}, ${index !== NO_REG ? this.get(index) : 0}, ${(ops >> 12) & 3}, ${disp})`;
  }
  entry(): string { return [...this.used].map((x) => `r${x} = s[${x}]`).join(", "); }
  spill(): string { return [...this.written].map((x) => `s[${x}] = r${x};`).join(" "); }
}
const SPILL = "/*SPILL*/";

/**
 * Retire counts not yet added: a block adds them in one go at each place where it may
 * leave (before a memory operand's check, at a branch, at its end), so the counters are
 * exact wherever the loop can see them and a run of instructions costs one add per counter.
 */
class PendingCounts {
  private readonly n = new Map<number, number>();
  add(counter: number): void { this.n.set(counter, (this.n.get(counter) ?? 0) + 1); }
  flush(): string {
    let out = "";
    for (const [c, n] of this.n) out += `d[${c}] += ${n}; `;
    this.n.clear();
    return out;
  }
}

/** The start of a call of alu32 for `op`, by its per-operation function where there is one. */
function aluCall(op: number): string {
  switch (op) {
    case AluOp.ADD: return "aluAdd(s, ";
    case AluOp.SUB: case AluOp.CMP: return "aluSub(s, ";
    case AluOp.AND: return "aluAnd(s, ";
    case AluOp.OR: return "aluOr(s, ";
    case AluOp.XOR: return "aluXor(s, ";
    default: return `alu32(s, ${op}, `; // ADC, SBB
  }
}

/** The start of a call of shiftRotate for `op` on 32 bits, by its per-operation function. */
function shiftCall(op: number): string {
  switch (op) {
    case ShiftOp.ROL: return "rol(s, 4, ";
    case ShiftOp.ROR: return "ror(s, 4, ";
    case ShiftOp.RCL: case ShiftOp.RCR: return `rcx(s, ${op}, 4, `;
    case ShiftOp.SHL: case ShiftOp.SAL: return "shl(s, 4, ";
    case ShiftOp.SHR: return "shr(s, 4, ";
    default: return "sar(s, 4, ";
  }
}

/**
 * JavaScript for one instruction (`i`-th in the block, `off` bytes in), as runHot's case
 * for `kind` does it on the flat path. A memory operand off that path leaves first.
 */
function instruction(g: BlockRegs, counts: PendingCounts, kind: number, info: number, ops: number, disp: number, imm: number, counter: number, i: number, off: number): string {
  const op = (info >> 8) & 0xff;
  const out: string[] = [];
  if (kind >= Kind.FAST_MEM_FIRST && kind <= Kind.FAST_MEM_LAST) {
    // As the loop: which operands are writes, and MOVZX reads one byte.
    const write = kind !== Kind.FAST_LOAD32 && kind !== Kind.FAST_MOVZX_R_M8 && kind !== Kind.FAST_ALU_RM32;
    const size = kind === Kind.FAST_MOVZX_R_M8 ? 1 : (info >> Info.SIZE_SHIFT) & Info.SIZE_MASK;
    out.push(counts.flush());
    out.push(`p = flatPhysAt(h, ${g.ea(ops, disp)}, ${ops}, ${info}, ${size}, ${write}, flatSegs, paging, ${write ? "writeNeed" : "readNeed"});`);
    out.push(`if (p < 0) { ${SPILL} s[${Reg.EIP}] = (eip + ${off}) | 0; return ${i}; }`);
  }
  counts.add(counter);
  const reg = ops & 15, rm = (ops >> 4) & 15;
  const keep = op !== AluOp.CMP;
  switch (kind) {
    case Kind.FAST_ALU_RR32: { const e = `${aluCall(op)}${g.get(rm)}, ${g.get(reg)});`; out.push(keep ? `${g.set(rm)} = ${e}` : e); break; }
    case Kind.FAST_ALU_RI32: { const e = `${aluCall(op)}${g.get(rm)}, ${imm});`; out.push(keep ? `${g.set(rm)} = ${e}` : e); break; }
    case Kind.FAST_MOV_RR32: { const v = g.get(reg); out.push(`${g.set(rm)} = ${v};`); break; }
    case Kind.FAST_MOV_RI32: out.push(`${g.set(rm)} = ${imm};`); break;
    case Kind.FAST_INC_R32: case Kind.FAST_DEC_R32:
      out.push(`${g.set(rm)} = incDec32(s, ${g.get(rm)}, ${kind === Kind.FAST_DEC_R32});`); break;
    case Kind.FAST_SHIFT_RI32: {
      const c = imm & 0x1f; // SDM 2A SAL: the count is masked to 5 bits; 0 changes nothing
      if (c !== 0) out.push(`${g.set(rm)} = ${shiftCall(op)}${g.get(rm)}, ${c});`);
      break;
    }
    case Kind.FAST_LEA32: { const e = g.ea(ops, disp); out.push(`${g.set(reg)} = ${e};`); break; }
    case Kind.FAST_LOAD32: out.push(`${g.set(reg)} = ramRead32(h.ram32, h.view, p);`); break;
    case Kind.FAST_STORE32: out.push(`ramWrite32(h.ram32, h.view, p, ${g.get(reg)});`); break;
    case Kind.FAST_MOVZX_R_M8: out.push(`${g.set(reg)} = h.ram[p];`); break;
    case Kind.FAST_ALU_RM32: {
      const e = `${aluCall(op)}${g.get(reg)}, ramRead32(h.ram32, h.view, p));`;
      out.push(keep ? `${g.set(reg)} = ${e}` : e);
      break;
    }
    case Kind.FAST_ALU_MR32: {
      const e = `${aluCall(op)}ramRead32(h.ram32, h.view, p), ${g.get(reg)})`;
      out.push(keep ? `ramWrite32(h.ram32, h.view, p, ${e});` : `${e};`);
      break;
    }
    case Kind.FAST_STORE_IMM:
      out.push(((info >> Info.SIZE_SHIFT) & Info.SIZE_MASK) === 4 ? `ramWrite32(h.ram32, h.view, p, ${imm});` : `h.ram[p] = ${imm & 0xff};`);
      break;
    case Kind.FAST_INC_M32: case Kind.FAST_DEC_M32:
      out.push(`ramWrite32(h.ram32, h.view, p, incDec32(s, ramRead32(h.ram32, h.view, p), ${kind === Kind.FAST_DEC_M32}));`);
      break;
  }
  return out.join(" ");
}

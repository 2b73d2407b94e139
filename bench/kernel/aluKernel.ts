// A measurement kernel for the engine decision (docs/engine-decision.md), not an engine:
// the register-only fast paths of core/interpreter.ts (ALU reg/reg and reg/imm, MOV,
// INC/DEC, shift by immediate, Jcc) over decoded records in the flat state's decode
// cache, written once in the portable subset and compiled by tsc (run under V8) and by
// asc (run as WebAssembly). bench/engine-kernel.mjs runs both on the bench-alu loop.
//
// It mirrors the interpreter's inline cases so the two builds can be compared on the work
// the real loop does per instruction (cache tag check, CS limit, retirement counter,
// lazy flags); everything else (memory operands, paging, faults) makes it return.

import { Reg, Flag, DECODE_SLOTS, DECODE_WORDS, RETIRE_COUNTER_WORD } from "../../src/state/layout.js";
import { Kind, AluOp } from "../../src/isa/kind.js";
import { Dw, Info } from "../../src/isa/record.js";
import { Lazy, PARITY, lazyCf, lazyCond } from "../../src/core/lazyFlags.js";

/** Why the kernel returned. */
export const enum KernelExit { LIMIT = 0, MISS = 1, OTHER = 2, FAULT = 3 }

/**
 * Runs at most `budget` instructions of flat 32-bit code from the decode cache `d`
 * (records tagged phys ^ 0x80000000) on the state words `s`. Returns a KernelExit; EIP
 * and the retired count (Reg.INSNS_LO) are in the state.
 */
export function runKernel(s: Int32Array, d: Int32Array, budget: i32): i32 {
  const csLimit = s[Reg.SEG_LIMIT + 1];
  const csBase = s[Reg.SEG_BASE + 1];
  const modeTag = 0x80000000 | 0;
  let n = 0;
  let eip = s[Reg.EIP];
  let exit = KernelExit.LIMIT;
  while (n < budget) {
    const phys = (csBase + eip) | 0;
    const at = (phys & (DECODE_SLOTS - 1)) * DECODE_WORDS;
    if (d[at] !== (phys ^ modeTag)) { exit = KernelExit.MISS; break; }
    const info = d[at + Dw.INFO];
    let next = (eip + ((info >> Info.LEN_SHIFT) & Info.LEN_MASK)) | 0;
    if (<u32>((next - 1) >>> 0) > <u32>(csLimit >>> 0)) { exit = KernelExit.FAULT; break; }
    const kind = info & Info.KIND_MASK;
    if (kind === Kind.FAST_ALU_RR32 || kind === Kind.FAST_ALU_RI32) {
      const ops = d[at + Dw.OPS];
      const op = (info >> 8) & 0xff;
      const dst = (ops >> 4) & 15;
      const a = s[dst];
      const b = kind === Kind.FAST_ALU_RR32 ? s[ops & 15] : d[at + Dw.IMM];
      let r = 0;
      switch (op) {
        case AluOp.ADD: r = (a + b) | 0; s[Reg.LAZY_OP] = Lazy.ADD; break;
        case AluOp.SUB: case AluOp.CMP: r = (a - b) | 0; s[Reg.LAZY_OP] = Lazy.SUB; break;
        case AluOp.AND: r = a & b; s[Reg.LAZY_OP] = Lazy.LOGIC; break;
        case AluOp.OR: r = a | b; s[Reg.LAZY_OP] = Lazy.LOGIC; break;
        case AluOp.XOR: r = a ^ b; s[Reg.LAZY_OP] = Lazy.LOGIC; break;
        default: exit = KernelExit.OTHER; break; // ADC, SBB: not in the kernel
      }
      if (exit !== KernelExit.LIMIT) break;
      s[Reg.LAZY_SIZE] = 4; s[Reg.LAZY_DST] = a; s[Reg.LAZY_SRC] = b; s[Reg.LAZY_RES] = r;
      if (op !== AluOp.CMP) s[dst] = r;
    } else if (kind === Kind.FAST_MOV_RR32) {
      const ops = d[at + Dw.OPS];
      s[(ops >> 4) & 15] = s[ops & 15];
    } else if (kind === Kind.FAST_MOV_RI32) {
      s[(d[at + Dw.OPS] >> 4) & 15] = d[at + Dw.IMM];
    } else if (kind === Kind.FAST_INC_R32 || kind === Kind.FAST_DEC_R32) {
      const r = (d[at + Dw.OPS] >> 4) & 15;
      const v = s[r];
      const lop = s[Reg.LAZY_OP];
      if (lop === Lazy.LOGIC) s[Reg.EFLAGS] = s[Reg.EFLAGS] & ~Flag.CF;
      else if (lop !== Lazy.NONE && lop !== Lazy.INC && lop !== Lazy.DEC) s[Reg.EFLAGS] = (s[Reg.EFLAGS] & ~Flag.CF) | lazyCf(s);
      const res = kind === Kind.FAST_INC_R32 ? (v + 1) | 0 : (v - 1) | 0;
      s[r] = res;
      s[Reg.LAZY_OP] = kind === Kind.FAST_INC_R32 ? Lazy.INC : Lazy.DEC;
      s[Reg.LAZY_SIZE] = 4; s[Reg.LAZY_DST] = v; s[Reg.LAZY_SRC] = 1; s[Reg.LAZY_RES] = res;
    } else if (kind === Kind.FAST_SHIFT_RI32) {
      const r = (d[at + Dw.OPS] >> 4) & 15;
      const c = d[at + Dw.IMM] & 0x1f;
      if (c !== 0) {
        const v = s[r], op = (info >> 8) & 0xff;
        const res = op === 5 ? v >>> c : op === 7 ? v >> c : v << c;
        const cf = op === 5 || op === 7 ? (v >> (c - 1)) & 1 : (v >>> (32 - c)) & 1;
        const ovf = op === 5 ? v >>> 31 : op === 7 ? 0 : (res >>> 31) ^ cf;
        s[r] = res;
        s[Reg.EFLAGS] = (s[Reg.EFLAGS] & ~Flag.ARITH) | cf | (ovf << 11) | (<i32>PARITY[res & 0xff] << 2) |
          (res === 0 ? Flag.ZF : 0) | ((res >>> 31) << 7);
        s[Reg.LAZY_OP] = Lazy.NONE;
      }
    } else if (kind === Kind.JCC) {
      const c = (info >> 8) & 0xff;
      const lop = s[Reg.LAZY_OP];
      const taken = (c === 4 || c === 5) && lop !== Lazy.NONE ? (s[Reg.LAZY_RES] === 0) === (c === 4) : lazyCond(s, c);
      if (taken) {
        let t = (next + d[at + Dw.IMM]) | 0;
        if ((info & Info.O32) === 0) t = t & 0xffff;
        if (<u32>(t >>> 0) > <u32>(csLimit >>> 0)) { exit = KernelExit.FAULT; break; }
        next = t;
      }
    } else {
      exit = KernelExit.OTHER;
      break;
    }
    d[RETIRE_COUNTER_WORD + d[at + Dw.COUNTER]]++;
    eip = next;
    n++;
  }
  s[Reg.EIP] = eip;
  s[Reg.INSNS_LO] = (s[Reg.INSNS_LO] + n) | 0;
  return exit;
}

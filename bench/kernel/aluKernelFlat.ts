// The accessor-style twin of aluKernel.ts, for the engine decision's measurement only
// (bench/engine-kernel.mjs): the same cases, but every flat-state word is read and written
// through ld(i)/st(i, v) from flatMemory.ts (tsc) or flatMemory.wasm.ts (asc: raw
// load/store), instead of through Int32Array views. The decode-cache words sit at
// D + index in the same flat state. Lazy-flag evaluation (lazyCf/lazyCond) is left out:
// the bench-alu loop never needs it (JNZ after CMP and INC after XOR/INC take the fast
// paths), and the kernel returns OTHER if it would.

import { Reg, Flag, DECODE_OFFSET, DECODE_SLOTS, DECODE_WORDS, RETIRE_COUNTER_WORD } from "../../src/state/layout.js";
import { Kind, AluOp } from "../../src/isa/kind.js";
import { Dw, Info } from "../../src/isa/record.js";
import { Lazy, PARITY } from "../../src/core/lazyFlags.js";
import { ld, st } from "./flatMemory.js";
import { KernelExit } from "./aluKernel.js";

/** Word index of the decode cache in the flat state. */
const D = DECODE_OFFSET >> 2;

export function runKernelFlat(budget: i32): i32 {
  const csLimit = ld(Reg.SEG_LIMIT + 1);
  const csBase = ld(Reg.SEG_BASE + 1);
  const modeTag = 0x80000000 | 0;
  let n = 0;
  let eip = ld(Reg.EIP);
  let exit = KernelExit.LIMIT;
  while (n < budget) {
    const phys = (csBase + eip) | 0;
    const at = (phys & (DECODE_SLOTS - 1)) * DECODE_WORDS;
    if (ld(D + at) !== (phys ^ modeTag)) { exit = KernelExit.MISS; break; }
    const info = ld(D + at + Dw.INFO);
    let next = (eip + ((info >> Info.LEN_SHIFT) & Info.LEN_MASK)) | 0;
    if (<u32>((next - 1) >>> 0) > <u32>(csLimit >>> 0)) { exit = KernelExit.FAULT; break; }
    const kind = info & Info.KIND_MASK;
    if (kind === Kind.FAST_ALU_RR32 || kind === Kind.FAST_ALU_RI32) {
      const ops = ld(D + at + Dw.OPS);
      const op = (info >> 8) & 0xff;
      const dst = (ops >> 4) & 15;
      const a = ld(dst);
      const b = kind === Kind.FAST_ALU_RR32 ? ld(ops & 15) : ld(D + at + Dw.IMM);
      let r = 0;
      switch (op) {
        case AluOp.ADD: r = (a + b) | 0; st(Reg.LAZY_OP, Lazy.ADD); break;
        case AluOp.SUB: case AluOp.CMP: r = (a - b) | 0; st(Reg.LAZY_OP, Lazy.SUB); break;
        case AluOp.AND: r = a & b; st(Reg.LAZY_OP, Lazy.LOGIC); break;
        case AluOp.OR: r = a | b; st(Reg.LAZY_OP, Lazy.LOGIC); break;
        case AluOp.XOR: r = a ^ b; st(Reg.LAZY_OP, Lazy.LOGIC); break;
        default: exit = KernelExit.OTHER; break; // ADC, SBB: not in the kernel
      }
      if (exit !== KernelExit.LIMIT) break;
      st(Reg.LAZY_SIZE, 4); st(Reg.LAZY_DST, a); st(Reg.LAZY_SRC, b); st(Reg.LAZY_RES, r);
      if (op !== AluOp.CMP) st(dst, r);
    } else if (kind === Kind.FAST_MOV_RR32) {
      const ops = ld(D + at + Dw.OPS);
      st((ops >> 4) & 15, ld(ops & 15));
    } else if (kind === Kind.FAST_MOV_RI32) {
      st((ld(D + at + Dw.OPS) >> 4) & 15, ld(D + at + Dw.IMM));
    } else if (kind === Kind.FAST_INC_R32 || kind === Kind.FAST_DEC_R32) {
      const r = (ld(D + at + Dw.OPS) >> 4) & 15;
      const v = ld(r);
      const lop = ld(Reg.LAZY_OP);
      if (lop === Lazy.LOGIC) st(Reg.EFLAGS, ld(Reg.EFLAGS) & ~Flag.CF);
      else if (lop !== Lazy.NONE && lop !== Lazy.INC && lop !== Lazy.DEC) { exit = KernelExit.OTHER; break; }
      const res = kind === Kind.FAST_INC_R32 ? (v + 1) | 0 : (v - 1) | 0;
      st(r, res);
      st(Reg.LAZY_OP, kind === Kind.FAST_INC_R32 ? Lazy.INC : Lazy.DEC);
      st(Reg.LAZY_SIZE, 4); st(Reg.LAZY_DST, v); st(Reg.LAZY_SRC, 1); st(Reg.LAZY_RES, res);
    } else if (kind === Kind.FAST_SHIFT_RI32) {
      const r = (ld(D + at + Dw.OPS) >> 4) & 15;
      const c = ld(D + at + Dw.IMM) & 0x1f;
      if (c !== 0) {
        const v = ld(r), op = (info >> 8) & 0xff;
        const res = op === 5 ? v >>> c : op === 7 ? v >> c : v << c;
        const cf = op === 5 || op === 7 ? (v >> (c - 1)) & 1 : (v >>> (32 - c)) & 1;
        const ovf = op === 5 ? v >>> 31 : op === 7 ? 0 : (res >>> 31) ^ cf;
        st(r, res);
        st(Reg.EFLAGS, (ld(Reg.EFLAGS) & ~Flag.ARITH) | cf | (ovf << 11) | (<i32>PARITY[res & 0xff] << 2) |
          (res === 0 ? Flag.ZF : 0) | ((res >>> 31) << 7));
        st(Reg.LAZY_OP, Lazy.NONE);
      }
    } else if (kind === Kind.JCC) {
      const c = (info >> 8) & 0xff;
      const lop = ld(Reg.LAZY_OP);
      if (!((c === 4 || c === 5) && lop !== Lazy.NONE)) { exit = KernelExit.OTHER; break; }
      const taken = (ld(Reg.LAZY_RES) === 0) === (c === 4);
      if (taken) {
        let t = (next + ld(D + at + Dw.IMM)) | 0;
        if ((info & Info.O32) === 0) t = t & 0xffff;
        if (<u32>(t >>> 0) > <u32>(csLimit >>> 0)) { exit = KernelExit.FAULT; break; }
        next = t;
      }
    } else {
      exit = KernelExit.OTHER;
      break;
    }
    { const w = D + RETIRE_COUNTER_WORD + ld(D + at + Dw.COUNTER); st(w, ld(w) + 1); }
    eip = next;
    n++;
  }
  st(Reg.EIP, eip);
  st(Reg.INSNS_LO, (ld(Reg.INSNS_LO) + n) | 0);
  return exit;
}

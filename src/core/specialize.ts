// Chooses a fast execution variant for a freshly decoded instruction: the commonest
// 32-bit forms (register-register ALU, moves, loads and stores through a ModRM memory
// operand) get kinds that the hot loop executes inline, without generic operand helpers.
// The decoded record keeps its table row, so disassembly and accounting are unchanged.

import { Kind } from "../isa/kind.js";
import { Info } from "../isa/decode.js";

/** Returns the INFO word with the kind replaced by a fast variant when one applies. */
export function specialize(info: number): number {
  const kind = info & Info.KIND_MASK;
  const size = (info >> Info.SIZE_SHIFT) & Info.SIZE_MASK;
  const reg = (info & Info.REGFORM) !== 0;
  const sub = (info >> Info.SUB_SHIFT) & Info.SUB_MASK;
  if ((info & Info.LOCK) !== 0) return info;
  let fast = -1;
  if (kind === Kind.MOV_EI && !reg && (size === 1 || size === 4)) fast = Kind.FAST_STORE_IMM;
  // Every Jcc and JMP rel is rewritten (a LOCK prefix makes it #UD before this), and the
  // hot loop runs them inline only, so Core.execute has no case for them.
  if (kind === Kind.JCC) fast = Kind.FAST_JCC;
  if (kind === Kind.JMP_REL) fast = Kind.FAST_JMP_REL;
  if (size === 4) {
    switch (kind) {
      case Kind.ALU_EG: fast = reg ? Kind.FAST_ALU_RR32 : Kind.FAST_ALU_MR32; break;
      case Kind.ALU_EI: if (reg) fast = Kind.FAST_ALU_RI32; break;
      case Kind.ALU_GE: fast = reg ? -1 : Kind.FAST_ALU_RM32; break;
      case Kind.MOV_EG: fast = reg ? Kind.FAST_MOV_RR32 : Kind.FAST_STORE32; break;
      case Kind.MOV_GE: fast = reg ? -1 : Kind.FAST_LOAD32; break;
      case Kind.MOV_EI: if (reg) fast = Kind.FAST_MOV_RI32; break; // memory: FAST_STORE_IMM above
      case Kind.INC_E: fast = reg ? Kind.FAST_INC_R32 : Kind.FAST_INC_M32; break;
      case Kind.DEC_E: fast = reg ? Kind.FAST_DEC_R32 : Kind.FAST_DEC_M32; break;
      case Kind.SHIFT_EI: if (reg) fast = Kind.FAST_SHIFT_RI32; break;
      case Kind.MOVZX_GE: if (!reg && sub === 1) fast = Kind.FAST_MOVZX_R_M8; break;
      case Kind.LEA: if ((info & Info.A32) !== 0) fast = Kind.FAST_LEA32; break;
      case Kind.PUSH_E: if (reg) fast = Kind.FAST_PUSH_R32; break;
      case Kind.POP_E: if (reg) fast = Kind.FAST_POP_R32; break;
      case Kind.CALL_REL: if ((info & Info.O32) !== 0) fast = Kind.FAST_CALL_REL32; break;
      case Kind.RET_NEAR: if ((info & Info.O32) !== 0) fast = Kind.FAST_RET32; break;
    }
  }
  return fast < 0 ? info : (info & ~Info.KIND_MASK) | fast;
}

// Execution kinds: what an instruction does, independent of how it is encoded. Several
// table rows share a kind (ADD r/m,imm and ADD AL,imm are one kind once the decoder has
// normalised the accumulator into a register operand). The hot loop switches on these.

export const enum Kind {
  INVALID = 0,
  // Core kinds: executed by the hot loop.
  ALU_EG, ALU_GE, ALU_EI, TEST_EG, TEST_EI,
  INC_E, DEC_E, NOT_E, NEG_E,
  MUL_E, IMUL_E, DIV_E, IDIV_E, IMUL_GE, IMUL_GEI,
  SHIFT_E1, SHIFT_ECL, SHIFT_EI, SHLD_EGI, SHLD_EGCL, SHRD_EGI, SHRD_EGCL,
  MOV_EG, MOV_GE, MOV_EI, MOVZX_GE, MOVSX_GE, LEA, MOV_E_SEG,
  XCHG_EG, XADD_EG, CMPXCHG_EG, CMPXCHG8B, BSWAP,
  CMOV, SETCC, JCC, JMP_REL, CALL_REL, JMP_E, CALL_E, RET_NEAR, LOOP,
  PUSH_E, POP_E, PUSH_I, PUSH_SEG, PUSHA, POPA, ENTER, LEAVE, PUSHF, POPF,
  CBW, CWD, LAHF, SAHF, XLAT, FLAG_OP, CLI, STI, NOP,
  BT_EG, BT_EI, BSF, BSR,
  MOVS, STOS, LODS, CMPS, SCAS,
  DAA, DAS, AAA, AAS, AAM, AAD, SALC,
  BOUND, UD, FPU, WAIT,
  // Fast variants: never named by a table row. After decoding, the core rewrites the
  // commonest 32-bit register and flat-memory forms to these so the hot loop runs them
  // inline (core/specialize.ts).
  FAST_ALU_RR32, FAST_ALU_RI32, FAST_MOV_RR32, FAST_MOV_RI32,
  FAST_INC_R32, FAST_DEC_R32, FAST_SHIFT_RI32, FAST_LEA32,
  // Near branches, and the 32-bit stack forms through a flat SS.
  FAST_JCC, FAST_JMP_REL, FAST_PUSH_R32, FAST_POP_R32, FAST_CALL_REL32, FAST_RET32,
  // Fast variants with a memory operand: contiguous, so the loop resolves the operand once.
  FAST_ALU_RM32, FAST_MEM_FIRST = FAST_ALU_RM32, FAST_ALU_MR32, FAST_LOAD32, FAST_STORE32, FAST_MOVZX_R_M8,
  FAST_STORE_IMM, FAST_INC_M32, FAST_DEC_M32, FAST_MEM_LAST = FAST_DEC_M32,
  // Complex kinds: the hot loop stops and cpu/ executes them (segment loads, far
  // transfers, interrupts, I/O, system instructions).
  COMPLEX_FIRST,
  MOV_SEG_E = COMPLEX_FIRST, POP_SEG, LOAD_FAR_PTR,
  JMP_FAR, JMP_FAR_M, CALL_FAR, CALL_FAR_M, RET_FAR, IRET,
  INT, INT3, INTO, HLT,
  IN, OUT, INS, OUTS,
  LGDT, LIDT, SGDT, SIDT, LLDT, SLDT, LTR, STR, LMSW, SMSW, CLTS,
  LAR, LSL, VERR, VERW, ARPL,
  MOV_R_CR, MOV_CR_R, MOV_R_DR, MOV_DR_R,
  INVD, WBINVD, INVLPG, CPUID, RDTSC, RDMSR, WRMSR, SYSENTER, SYSEXIT,
  COUNT,
}

/** Sub-operations of ALU kinds, in the order of the /digit of opcodes 80-83 (SDM 2A A.4). */
export const enum AluOp { ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7 }

/** Shift and rotate sub-operations, the /digit of C0/C1/D0-D3 (SDM 2A A.4 group 2). */
export const enum ShiftOp { ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7 }

/** Bit-test sub-operations in 0F BA /4../7 order. */
export const enum BitOp { BT = 0, BTS = 1, BTR = 2, BTC = 3 }

/** Flag instructions (F5 F8-FD, except CLI/STI which check IOPL). */
export const enum FlagOp { CMC = 0, CLC = 1, STC = 2, CLD = 3, STD = 4 }

/** LOOP-family sub-operations. */
export const enum LoopOp { LOOPNE = 0, LOOPE = 1, LOOP = 2, JCXZ = 3 }

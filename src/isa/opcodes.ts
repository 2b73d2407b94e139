// THE opcode table. One row per encoding of the Pentium-class integer subset (SDM 2A/2B
// instruction pages and Appendix A opcode maps). The decoder and the disassembler are
// both built from these rows; new instructions are added here and nowhere else.
//
// Operand notation follows SDM Appendix A.2: E = ModRM r/m, G = ModRM reg, M = memory
// only, I = immediate, J = relative offset, O = moffs, A = far pointer, S = segment reg,
// C/D = control/debug reg, R = ModRM r/m register only; size suffix b/w/d/v/z/p as in
// the SDM (v = operand size, z = 16 or 32 by operand size). Z = register coded in the
// low three opcode bits. Fixed registers are named (AL, eAX, CL, DX, 1).

import { Kind, AluOp, ShiftOp, BitOp, FlagOp, LoopOp } from "./kind.js";
import { CostClass, instructionCounter } from "../cost/event.js";

/** How much an instruction costs is decided by class; cost/ prices each class. */
export type { CostClass };

/**
 * VM-exit condition under VT-x (SDM 3C 26.1-26.2): "always" for instructions that exit
 * unconditionally in VMX non-root operation, otherwise the VM-execution control that
 * makes it exit, or "" when it never exits by itself.
 */
export type VmExitCondition =
  | "" | "always" | "hlt-exiting" | "invlpg-exiting" | "rdtsc-exiting" | "cr-access"
  | "mov-dr-exiting" | "io-exiting" | "msr-bitmap" | "pause-exiting" | "wbinvd-exiting"
  | "descriptor-table-exiting" | "exception-bitmap";

export interface OpcodeRow {
  readonly mnemonic: string;
  /** 0 = one-byte map, 1 = two-byte map (0F xx). */
  readonly map: 0 | 1;
  readonly opcode: number;
  /** ModRM.reg digit for group encodings, or -1. */
  readonly ext: number;
  /** Restricts the row to a memory or register ModRM form. */
  readonly form: "any" | "mem" | "reg";
  /** A mandatory prefix that selects this row (F3 90 = PAUSE), or 0. */
  readonly prefix: number;
  readonly operands: readonly string[];
  readonly kind: Kind;
  readonly sub: number;
  /** EFLAGS bits the instruction writes, and those of them the SDM leaves undefined. */
  readonly flagsWritten: number;
  readonly flagsUndefined: number;
  readonly cost: CostClass;
  /**
   * True when an E, M or O operand is a memory access (not LEA's address, INVLPG's page or
   * a hint NOP's operand): with a ModRM memory form it adds the profile's mem.operand cost.
   */
  readonly memoryOperand: boolean;
  /** Event counter (cost/event.ts) of this row in register form; +1 with a memory operand. */
  readonly counter: number;
  /** Raises #GP unless CPL = 0 (SDM 3A 5.9). */
  readonly privileged: boolean;
  /** Sensitive but unprivileged: a virtualization hole under ring compression (Popek-Goldberg). */
  readonly sensitive: boolean;
  readonly vmExit: VmExitCondition;
}

const FLAG_BITS: Record<string, number> = { O: 0x800, S: 0x80, Z: 0x40, A: 0x10, P: 0x4, C: 0x1, D: 0x400, I: 0x200, T: 0x100 };
function flagMask(s: string): number {
  let m = 0;
  for (const ch of s) {
    const bit = FLAG_BITS[ch];
    if (bit === undefined) throw new Error(`opcode table: unknown flag letter ${ch}`);
    m |= bit;
  }
  return m;
}

interface RowOptions {
  sub?: number;
  flags?: string;
  undef?: string;
  cost?: CostClass;
  priv?: boolean;
  sens?: boolean;
  exit?: VmExitCondition;
  prefix?: number;
}

export const OPCODES: OpcodeRow[] = [];

/**
 * Adds one row. `code` is "8B", "0F AF", "80/0" (group digit), optionally followed by
 * " mem" or " reg" to restrict the ModRM form.
 */
function op(mnemonic: string, code: string, operands: string, kind: Kind, o: RowOptions = {}): void {
  const parts = code.split(" ");
  let form: "any" | "mem" | "reg" = "any";
  if (parts[parts.length - 1] === "mem" || parts[parts.length - 1] === "reg") form = parts.pop() as "mem" | "reg";
  let map: 0 | 1 = 0;
  if (parts[0] === "0F" && parts.length === 2) { map = 1; parts.shift(); }
  const [byteText, digitText] = parts[0].split("/");
  const operandList = operands === "" ? [] : operands.split(",");
  const cost = o.cost ?? "alu";
  OPCODES.push({
    mnemonic, map, opcode: parseInt(byteText, 16), ext: digitText === undefined ? -1 : Number(digitText), form,
    prefix: o.prefix ?? 0,
    operands: operandList,
    kind, sub: o.sub ?? 0,
    flagsWritten: flagMask(o.flags ?? ""), flagsUndefined: flagMask(o.undef ?? ""),
    cost, memoryOperand: kind !== Kind.LEA && kind !== Kind.INVLPG && kind !== Kind.NOP && operandList.some((x) => /^[EMO][a-z]*$/.test(x)), // not "ES"
    counter: instructionCounter(cost, false), privileged: o.priv ?? false, sensitive: o.sens ?? false, vmExit: o.exit ?? "",
  });
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, "0");
const ARITH = "OSZAPC";

// --- ALU: ADD OR ADC SBB AND SUB XOR CMP (SDM 2A A.3 rows 0-3) ---------------------------
const ALU_NAMES = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
for (let i = 0; i < 8; i++) {
  const base = i * 8;
  const logic = i === AluOp.OR || i === AluOp.AND || i === AluOp.XOR;
  const f = { sub: i, flags: ARITH, undef: logic ? "A" : "" };
  op(ALU_NAMES[i], hex(base + 0), "Eb,Gb", Kind.ALU_EG, f);
  op(ALU_NAMES[i], hex(base + 1), "Ev,Gv", Kind.ALU_EG, f);
  op(ALU_NAMES[i], hex(base + 2), "Gb,Eb", Kind.ALU_GE, f);
  op(ALU_NAMES[i], hex(base + 3), "Gv,Ev", Kind.ALU_GE, f);
  op(ALU_NAMES[i], hex(base + 4), "AL,Ib", Kind.ALU_EI, f);
  op(ALU_NAMES[i], hex(base + 5), "eAX,Iz", Kind.ALU_EI, f);
  op(ALU_NAMES[i], `80/${i}`, "Eb,Ib", Kind.ALU_EI, f);
  op(ALU_NAMES[i], `81/${i}`, "Ev,Iz", Kind.ALU_EI, f);
  op(ALU_NAMES[i], `82/${i}`, "Eb,Ib", Kind.ALU_EI, f); // alias of 80 (SDM 2A A.3 note)
  op(ALU_NAMES[i], `83/${i}`, "Ev,Ibs", Kind.ALU_EI, f);
}

// --- Segment pushes and pops, BCD adjusts, prefixes are decoded separately -------------
op("push", "06", "ES", Kind.PUSH_SEG, { sub: 0, cost: "stack", sens: true });
op("pop", "07", "ES", Kind.POP_SEG, { sub: 0, cost: "segment", sens: true });
op("push", "0E", "CS", Kind.PUSH_SEG, { sub: 1, cost: "stack", sens: true });
op("push", "16", "SS", Kind.PUSH_SEG, { sub: 2, cost: "stack", sens: true });
op("pop", "17", "SS", Kind.POP_SEG, { sub: 2, cost: "segment", sens: true });
op("push", "1E", "DS", Kind.PUSH_SEG, { sub: 3, cost: "stack", sens: true });
op("pop", "1F", "DS", Kind.POP_SEG, { sub: 3, cost: "segment", sens: true });
op("push", "0F A0", "FS", Kind.PUSH_SEG, { sub: 4, cost: "stack", sens: true });
op("pop", "0F A1", "FS", Kind.POP_SEG, { sub: 4, cost: "segment", sens: true });
op("push", "0F A8", "GS", Kind.PUSH_SEG, { sub: 5, cost: "stack", sens: true });
op("pop", "0F A9", "GS", Kind.POP_SEG, { sub: 5, cost: "segment", sens: true });
op("daa", "27", "", Kind.DAA, { flags: ARITH, undef: "O", cost: "bcd" });
op("das", "2F", "", Kind.DAS, { flags: ARITH, undef: "O", cost: "bcd" });
op("aaa", "37", "", Kind.AAA, { flags: ARITH, undef: "OSZP", cost: "bcd" });
op("aas", "3F", "", Kind.AAS, { flags: ARITH, undef: "OSZP", cost: "bcd" });
op("aam", "D4", "Ib", Kind.AAM, { flags: ARITH, undef: "OAC", cost: "bcd" });
op("aad", "D5", "Ib", Kind.AAD, { flags: ARITH, undef: "OAC", cost: "bcd" });
op("salc", "D6", "", Kind.SALC, { cost: "alu" }); // undocumented but present on every IA-32 CPU

// --- INC/DEC/PUSH/POP with the register in the opcode ----------------------------------
for (let r = 0; r < 8; r++) {
  op("inc", hex(0x40 + r), "Zv", Kind.INC_E, { flags: "OSZAP" });
  op("dec", hex(0x48 + r), "Zv", Kind.DEC_E, { flags: "OSZAP" });
  op("push", hex(0x50 + r), "Zv", Kind.PUSH_E, { cost: "stack" });
  op("pop", hex(0x58 + r), "Zv", Kind.POP_E, { cost: "stack" });
  if (r > 0) op("xchg", hex(0x90 + r), "Zv,eAX", Kind.XCHG_EG, { cost: "mov" });
  op("mov", hex(0xb0 + r), "Zb,Ib", Kind.MOV_EI, { cost: "mov" });
  op("mov", hex(0xb8 + r), "Zv,Iv", Kind.MOV_EI, { cost: "mov" });
  op("bswap", `0F ${hex(0xc8 + r)}`, "Zd", Kind.BSWAP, { cost: "alu" });
}

op("pusha", "60", "", Kind.PUSHA, { cost: "stack" });
op("popa", "61", "", Kind.POPA, { cost: "stack" });
op("bound", "62 mem", "Gv,Ma", Kind.BOUND, { cost: "branch" });
op("arpl", "63", "Ew,Gw", Kind.ARPL, { flags: "Z", cost: "system" });
op("push", "68", "Iz", Kind.PUSH_I, { cost: "stack" });
op("imul", "69", "Gv,Ev,Iz", Kind.IMUL_GEI, { flags: ARITH, undef: "SZAP", cost: "mul" });
op("push", "6A", "Ibs", Kind.PUSH_I, { cost: "stack" });
op("imul", "6B", "Gv,Ev,Ibs", Kind.IMUL_GEI, { flags: ARITH, undef: "SZAP", cost: "mul" });
op("insb", "6C", "Yb,DX", Kind.INS, { cost: "io", exit: "io-exiting" });
op("insd", "6D", "Yz,DX", Kind.INS, { cost: "io", exit: "io-exiting" });
op("outsb", "6E", "DX,Xb", Kind.OUTS, { cost: "io", exit: "io-exiting" });
op("outsd", "6F", "DX,Xz", Kind.OUTS, { cost: "io", exit: "io-exiting" });

// --- Jcc, SETcc, CMOVcc: the condition is the low nibble (SDM 2A B.1.4.7) -------------
const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
for (let c = 0; c < 16; c++) {
  op(`j${CC[c]}`, hex(0x70 + c), "Jb", Kind.JCC, { sub: c, cost: "branch" });
  op(`j${CC[c]}`, `0F ${hex(0x80 + c)}`, "Jz", Kind.JCC, { sub: c, cost: "branch" });
  op(`set${CC[c]}`, `0F ${hex(0x90 + c)}`, "Eb", Kind.SETCC, { sub: c, cost: "alu" });
  op(`cmov${CC[c]}`, `0F ${hex(0x40 + c)}`, "Gv,Ev", Kind.CMOV, { sub: c, cost: "mov" });
}

op("test", "84", "Eb,Gb", Kind.TEST_EG, { flags: ARITH, undef: "A" });
op("test", "85", "Ev,Gv", Kind.TEST_EG, { flags: ARITH, undef: "A" });
op("xchg", "86", "Eb,Gb", Kind.XCHG_EG, { cost: "mov" });
op("xchg", "87", "Ev,Gv", Kind.XCHG_EG, { cost: "mov" });
op("mov", "88", "Eb,Gb", Kind.MOV_EG, { cost: "mov" });
op("mov", "89", "Ev,Gv", Kind.MOV_EG, { cost: "mov" });
op("mov", "8A", "Gb,Eb", Kind.MOV_GE, { cost: "mov" });
op("mov", "8B", "Gv,Ev", Kind.MOV_GE, { cost: "mov" });
op("mov", "8C", "Ev,Sw", Kind.MOV_E_SEG, { cost: "mov", sens: true });
op("lea", "8D mem", "Gv,M", Kind.LEA, { cost: "alu" });
op("mov", "8E", "Sw,Ew", Kind.MOV_SEG_E, { cost: "segment" });
op("pop", "8F/0", "Ev", Kind.POP_E, { cost: "stack" });
op("nop", "90", "", Kind.NOP, { cost: "nop" });
op("pause", "90", "", Kind.NOP, { cost: "nop", prefix: 0xf3, exit: "pause-exiting" });
op("cbw", "98", "", Kind.CBW, { cost: "alu" });
op("cwd", "99", "", Kind.CWD, { cost: "alu" });
op("call", "9A", "Ap", Kind.CALL_FAR, { cost: "far", sens: true });
op("wait", "9B", "", Kind.WAIT, { cost: "nop" });
op("pushf", "9C", "", Kind.PUSHF, { cost: "stack", sens: true });
op("popf", "9D", "", Kind.POPF, { flags: "OSZAPCDIT", cost: "stack", sens: true });
op("sahf", "9E", "", Kind.SAHF, { flags: "SZAPC", cost: "flag" });
op("lahf", "9F", "", Kind.LAHF, { cost: "flag" });
op("mov", "A0", "AL,Ob", Kind.MOV_GE, { cost: "mov" });
op("mov", "A1", "eAX,Ov", Kind.MOV_GE, { cost: "mov" });
op("mov", "A2", "Ob,AL", Kind.MOV_EG, { cost: "mov" });
op("mov", "A3", "Ov,eAX", Kind.MOV_EG, { cost: "mov" });
op("movsb", "A4", "Yb,Xb", Kind.MOVS, { cost: "string" });
op("movsd", "A5", "Yv,Xv", Kind.MOVS, { cost: "string" });
op("cmpsb", "A6", "Xb,Yb", Kind.CMPS, { flags: ARITH, cost: "string" });
op("cmpsd", "A7", "Xv,Yv", Kind.CMPS, { flags: ARITH, cost: "string" });
op("test", "A8", "AL,Ib", Kind.TEST_EI, { flags: ARITH, undef: "A" });
op("test", "A9", "eAX,Iz", Kind.TEST_EI, { flags: ARITH, undef: "A" });
op("stosb", "AA", "Yb,AL", Kind.STOS, { cost: "string" });
op("stosd", "AB", "Yv,eAX", Kind.STOS, { cost: "string" });
op("lodsb", "AC", "AL,Xb", Kind.LODS, { cost: "string" });
op("lodsd", "AD", "eAX,Xv", Kind.LODS, { cost: "string" });
op("scasb", "AE", "AL,Yb", Kind.SCAS, { flags: ARITH, cost: "string" });
op("scasd", "AF", "eAX,Yv", Kind.SCAS, { flags: ARITH, cost: "string" });

// --- Shifts and rotates, group 2 (SDM 2A A.4) -----------------------------------------
const SHIFT_NAMES = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"];
for (let i = 0; i < 8; i++) {
  // Rotates write only CF and OF; OF is undefined for counts other than 1.
  const rotate = i < 4;
  const f = { sub: i, flags: rotate ? "OC" : ARITH, undef: rotate ? "" : "A", cost: "shift" as CostClass };
  const fm = { ...f, undef: rotate ? "O" : "OA" };
  op(SHIFT_NAMES[i], `C0/${i}`, "Eb,Ib", Kind.SHIFT_EI, fm);
  op(SHIFT_NAMES[i], `C1/${i}`, "Ev,Ib", Kind.SHIFT_EI, fm);
  op(SHIFT_NAMES[i], `D0/${i}`, "Eb,1", Kind.SHIFT_E1, f);
  op(SHIFT_NAMES[i], `D1/${i}`, "Ev,1", Kind.SHIFT_E1, f);
  op(SHIFT_NAMES[i], `D2/${i}`, "Eb,CL", Kind.SHIFT_ECL, fm);
  op(SHIFT_NAMES[i], `D3/${i}`, "Ev,CL", Kind.SHIFT_ECL, fm);
}

op("ret", "C2", "Iw", Kind.RET_NEAR, { cost: "call" });
op("ret", "C3", "", Kind.RET_NEAR, { cost: "call" });
op("les", "C4 mem", "Gz,Mp", Kind.LOAD_FAR_PTR, { sub: 0, cost: "segment" });
op("lds", "C5 mem", "Gz,Mp", Kind.LOAD_FAR_PTR, { sub: 3, cost: "segment" });
op("lss", "0F B2 mem", "Gz,Mp", Kind.LOAD_FAR_PTR, { sub: 2, cost: "segment" });
op("lfs", "0F B4 mem", "Gz,Mp", Kind.LOAD_FAR_PTR, { sub: 4, cost: "segment" });
op("lgs", "0F B5 mem", "Gz,Mp", Kind.LOAD_FAR_PTR, { sub: 5, cost: "segment" });
op("mov", "C6/0", "Eb,Ib", Kind.MOV_EI, { cost: "mov" });
op("mov", "C7/0", "Ev,Iz", Kind.MOV_EI, { cost: "mov" });
op("enter", "C8", "Iw,Ib", Kind.ENTER, { cost: "stack" });
op("leave", "C9", "", Kind.LEAVE, { cost: "stack" });
op("retf", "CA", "Iw", Kind.RET_FAR, { cost: "far", sens: true });
op("retf", "CB", "", Kind.RET_FAR, { cost: "far", sens: true });
op("int3", "CC", "", Kind.INT3, { cost: "interrupt", sens: true, exit: "exception-bitmap" });
op("int", "CD", "Ib", Kind.INT, { cost: "interrupt", sens: true });
op("into", "CE", "", Kind.INTO, { cost: "interrupt", sens: true });
op("iret", "CF", "", Kind.IRET, { flags: "OSZAPCDIT", cost: "interrupt", sens: true });
op("xlatb", "D7", "", Kind.XLAT, { cost: "mov" });
// x87 escapes: no FPU is modelled, so each raises #NM or #UD (SDM 2A 2.1.5 / 3A 2.5 CR0.EM/TS).
for (let b = 0xd8; b <= 0xdf; b++) op("fpu", hex(b), "M", Kind.FPU, { cost: "invalid" });

op("loopne", "E0", "Jb", Kind.LOOP, { sub: LoopOp.LOOPNE, cost: "branch" });
op("loope", "E1", "Jb", Kind.LOOP, { sub: LoopOp.LOOPE, cost: "branch" });
op("loop", "E2", "Jb", Kind.LOOP, { sub: LoopOp.LOOP, cost: "branch" });
op("jecxz", "E3", "Jb", Kind.LOOP, { sub: LoopOp.JCXZ, cost: "branch" });
op("in", "E4", "AL,Ib", Kind.IN, { cost: "io", exit: "io-exiting" });
op("in", "E5", "eAX,Ib", Kind.IN, { cost: "io", exit: "io-exiting" });
op("out", "E6", "Ib,AL", Kind.OUT, { cost: "io", exit: "io-exiting" });
op("out", "E7", "Ib,eAX", Kind.OUT, { cost: "io", exit: "io-exiting" });
op("call", "E8", "Jz", Kind.CALL_REL, { cost: "call" });
op("jmp", "E9", "Jz", Kind.JMP_REL, { cost: "branch" });
op("jmp", "EA", "Ap", Kind.JMP_FAR, { cost: "far", sens: true });
op("jmp", "EB", "Jb", Kind.JMP_REL, { cost: "branch" });
op("in", "EC", "AL,DX", Kind.IN, { cost: "io", exit: "io-exiting" });
op("in", "ED", "eAX,DX", Kind.IN, { cost: "io", exit: "io-exiting" });
op("out", "EE", "DX,AL", Kind.OUT, { cost: "io", exit: "io-exiting" });
op("out", "EF", "DX,eAX", Kind.OUT, { cost: "io", exit: "io-exiting" });
op("hlt", "F4", "", Kind.HLT, { cost: "system", priv: true, exit: "hlt-exiting" });
op("cmc", "F5", "", Kind.FLAG_OP, { sub: FlagOp.CMC, flags: "C", cost: "flag" });

// --- Group 3 (F6/F7) ---------------------------------------------------------------------
op("test", "F6/0", "Eb,Ib", Kind.TEST_EI, { flags: ARITH, undef: "A" });
op("test", "F6/1", "Eb,Ib", Kind.TEST_EI, { flags: ARITH, undef: "A" }); // undocumented alias
op("not", "F6/2", "Eb", Kind.NOT_E);
op("neg", "F6/3", "Eb", Kind.NEG_E, { flags: ARITH });
op("mul", "F6/4", "Eb", Kind.MUL_E, { flags: ARITH, undef: "SZAP", cost: "mul" });
op("imul", "F6/5", "Eb", Kind.IMUL_E, { flags: ARITH, undef: "SZAP", cost: "mul" });
op("div", "F6/6", "Eb", Kind.DIV_E, { flags: ARITH, undef: ARITH, cost: "div" });
op("idiv", "F6/7", "Eb", Kind.IDIV_E, { flags: ARITH, undef: ARITH, cost: "div" });
op("test", "F7/0", "Ev,Iz", Kind.TEST_EI, { flags: ARITH, undef: "A" });
op("test", "F7/1", "Ev,Iz", Kind.TEST_EI, { flags: ARITH, undef: "A" });
op("not", "F7/2", "Ev", Kind.NOT_E);
op("neg", "F7/3", "Ev", Kind.NEG_E, { flags: ARITH });
op("mul", "F7/4", "Ev", Kind.MUL_E, { flags: ARITH, undef: "SZAP", cost: "mul" });
op("imul", "F7/5", "Ev", Kind.IMUL_E, { flags: ARITH, undef: "SZAP", cost: "mul" });
op("div", "F7/6", "Ev", Kind.DIV_E, { flags: ARITH, undef: ARITH, cost: "div" });
op("idiv", "F7/7", "Ev", Kind.IDIV_E, { flags: ARITH, undef: ARITH, cost: "div" });

op("clc", "F8", "", Kind.FLAG_OP, { sub: FlagOp.CLC, flags: "C", cost: "flag" });
op("stc", "F9", "", Kind.FLAG_OP, { sub: FlagOp.STC, flags: "C", cost: "flag" });
op("cli", "FA", "", Kind.CLI, { flags: "I", cost: "flag" });
op("sti", "FB", "", Kind.STI, { flags: "I", cost: "flag" });
op("cld", "FC", "", Kind.FLAG_OP, { sub: FlagOp.CLD, flags: "D", cost: "flag" });
op("std", "FD", "", Kind.FLAG_OP, { sub: FlagOp.STD, flags: "D", cost: "flag" });

// --- Groups 4 and 5 (FE/FF) ---------------------------------------------------------------
op("inc", "FE/0", "Eb", Kind.INC_E, { flags: "OSZAP" });
op("dec", "FE/1", "Eb", Kind.DEC_E, { flags: "OSZAP" });
op("inc", "FF/0", "Ev", Kind.INC_E, { flags: "OSZAP" });
op("dec", "FF/1", "Ev", Kind.DEC_E, { flags: "OSZAP" });
op("call", "FF/2", "Ev", Kind.CALL_E, { cost: "call" });
op("call", "FF/3 mem", "Mp", Kind.CALL_FAR_M, { cost: "far", sens: true });
op("jmp", "FF/4", "Ev", Kind.JMP_E, { cost: "branch" });
op("jmp", "FF/5 mem", "Mp", Kind.JMP_FAR_M, { cost: "far", sens: true });
op("push", "FF/6", "Ev", Kind.PUSH_E, { cost: "stack" });

// --- Two-byte map: system instructions (SDM 2A A.3 table A-3, groups 6 and 7) -----------
op("sldt", "0F 00/0", "Ew", Kind.SLDT, { cost: "system", sens: true, exit: "descriptor-table-exiting" });
op("str", "0F 00/1", "Ew", Kind.STR, { cost: "system", sens: true, exit: "descriptor-table-exiting" });
op("lldt", "0F 00/2", "Ew", Kind.LLDT, { cost: "system", priv: true, exit: "descriptor-table-exiting" });
op("ltr", "0F 00/3", "Ew", Kind.LTR, { cost: "system", priv: true, exit: "descriptor-table-exiting" });
op("verr", "0F 00/4", "Ew", Kind.VERR, { flags: "Z", cost: "system", sens: true });
op("verw", "0F 00/5", "Ew", Kind.VERW, { flags: "Z", cost: "system", sens: true });
op("sgdt", "0F 01/0 mem", "Ms", Kind.SGDT, { cost: "system", sens: true, exit: "descriptor-table-exiting" });
op("sidt", "0F 01/1 mem", "Ms", Kind.SIDT, { cost: "system", sens: true, exit: "descriptor-table-exiting" });
op("lgdt", "0F 01/2 mem", "Ms", Kind.LGDT, { cost: "system", priv: true, exit: "descriptor-table-exiting" });
op("lidt", "0F 01/3 mem", "Ms", Kind.LIDT, { cost: "system", priv: true, exit: "descriptor-table-exiting" });
op("smsw", "0F 01/4", "Ew", Kind.SMSW, { cost: "system", sens: true });
op("lmsw", "0F 01/6", "Ew", Kind.LMSW, { cost: "system", priv: true, exit: "cr-access" });
op("invlpg", "0F 01/7 mem", "M", Kind.INVLPG, { cost: "system", priv: true, exit: "invlpg-exiting" });
op("lar", "0F 02", "Gv,Ew", Kind.LAR, { flags: "Z", cost: "system", sens: true });
op("lsl", "0F 03", "Gv,Ew", Kind.LSL, { flags: "Z", cost: "system", sens: true });
op("clts", "0F 06", "", Kind.CLTS, { cost: "system", priv: true, exit: "cr-access" });
op("invd", "0F 08", "", Kind.INVD, { cost: "serialize", priv: true, exit: "always" });
op("wbinvd", "0F 09", "", Kind.WBINVD, { cost: "serialize", priv: true, exit: "wbinvd-exiting" });
op("ud2", "0F 0B", "", Kind.UD, { cost: "invalid" });
// The hint-NOP space 0F 18-0F 1F (SDM 2B NOP and Table A-3 "Reserved-NOP"; the P6 family
// executes it): a ModRM operand that is never accessed, so no fault but #UD with LOCK.
// GCC pads with 0F 1F, and CET's ENDBR32 (F3 0F 1E FB) is a NOP on a CPU without CET.
["prefetchnta", "prefetcht0", "prefetcht1", "prefetcht2"].forEach((name, i) => op(name, `0F 18/${i} mem`, "M", Kind.NOP, { cost: "nop" }));
for (let i = 4; i < 8; i++) op("nop", `0F 18/${i}`, "Ev", Kind.NOP, { cost: "nop" });
for (let i = 0; i < 4; i++) op("nop", `0F 18/${i} reg`, "Ev", Kind.NOP, { cost: "nop" });
for (let b = 0x19; b <= 0x1f; b++) op("nop", `0F ${hex(b)}`, "Ev", Kind.NOP, { cost: "nop" });
// MOV to and from control and debug registers: ModRM.mod is ignored, always a register (SDM 2A MOV-Control Registers).
op("mov", "0F 20", "Rd,Cd", Kind.MOV_R_CR, { cost: "system", priv: true, exit: "cr-access" });
op("mov", "0F 21", "Rd,Dd", Kind.MOV_R_DR, { cost: "system", priv: true, exit: "mov-dr-exiting" });
op("mov", "0F 22", "Cd,Rd", Kind.MOV_CR_R, { cost: "serialize", priv: true, exit: "cr-access" });
op("mov", "0F 23", "Dd,Rd", Kind.MOV_DR_R, { cost: "serialize", priv: true, exit: "mov-dr-exiting" });
op("wrmsr", "0F 30", "", Kind.WRMSR, { cost: "serialize", priv: true, exit: "msr-bitmap" });
op("rdtsc", "0F 31", "", Kind.RDTSC, { cost: "system", exit: "rdtsc-exiting" });
op("rdmsr", "0F 32", "", Kind.RDMSR, { cost: "system", priv: true, exit: "msr-bitmap" });
op("sysenter", "0F 34", "", Kind.SYSENTER, { flags: "IT", cost: "far" });
op("sysexit", "0F 35", "", Kind.SYSEXIT, { cost: "far", priv: true });
op("cpuid", "0F A2", "", Kind.CPUID, { cost: "serialize", exit: "always" });
op("bt", "0F A3", "Ev,Gv", Kind.BT_EG, { sub: BitOp.BT, flags: "OSAPC", undef: "OSAP", cost: "bit" });
op("shld", "0F A4", "Ev,Gv,Ib", Kind.SHLD_EGI, { flags: ARITH, undef: "OA", cost: "shift" });
op("shld", "0F A5", "Ev,Gv,CL", Kind.SHLD_EGCL, { flags: ARITH, undef: "OA", cost: "shift" });
op("bts", "0F AB", "Ev,Gv", Kind.BT_EG, { sub: BitOp.BTS, flags: "OSAPC", undef: "OSAP", cost: "bit" });
op("shrd", "0F AC", "Ev,Gv,Ib", Kind.SHRD_EGI, { flags: ARITH, undef: "OA", cost: "shift" });
op("shrd", "0F AD", "Ev,Gv,CL", Kind.SHRD_EGCL, { flags: ARITH, undef: "OA", cost: "shift" });
op("imul", "0F AF", "Gv,Ev", Kind.IMUL_GE, { flags: ARITH, undef: "SZAP", cost: "mul" });
op("cmpxchg", "0F B0", "Eb,Gb", Kind.CMPXCHG_EG, { flags: ARITH, cost: "alu" });
op("cmpxchg", "0F B1", "Ev,Gv", Kind.CMPXCHG_EG, { flags: ARITH, cost: "alu" });
op("btr", "0F B3", "Ev,Gv", Kind.BT_EG, { sub: BitOp.BTR, flags: "OSAPC", undef: "OSAP", cost: "bit" });
op("movzx", "0F B6", "Gv,Eb", Kind.MOVZX_GE, { sub: 1, cost: "mov" });
op("movzx", "0F B7", "Gv,Ew", Kind.MOVZX_GE, { sub: 2, cost: "mov" });
op("ud1", "0F B9", "Gv,Ev", Kind.UD, { cost: "invalid" });
for (let i = 4; i < 8; i++) {
  op(["bt", "bts", "btr", "btc"][i - 4], `0F BA/${i}`, "Ev,Ib", Kind.BT_EI, { sub: i - 4, flags: "OSAPC", undef: "OSAP", cost: "bit" });
}
op("btc", "0F BB", "Ev,Gv", Kind.BT_EG, { sub: BitOp.BTC, flags: "OSAPC", undef: "OSAP", cost: "bit" });
op("bsf", "0F BC", "Gv,Ev", Kind.BSF, { flags: ARITH, undef: "OSAPC", cost: "bit" });
op("bsr", "0F BD", "Gv,Ev", Kind.BSR, { flags: ARITH, undef: "OSAPC", cost: "bit" });
op("movsx", "0F BE", "Gv,Eb", Kind.MOVSX_GE, { sub: 1, cost: "mov" });
op("movsx", "0F BF", "Gv,Ew", Kind.MOVSX_GE, { sub: 2, cost: "mov" });
op("xadd", "0F C0", "Eb,Gb", Kind.XADD_EG, { flags: ARITH, cost: "alu" });
op("xadd", "0F C1", "Ev,Gv", Kind.XADD_EG, { flags: ARITH, cost: "alu" });
op("cmpxchg8b", "0F C7/1 mem", "Mq", Kind.CMPXCHG8B, { flags: "Z", cost: "alu" });

/** Instruction prefixes (SDM 2A 2.1.1). */
export const PREFIX_SEGMENT: Record<number, number> = { 0x26: 0, 0x2e: 1, 0x36: 2, 0x3e: 3, 0x64: 4, 0x65: 5 };
export const PREFIX_OPSIZE = 0x66;
export const PREFIX_ADDRSIZE = 0x67;
export const PREFIX_LOCK = 0xf0;
export const PREFIX_REPNE = 0xf2;
export const PREFIX_REP = 0xf3;

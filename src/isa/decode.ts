// Table-driven instruction decoder (SDM 2A chapter 2: prefixes, opcode, ModRM, SIB,
// displacement, immediate). It writes one decoded record of DECODED_WORDS int32 words;
// the hot loop caches these records by physical address and the disassembler prints them.

import { OPCODES, OpcodeRow, PREFIX_SEGMENT, PREFIX_OPSIZE, PREFIX_ADDRSIZE, PREFIX_LOCK, PREFIX_REPNE, PREFIX_REP } from "./opcodes.js";
import { Kind } from "./kind.js";
import { instructionCounter } from "../cost/event.js";
import { Dw, Info, Ops, NO_REG } from "./record.js";

export { Dw, DECODED_WORDS, Info, Ops, NO_REG } from "./record.js";
const INVALID_COUNTER = instructionCounter("invalid", false);

/** Values of the REP field. */
export const enum Rep { NONE = 0, REPE = 1, REPNE = 2 }

/** Where the decoder reads instruction bytes; it may throw (a #PF on fetch). */
export interface ByteSource {
  /** The byte at `offset` from the start of the instruction. */
  byteAt(offset: number): number;
}

/** Why decoding stopped short (kept beside the record so callers can raise the fault). */
export const enum DecodeError { NONE = 0, TOO_LONG = 1 }

// Lookup tables built once from the rows: entry >= 0 is a row index, entry <= -2 names a
// group (ModRM.reg selects the row, split by register or memory form), -1 is invalid.
const MAPS = new Int32Array(512).fill(-1);
const GROUPS: Int32Array[] = [];
const PREFIXED = new Map<number, number>();

function buildTables(): void {
  OPCODES.forEach((row, index) => {
    const slot = row.map * 256 + row.opcode;
    if (row.prefix !== 0) {
      PREFIXED.set((row.prefix << 16) | slot, index);
      return;
    }
    if (row.ext < 0) {
      if (MAPS[slot] !== -1) throw new Error(`opcode table: duplicate row for ${row.mnemonic} ${slot.toString(16)}`);
      MAPS[slot] = index;
      return;
    }
    let g = MAPS[slot];
    if (g === -1) {
      GROUPS.push(new Int32Array(16).fill(-1));
      g = -(GROUPS.length + 1);
      MAPS[slot] = g;
    } else if (g >= 0) {
      throw new Error(`opcode table: ${row.mnemonic} mixes group and plain rows at ${slot.toString(16)}`);
    }
    const table = GROUPS[-g - 2];
    for (const form of [0, 1]) {
      if ((row.form === "mem" && form === 1) || (row.form === "reg" && form === 0)) continue;
      const i = form * 8 + row.ext;
      if (table[i] !== -1) throw new Error(`opcode table: duplicate row for ${row.mnemonic} ${slot.toString(16)}/${row.ext}`);
      table[i] = index;
    }
  });
}
buildTables();

/** Per-row facts the decoder needs, derived once from the operand notation. */
interface RowShape { modrm: boolean; regOnly: boolean; sizeCode: number; imm: string[]; accInG: boolean; regInOpcode: boolean; moffs: boolean }
const SHAPES: RowShape[] = OPCODES.map(shapeOf);

function shapeOf(row: OpcodeRow): RowShape {
  const ops = row.operands;
  const modrm = ops.some((o) => /^[EGMSCDR][a-z]?$/.test(o));
  const regOnly = ops.some((o) => o === "Rd");
  let sizeCode = 0; // 0 = operand size, otherwise fixed bytes
  for (const o of ops) {
    if (/^[EGZRO][bwdvz]$/.test(o) || /^[XY][bvz]$/.test(o) || o === "AL" || o === "eAX") {
      const s = o === "AL" ? "b" : o === "eAX" ? "v" : o[1];
      sizeCode = s === "b" ? 1 : s === "w" ? 2 : s === "d" ? 4 : 0;
      break;
    }
  }
  const imm = ops.filter((o) => /^(I[bwvz]s?|J[bz]|Ap)$/.test(o));
  return { modrm, regOnly, sizeCode, imm, accInG: ops.some((o) => o[0] === "O"), regInOpcode: ops.some((o) => o[0] === "Z"), moffs: ops.some((o) => o[0] === "O") };
}

/** The row a decoded record came from. */
export function rowOf(record: Int32Array, at: number): OpcodeRow | undefined {
  const i = record[at + Dw.ROW];
  return i >= 0 ? OPCODES[i] : undefined;
}

/** Kinds that accept a LOCK prefix with a memory destination (SDM 2A LOCK). */
function lockable(kind: Kind, sub: number): boolean {
  switch (kind) {
    case Kind.ALU_EG: case Kind.ALU_EI: return sub !== 7; // not CMP
    case Kind.INC_E: case Kind.DEC_E: case Kind.NOT_E: case Kind.NEG_E:
    case Kind.XCHG_EG: case Kind.XADD_EG: case Kind.CMPXCHG_EG: case Kind.CMPXCHG8B: return true;
    case Kind.BT_EG: case Kind.BT_EI: return sub !== 0; // not BT
    default: return false;
  }
}

/**
 * Decodes one instruction into `out[at .. at+DECODED_WORDS)`, leaving Dw.TAG alone.
 * `code32` is the default operand and address size (CS.D). Returns the length in bytes,
 * or -1 if the instruction is longer than 15 bytes (SDM 2A 2.3.11: #GP).
 */
export function decode(src: ByteSource, code32: boolean, out: Int32Array, at: number): number {
  let pos = 0;
  let o32 = code32, a32 = code32;
  let seg = -1, rep = Rep.NONE, lock = false, mandatory = 0;
  let b = src.byteAt(pos++);
  // Prefixes, in any order; the last segment override wins.
  for (;;) {
    if (pos > 15) return -1;
    const s = PREFIX_SEGMENT[b];
    if (s !== undefined) seg = s;
    else if (b === PREFIX_OPSIZE) o32 = !code32;
    else if (b === PREFIX_ADDRSIZE) a32 = !code32;
    else if (b === PREFIX_LOCK) lock = true;
    else if (b === PREFIX_REP) { rep = Rep.REPE; mandatory = b; }
    else if (b === PREFIX_REPNE) { rep = Rep.REPNE; mandatory = b; }
    else break;
    b = src.byteAt(pos++);
  }
  let slot = b;
  if (b === 0x0f) slot = 256 + src.byteAt(pos++);

  let rowIndex = MAPS[slot];
  if (mandatory !== 0) {
    const p = PREFIXED.get((mandatory << 16) | slot);
    if (p !== undefined) { rowIndex = p; rep = Rep.NONE; }
  }
  let modrm = -1;
  if (rowIndex <= -2) {
    modrm = src.byteAt(pos++);
    rowIndex = GROUPS[-rowIndex - 2][((modrm >> 6) === 3 ? 8 : 0) + ((modrm >> 3) & 7)];
  }
  if (rowIndex < 0) {
    writeRecord(out, at, Kind.INVALID, 0, pos, 0, o32, a32, 0, 0, 0);
    out[at + Dw.COUNTER] = INVALID_COUNTER;
    return pos;
  }
  const row = OPCODES[rowIndex];
  const shape = SHAPES[rowIndex];
  if (shape.modrm && modrm < 0) modrm = src.byteAt(pos++);

  let reg = 0, base = NO_REG, index = NO_REG, scale = 0, disp = 0, regForm = 0, addr16 = 0;
  let defaultSeg = 3; // DS
  if (modrm >= 0) {
    const mod = modrm >> 6, rm = modrm & 7;
    reg = (modrm >> 3) & 7;
    if (mod === 3 || shape.regOnly) {
      regForm = 1;
      base = rm;
    } else if (a32) {
      if (rm === 4) {
        const sib = src.byteAt(pos++);
        scale = sib >> 6;
        index = (sib >> 3) & 7;
        if (index === 4) index = NO_REG; // SIB index 100b: none (SDM 2A table 2-3)
        base = sib & 7;
        if (base === 5 && mod === 0) { base = NO_REG; disp = readImm(src, pos, 4); pos += 4; }
      } else if (rm === 5 && mod === 0) {
        disp = readImm(src, pos, 4); pos += 4;
      } else {
        base = rm;
      }
      if (base === 4 || base === 5) defaultSeg = 2; // ESP/EBP-based: SS
      if (mod === 1) { disp = (src.byteAt(pos++) << 24) >> 24; }
      else if (mod === 2) { disp = readImm(src, pos, 4); pos += 4; }
    } else {
      addr16 = 1;
      // SDM 2A table 2-1: the eight 16-bit base/index combinations.
      const BASES = [3, 3, 5, 5, 6, 7, 5, 3], INDEXES = [6, 7, 6, 7, NO_REG, NO_REG, NO_REG, NO_REG];
      base = BASES[rm]; index = INDEXES[rm];
      if (rm === 6 && mod === 0) { base = NO_REG; disp = readImm(src, pos, 2) & 0xffff; pos += 2; }
      if (base === 5) defaultSeg = 2; // BP-based: SS
      if (mod === 1) { disp = (src.byteAt(pos++) << 24) >> 24; }
      else if (mod === 2) { disp = (readImm(src, pos, 2) << 16) >> 16; pos += 2; }
    }
  } else if (shape.regInOpcode) {
    regForm = 1;
    base = slot & 7; // the register is in the low bits of the (last) opcode byte
  } else if (shape.moffs) {
    disp = readImm(src, pos, a32 ? 4 : 2); pos += a32 ? 4 : 2;
    if (!a32) addr16 = 1;
  }
  if (shape.moffs) reg = 0; // accumulator in the G position
  else if (!shape.modrm && !shape.regInOpcode && row.operands.length > 0 && (row.operands[0] === "AL" || row.operands[0] === "eAX")) { regForm = 1; base = 0; }
  if (row.kind === Kind.XCHG_EG && shape.regInOpcode) reg = 0;

  // Immediates in operand order.
  let imm = 0, imm2 = 0, n = 0;
  for (const spec of shape.imm) {
    let v: number;
    switch (spec) {
      case "Ib": v = src.byteAt(pos); pos += 1; break;
      case "Ibs": case "Jb": v = (src.byteAt(pos) << 24) >> 24; pos += 1; break;
      case "Iw": v = readImm(src, pos, 2) & 0xffff; pos += 2; break;
      case "Iz": case "Iv": case "Jz":
        if (o32) { v = readImm(src, pos, 4); pos += 4; }
        else { v = readImm(src, pos, 2); v = spec === "Jz" ? (v << 16) >> 16 : v & 0xffff; pos += 2; }
        break;
      case "Ap":
        if (o32) { v = readImm(src, pos, 4); pos += 4; } else { v = readImm(src, pos, 2) & 0xffff; pos += 2; }
        imm2 = readImm(src, pos, 2) & 0xffff; pos += 2;
        break;
      default: throw new Error(`opcode table: unknown immediate ${spec}`);
    }
    if (n++ === 0) imm = v; else imm2 = v;
    if (pos > 15) return -1;
  }
  if (pos > 15) return -1;

  let kind = row.kind;
  if (lock && (regForm === 1 || !lockable(kind, row.sub))) kind = Kind.UD; // SDM 2A LOCK: #UD otherwise
  const size = shape.sizeCode !== 0 ? shape.sizeCode : o32 ? 4 : 2;
  const segField = seg >= 0 ? seg : defaultSeg;
  writeRecord(out, at, kind, row.sub, pos, size, o32, a32, regForm, rep, (lock ? Info.LOCK : 0) | (seg >= 0 ? Info.SEG_OVERRIDE : 0),
    reg | (base << Ops.RM_SHIFT) | (index << Ops.INDEX_SHIFT) | (scale << Ops.SCALE_SHIFT) | (segField << Ops.SEG_SHIFT) | (addr16 ? Ops.ADDR16 : 0),
    disp, imm, rowIndex, imm2);
  const memory = row.memoryOperand && (shape.moffs || (modrm >= 0 && regForm === 0));
  out[at + Dw.COUNTER] = row.counter + (memory ? 1 : 0);
  return pos;
}

function readImm(src: ByteSource, pos: number, bytes: number): number {
  let v = 0;
  for (let i = bytes - 1; i >= 0; i--) v = (v << 8) | src.byteAt(pos + i);
  return v | 0;
}

function writeRecord(out: Int32Array, at: number, kind: Kind, sub: number, len: number, size: number, o32: boolean, a32: boolean,
  regForm: number, rep: number, extra: number, ops = 0, disp = 0, imm = 0, row = -1, imm2 = 0): void {
  out[at + Dw.INFO] = kind | (sub << Info.SUB_SHIFT) | (len << Info.LEN_SHIFT) | (size << Info.SIZE_SHIFT) |
    (o32 ? Info.O32 : 0) | (a32 ? Info.A32 : 0) | (regForm ? Info.REGFORM : 0) | (rep << Info.REP_SHIFT) | extra;
  out[at + Dw.OPS] = ops;
  out[at + Dw.DISP] = disp;
  out[at + Dw.IMM] = imm;
  out[at + Dw.IMM2] = imm2;
  out[at + Dw.ROW] = row;
}

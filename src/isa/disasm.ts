// Intel-syntax disassembler driven by the same table and decoder as the CPU, so what it
// prints is exactly what the emulator executes.

import { decode, Dw, Info, Rep, NO_REG, DECODED_WORDS, ByteSource } from "./decode.js";
import { OPCODES } from "./opcodes.js";
import { Kind } from "./kind.js";

export interface DisassembledInstruction {
  address: number;
  length: number;
  bytes: Uint8Array;
  text: string;
}

const REG32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const REG16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const REG8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const SREG = ["es", "cs", "ss", "ds", "fs", "gs", "?", "?"];
const SIZE_WORD: Record<number, string> = { 1: "byte", 2: "word", 4: "dword" };

/** Mnemonics that change with the operand size (the table names the 32-bit form). */
const SIZED_NAMES: Record<string, [string, string]> = {
  movsd: ["movsw", "movsd"], cmpsd: ["cmpsw", "cmpsd"], stosd: ["stosw", "stosd"], lodsd: ["lodsw", "lodsd"],
  scasd: ["scasw", "scasd"], insd: ["insw", "insd"], outsd: ["outsw", "outsd"], cbw: ["cbw", "cwde"],
  cwd: ["cwd", "cdq"], pusha: ["pusha", "pushad"], popa: ["popa", "popad"], pushf: ["pushf", "pushfd"],
  popf: ["popf", "popfd"], iret: ["iret", "iretd"],
};

const hex = (v: number) => (v >>> 0).toString(16);

/** Operands that name one register or constant, printed as is. */
const FIXED_OPERANDS: Record<string, string> = {
  AL: "al", eAX: "eax", CL: "cl", DX: "dx", "1": "1", ES: "es", CS: "cs", SS: "ss", DS: "ds", FS: "fs", GS: "gs",
};

function regName(size: number, r: number): string {
  return size === 1 ? REG8[r] : size === 2 ? REG16[r] : REG32[r];
}

class ArraySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array, private start: number) {}
  at(start: number): this { this.start = start; return this; }
  byteAt(offset: number): number {
    const i = this.start + offset;
    if (i >= this.bytes.length) throw new RangeError("instruction runs past the end of the input");
    return this.bytes[i];
  }
}

/**
 * Disassembles `bytes` as code at `address`. `code32` selects the default operand and
 * address size. Stops at the end of the input or after `count` instructions.
 */
export function disassemble(bytes: Uint8Array, options: { address?: number; code32?: boolean; count?: number } = {}): DisassembledInstruction[] {
  const out: DisassembledInstruction[] = [];
  const base = options.address ?? 0;
  const code32 = options.code32 ?? true;
  const max = options.count ?? Infinity;
  const rec = new Int32Array(DECODED_WORDS);
  const src = new ArraySource(bytes, 0);
  let pos = 0;
  while (pos < bytes.length && out.length < max) {
    let len: number;
    try {
      len = decode(src.at(pos), code32, rec, 0);
    } catch {
      out.push({ address: base + pos, length: bytes.length - pos, bytes: bytes.subarray(pos), text: "(truncated)" });
      break;
    }
    if (len < 0) { len = 15; }
    out.push({ address: base + pos, length: len, bytes: bytes.subarray(pos, pos + len), text: formatRecord(rec, 0, base + pos) });
    pos += len;
  }
  return out;
}

/** Formats one decoded record; `address` is where the instruction starts. */
export function formatRecord(rec: Int32Array, at: number, address: number): string {
  const info = rec[at + Dw.INFO];
  const rowIndex = rec[at + Dw.ROW];
  const kind = info & Info.KIND_MASK;
  if (rowIndex < 0 || kind === Kind.INVALID) return "(bad)";
  const row = OPCODES[rowIndex];
  const o32 = (info & Info.O32) !== 0;
  const size = (info >> Info.SIZE_SHIFT) & Info.SIZE_MASK;
  const len = (info >> Info.LEN_SHIFT) & Info.LEN_MASK;
  let name = row.mnemonic;
  const sized = SIZED_NAMES[name];
  if (sized) name = sized[o32 ? 1 : 0];
  if (name === "jecxz" && (info & Info.A32) === 0) name = "jcxz";
  const prefixes: string[] = [];
  if (info & Info.LOCK) prefixes.push("lock");
  const rep = (info >> Info.REP_SHIFT) & Info.REP_MASK;
  if (rep !== Rep.NONE && [Kind.MOVS, Kind.STOS, Kind.LODS, Kind.INS, Kind.OUTS].includes(kind)) prefixes.push("rep");
  else if (rep === Rep.REPE && (kind === Kind.CMPS || kind === Kind.SCAS)) prefixes.push("repe");
  else if (rep === Rep.REPNE && (kind === Kind.CMPS || kind === Kind.SCAS)) prefixes.push("repne");
  const ops = rec[at + Dw.OPS];
  const reg = ops & 15, rm = (ops >> 4) & 15;
  const regForm = (info & Info.REGFORM) !== 0;
  let immSeen = 0;
  const texts: string[] = [];
  const stringOp = [Kind.MOVS, Kind.STOS, Kind.LODS, Kind.CMPS, Kind.SCAS, Kind.INS, Kind.OUTS].includes(kind);
  for (const spec of row.operands) {
    const fixed = FIXED_OPERANDS[spec];
    if (fixed !== undefined) {
      if (stringOp) continue; // implicit in the mnemonic
      texts.push(spec === "eAX" ? (o32 || size === 4 ? "eax" : "ax") : fixed);
      continue;
    }
    const kindLetter = spec[0];
    const suffix = spec.slice(1);
    const opSize = suffix === "b" ? 1 : suffix === "w" ? 2 : suffix === "d" ? 4 : o32 ? 4 : 2;
    switch (kindLetter) {
      case "E": {
        // MOV r/m, Sreg stores 16 bits to memory whatever the operand size (SDM 2A MOV).
        const memSize = kind === Kind.MOV_E_SEG ? 2 : opSize;
        texts.push(regForm ? regName(opSize, rm) : memory(rec, at, info, memSize));
        break;
      }
      case "M": {
        const far = spec === "Mp" && (kind === Kind.JMP_FAR_M || kind === Kind.CALL_FAR_M);
        texts.push((far ? "far " : "") + memory(rec, at, info, 0));
        break;
      }
      case "O": texts.push(memory(rec, at, info, opSize)); break;
      case "G": texts.push(regName(opSize, reg)); break;
      case "Z": texts.push(regName(opSize, rm)); break;
      case "R": texts.push(REG32[rm]); break;
      case "S": texts.push(SREG[reg]); break;
      case "C": texts.push(`cr${reg}`); break;
      case "D": texts.push(spec === "DX" ? "dx" : `dr${reg}`); break;
      case "X": case "Y": break; // string operands are implicit
      case "J": texts.push(`0x${hex(o32 ? address + len + rec[at + Dw.IMM] : (address + len + rec[at + Dw.IMM]) & 0xffff)}`); break;
      case "A": texts.push(`0x${hex(rec[at + Dw.IMM2])}:0x${hex(rec[at + Dw.IMM])}`); break;
      case "I": {
        const v = immSeen++ === 0 ? rec[at + Dw.IMM] : rec[at + Dw.IMM2];
        const mask = spec === "Ib" ? 0xff : spec === "Iw" ? 0xffff : size === 2 ? 0xffff : size === 1 ? 0xff : -1;
        texts.push(`0x${hex(v & mask)}`);
        break;
      }
      default:
        texts.push(spec.toLowerCase());
    }
  }
  const head = [...prefixes, name].join(" ");
  return texts.length > 0 ? `${head} ${texts.join(", ")}` : head;
}

function memory(rec: Int32Array, at: number, info: number, size: number): string {
  const ops = rec[at + Dw.OPS];
  const base = (ops >> 4) & 15, index = (ops >> 8) & 15, scale = (ops >> 12) & 3;
  const seg = (ops >> 16) & 7;
  const a32 = (info & Info.A32) !== 0;
  const names = a32 ? REG32 : REG16;
  const parts: string[] = [];
  if (base !== NO_REG) parts.push(names[base]);
  if (index !== NO_REG) parts.push(scale > 0 ? `${names[index]}*${1 << scale}` : names[index]);
  const disp = rec[at + Dw.DISP];
  let text = parts.join("+");
  if (disp !== 0 || parts.length === 0) {
    if (parts.length === 0) text = `0x${hex(a32 ? disp : disp & 0xffff)}`;
    else text += disp < 0 ? `-0x${hex(-disp)}` : `+0x${hex(disp)}`;
  }
  const override = (info & Info.SEG_OVERRIDE) !== 0 ? `${SREG[seg]}:` : "";
  const sizeWord = size > 0 ? `${SIZE_WORD[size]} ` : "";
  return `${sizeWord}[${override}${text}]`;
}

// A reader for MOO test files (SingleStepTests hardware vectors), written from the
// format description in dbalsom/moo doc/moo_format_v1.md (MOO v1.1): chunks of a
// 4-byte ASCII id, a u32 payload length and the payload, all little-endian; unknown
// chunks are skipped by their length. Only what a functional (not cycle-accurate)
// test needs is decoded: registers, register masks, RAM entries, instruction bytes,
// the exception record and the hash. CYCL (bus cycles) and QUEU are skipped.

import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

/** REGS / RMSK bit order (16-bit register file). */
export const REG16_NAMES = ["ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags"] as const;
/** RG32 / RM32 bit order (32-bit register file). */
export const REG32_NAMES = [
  "cr0", "cr3", "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp",
  "cs", "ds", "es", "fs", "gs", "ss", "eip", "eflags", "dr6", "dr7",
] as const;
export type Reg16Name = (typeof REG16_NAMES)[number];
export type Reg32Name = (typeof REG32_NAMES)[number];

/** A sparse register set: only the registers whose bit was set in the chunk's bitmask. */
export interface MooRegs {
  /** 16 for REGS/RMSK, 32 for RG32/RM32. */
  width: 16 | 32;
  /** Register name (REG16_NAMES or REG32_NAMES) -> unsigned value. */
  values: Map<string, number>;
}

export interface MooState {
  regs: MooRegs | null;
  /** Per-test undefined-bit masks (RMSK / RM32 inside FINA); null if absent. */
  masks: MooRegs | null;
  /** [physical address, byte] pairs. */
  ram: Array<[number, number]>;
  queue: Uint8Array | null;
}

export interface MooException {
  vector: number;
  /** Physical address of the FLAGS image pushed on the stack. */
  flagsAddress: number;
}

export interface MooTest {
  index: number;
  name: string;
  bytes: Uint8Array;
  init: MooState;
  final: MooState;
  exception: MooException | null;
  /** SHA-1 as lowercase hex ("" if absent). */
  hash: string;
}

export interface MooFile {
  major: number;
  minor: number;
  testCount: number;
  /** Four-character CPU id as stored, e.g. "C286" or "386E". */
  cpuId: string;
  meta: {
    major: number; minor: number; cpuType: number; opcode: number;
    mnemonic: string; testCount: number; seed: bigint; cpuMode: number;
  } | null;
  /** File-wide undefined-bit masks (top-level RMSK / RM32); null if absent. */
  masks: MooRegs | null;
  tests: MooTest[];
}

export class MooFormatError extends Error {}

const ascii = (b: Uint8Array, start: number, len: number): string =>
  String.fromCharCode(...b.subarray(start, start + len));

interface Chunk { id: string; start: number; end: number }

/** Splits [start, end) into chunks; throws on a chunk that runs past `end`. */
function* chunks(b: Uint8Array, dv: DataView, start: number, end: number): Generator<Chunk> {
  let p = start;
  while (p < end) {
    if (p + 8 > end) throw new MooFormatError(`truncated chunk header at offset ${p}`);
    const id = ascii(b, p, 4);
    const len = dv.getUint32(p + 4, true);
    const s = p + 8, e = s + len;
    if (e > end) throw new MooFormatError(`chunk '${id}' at offset ${p} (length ${len}) runs past its parent`);
    yield { id, start: s, end: e };
    p = e;
  }
}

function parseRegs(dv: DataView, c: Chunk, width: 16 | 32): MooRegs {
  const names: readonly string[] = width === 16 ? REG16_NAMES : REG32_NAMES;
  const size = width / 8;
  const mask = width === 16 ? dv.getUint16(c.start, true) : dv.getUint32(c.start, true);
  const values = new Map<string, number>();
  let p = c.start + size;
  for (let bit = 0; bit < names.length; bit++) {
    if (((mask >>> bit) & 1) === 0) continue;
    if (p + size > c.end) throw new MooFormatError(`register chunk too short for mask ${mask.toString(16)}`);
    values.set(names[bit]!, width === 16 ? dv.getUint16(p, true) : dv.getUint32(p, true));
    p += size;
  }
  return { width, values };
}

function parseState(b: Uint8Array, dv: DataView, c: Chunk): MooState {
  const st: MooState = { regs: null, masks: null, ram: [], queue: null };
  for (const sc of chunks(b, dv, c.start, c.end)) {
    switch (sc.id) {
      case "REGS": st.regs = parseRegs(dv, sc, 16); break;
      case "RG32": st.regs = parseRegs(dv, sc, 32); break;
      case "RMSK": st.masks = parseRegs(dv, sc, 16); break;
      case "RM32": st.masks = parseRegs(dv, sc, 32); break;
      case "RAM ": {
        const n = dv.getUint32(sc.start, true);
        if (sc.start + 4 + n * 5 > sc.end) throw new MooFormatError(`RAM chunk too short for ${n} entries`);
        for (let i = 0, p = sc.start + 4; i < n; i++, p += 5) st.ram.push([dv.getUint32(p, true), b[p + 4]!]);
        break;
      }
      case "QUEU": {
        const n = dv.getUint32(sc.start, true);
        st.queue = b.slice(sc.start + 4, sc.start + 4 + n);
        break;
      }
      default: break; // EA32 and anything newer: not needed
    }
  }
  return st;
}

function parseTest(b: Uint8Array, dv: DataView, c: Chunk): MooTest {
  const t: MooTest = {
    index: dv.getUint32(c.start, true), name: "", bytes: new Uint8Array(0),
    init: { regs: null, masks: null, ram: [], queue: null },
    final: { regs: null, masks: null, ram: [], queue: null },
    exception: null, hash: "",
  };
  for (const sc of chunks(b, dv, c.start + 4, c.end)) {
    switch (sc.id) {
      case "NAME": t.name = ascii(b, sc.start + 4, dv.getUint32(sc.start, true)); break;
      case "BYTS": t.bytes = b.slice(sc.start + 4, sc.start + 4 + dv.getUint32(sc.start, true)); break;
      case "INIT": t.init = parseState(b, dv, sc); break;
      case "FINA": t.final = parseState(b, dv, sc); break;
      case "EXCP": t.exception = { vector: b[sc.start]!, flagsAddress: dv.getUint32(sc.start + 1, true) }; break;
      case "HASH": t.hash = Buffer.from(b.subarray(sc.start, sc.start + 20)).toString("hex"); break;
      default: break; // CYCL, IDX and unknown chunks
    }
  }
  if (t.init.regs === null) throw new MooFormatError(`test ${t.index} has no initial registers`);
  return t;
}

/** Parses a MOO file held in memory (already decompressed). */
export function parseMoo(data: Uint8Array): MooFile {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const file: MooFile = { major: 0, minor: 0, testCount: 0, cpuId: "", meta: null, masks: null, tests: [] };
  let sawHeader = false;
  for (const c of chunks(data, dv, 0, data.length)) {
    if (!sawHeader) {
      if (c.id !== "MOO ") throw new MooFormatError(`not a MOO file (first chunk '${c.id}')`);
      sawHeader = true;
      file.major = data[c.start]!;
      file.minor = data[c.start + 1]!;
      file.testCount = dv.getUint32(c.start + 4, true);
      file.cpuId = ascii(data, c.start + 8, 4);
      continue;
    }
    switch (c.id) {
      case "META":
        file.meta = {
          major: data[c.start]!, minor: data[c.start + 1]!, cpuType: data[c.start + 2]!,
          opcode: dv.getUint32(c.start + 3, true), mnemonic: ascii(data, c.start + 7, 8).trimEnd(),
          testCount: dv.getUint32(c.start + 15, true), seed: dv.getBigUint64(c.start + 19, true),
          cpuMode: data[c.start + 27]!,
        };
        break;
      case "RMSK": file.masks = parseRegs(dv, c, 16); break;
      case "RM32": file.masks = parseRegs(dv, c, 32); break;
      case "TEST": file.tests.push(parseTest(data, dv, c)); break;
      default: break;
    }
  }
  if (!sawHeader) throw new MooFormatError("empty file");
  if (file.tests.length !== file.testCount) {
    throw new MooFormatError(`header says ${file.testCount} tests, file holds ${file.tests.length}`);
  }
  return file;
}

/** Reads and parses a .MOO or .MOO.gz file. */
export function readMoo(path: string): MooFile {
  let data: Uint8Array = readFileSync(path);
  if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
  return parseMoo(data);
}

/**
 * Seeded generator of random instruction snippets for the silicon-oracle
 * property test (tests/oracle/property.test.ts) and the fuzzer (npm run fuzz).
 *
 * Every case is built from rows of THE opcode table (src/isa/opcodes.ts): the
 * generator picks 1-3 eligible rows ("main" instructions), encodes each with
 * random prefixes, ModRM/SIB forms, immediates and register values, and puts
 * in front of each the "fixups" (MOV r,imm32 / PUSH imm32 / MOV [m],imm32 /
 * CMP r,imm8, themselves table rows) that keep it well defined:
 *
 * - every memory operand lands inside the data or stack region
 *   (0x300000..0x31FFFF): registers used as base/index are either given a
 *   suitable initial value (registers not yet read with a constraint nor
 *   written are "fresh" and are pinned lazily) or reloaded by a fixup;
 *   [disp32] forms absorb any known base/index value, so edge values such as
 *   0x80000000 reach the address computation with wrap-around;
 * - ESP is inside the stack region (0x312000..0x31E000) before any stack
 *   operation, ESP-relative access, ENTER/LEAVE (EBP too);
 * - branch targets are always a later instruction boundary of the snippet or
 *   its end (fall-through or forward skips; no backward branches); RET,
 *   JMP/CALL r/m get their target from a fixup;
 * - shift counts are known at generation time (imm8, or CL set by a pin or
 *   fixup), SHLD/SHRD counts on 16-bit operands are <= 16;
 * - an instruction that reads a flag the SDM left undefined (ADC after AND
 *   reads CF fine, but DAA after MUL reads AF...) is preceded by CMP r,imm8.
 *
 * The generator tracks an abstract state (register values known/unknown,
 * undefined flags, registers with undefined values) along all paths and
 * records, for every instruction boundary, which flags and registers are
 * undefined there; compare.ts masks those at the boundary where the run
 * stopped (the end, or the faulting instruction).
 *
 * 16-bit addressing (67 prefix): a 16-bit effective address is 0..0xFFFF,
 * which can never reach the data region (and natively is always unmapped, as
 * Linux keeps mmap_min_addr = 64 KiB, while the snippet runner has RAM
 * there), so the 67 prefix is only put on instructions without a memory
 * operand (where it does nothing) and on LOOP/LOOPcc/JECXZ (where it selects
 * CX). Memory forms, string instructions and XLAT never get 67.
 *
 * Long mode (GenerateOptions.mode 'long', for the harness's 64-bit build:
 * docs/oracle.md): the host runs the same bytes in 64-bit mode, so the generator
 * keeps to the IA-32 encodings that mean the same there. It leaves out the rows
 * longModeExclusion() names (the stack is 8 bytes wide, 40-4F are REX prefixes,
 * BCD and a few others are invalid, moffs is 8 bytes), makes PUSH, POP, PUSHF,
 * POPF, ENTER and LEAVE only with 66 (2 bytes on the stack in both modes); it never puts 67 on
 * LOOP/JECXZ (there 67 selects ECX, not CX) and avoids ModRM [disp32] (mod 00,
 * r/m 101), which is RIP-relative in 64-bit mode (SDM 2A 2.2.1.6; the SIB form
 * with no base serves instead). Addresses are 64-bit sums of zero-extended
 * registers and a sign-extended displacement (SDM 1 3.3.7), so memory operands
 * are chosen whose 32-bit sum does not wrap, index registers are 0..0x400, and
 * the other registers start zero-extended and stay below 4 GiB; the low halves
 * then evolve as in IA-32.
 */
import { OPCODES, type OpcodeRow } from '../../src/isa/opcodes.js';
import { Kind } from '../../src/isa/kind.js';
import { CODE_BASE, DATA_BASE, DEFAULT_ESP, STACK_BASE, STACK_SIZE, type SnippetCase } from './native/types.js';
import type { OracleMode } from './native/oracle.js';

export const REGION_LO = DATA_BASE;
export const REGION_HI = STACK_BASE + STACK_SIZE; // data and stack are contiguous
const ESP_SAFE_LO = 0x312000;
const ESP_SAFE_HI = 0x31e000;

export const ARITH_FLAGS = 0x8d5; // OF SF ZF AF PF CF
const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

// ---------------------------------------------------------------------------------------
// PRNG: mulberry32 (public domain construction), 32-bit state.

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** 0 .. n-1 */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  /** lo .. hi inclusive */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

/** The seed of case `index` of a campaign with seed `seed` (cases are independent). */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const EDGE32 = [0, 1, 0xffffffff, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xff00ff00];
const EDGE16 = [0, 1, 0xffff, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xfffe];
const EDGE8 = [0, 1, 0xff, 0x7f, 0x80, 0xfe, 0x0f, 0x10];
const COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 0xff];

function val32(r: Rng): number {
  const k = r.int(10);
  if (k < 4) return r.pick(EDGE32);
  if (k < 5) return (r.pick(EDGE16) | (r.u32() & 0xffff0000)) >>> 0;
  if (k < 6) return (r.pick(EDGE8) | (r.u32() & 0xffffff00)) >>> 0;
  if (k < 7) return r.int(0x100);
  return r.u32();
}
function imm8(r: Rng): number {
  return r.chance(0.5) ? r.pick(EDGE8) : r.int(256);
}
function imm16(r: Rng): number {
  return r.chance(0.5) ? r.pick(EDGE16) : r.int(0x10000);
}
function imm32(r: Rng): number {
  return r.chance(0.6) ? r.pick(EDGE32) : r.u32();
}
function small(r: Rng): number {
  return r.chance(0.3) ? r.range(-8, 8) >>> 0 : r.range(-64, 64) >>> 0;
}
const sext16 = (v: number): number => (v << 16) >> 16;

// ---------------------------------------------------------------------------------------
// Eligibility

const COMPLEX_FIRST = Kind.COMPLEX_FIRST as number;

/** Why a row is not generated, or undefined when it is eligible. */
export function exclusionReason(row: OpcodeRow): string | undefined {
  if (row.privileged) return 'privileged';
  const k = row.kind as number;
  if (k >= COMPLEX_FIRST) return 'segment load, far transfer, interrupt, I/O or system instruction';
  if (row.kind === Kind.UD) return 'UD2/UD1';
  if (row.kind === Kind.FPU) return 'x87 escape';
  if (row.kind === Kind.WAIT) return 'WAIT';
  if (row.kind === Kind.INVALID) return 'invalid';
  if (row.kind === Kind.PUSH_SEG && row.sub >= 4) return 'PUSH FS/GS: Linux FS/GS selectors differ from the snippet runner';
  return undefined;
}

/**
 * Why an eligible row means something else in 64-bit mode, or undefined when its
 * encoding and effect on the low 32 bits of registers, on flags and on memory are
 * the same there (SDM 2A 2.2.1 and each instruction's "64-bit mode" notes).
 */
export function longModeExclusion(row: OpcodeRow): string | undefined {
  const k = row.kind;
  // PUSH, POP, PUSHF, POPF, ENTER and LEAVE stay, always with 66 (STACK16_IN_LONG_MODE).
  // SDM 2A CALL, RET: 66 on a near CALL/RET in 64-bit mode differs by vendor.
  if ([Kind.PUSH_SEG, Kind.PUSHA, Kind.POPA, Kind.CALL_REL, Kind.CALL_E, Kind.RET_NEAR].includes(k)) {
    return 'the stack is 8 bytes wide in 64-bit mode (PUSH/POP segment and PUSHA/POPA are invalid)';
  }
  if (k === Kind.JMP_E) return 'JMP r/m takes a 64-bit operand in 64-bit mode';
  if ([Kind.DAA, Kind.DAS, Kind.AAA, Kind.AAS, Kind.AAM, Kind.AAD, Kind.SALC, Kind.BOUND].includes(k)) return 'invalid in 64-bit mode';
  if (row.map === 0 && row.opcode === 0x82) return 'opcode 82 is invalid in 64-bit mode';
  if (row.map === 0 && row.opcode >= 0x40 && row.opcode <= 0x4f) return '40-4F are REX prefixes in 64-bit mode';
  if (row.operands.some((o) => o[0] === 'O')) return 'moffs is 8 bytes in 64-bit mode';
  if (k === Kind.MOV_E_SEG) return "Linux's 64-bit selectors differ from the 32-bit ones the snippet runner holds";
  return undefined;
}

/** Kinds generated only with a 16-bit operand in long mode, where 66 gives the same 2-byte stack access. */
const STACK16_IN_LONG_MODE: readonly Kind[] = [Kind.PUSH_E, Kind.PUSH_I, Kind.POP_E, Kind.PUSHF, Kind.POPF, Kind.ENTER, Kind.LEAVE];

export const ELIGIBLE_ROWS: number[] = OPCODES.map((_, i) => i).filter((i) => exclusionReason(OPCODES[i]!) === undefined);
const ELIGIBLE_ROWS_LONG: number[] = ELIGIBLE_ROWS.filter((i) => longModeExclusion(OPCODES[i]!) === undefined);

/**
 * The general kinds whose 32-bit register and flat-memory forms the loop runs as fast
 * kinds a compiled block holds (core/specialize.ts, blockCompiler.ts blockable()), and the
 * branches at which blocks end and start.
 */
const BLOCK_KINDS: readonly Kind[] = [Kind.ALU_EG, Kind.ALU_GE, Kind.ALU_EI, Kind.MOV_EG, Kind.MOV_GE, Kind.MOV_EI,
  Kind.INC_E, Kind.DEC_E, Kind.SHIFT_EI, Kind.LEA, Kind.MOVZX_GE, Kind.JCC, Kind.JMP_REL];

/** The rows a campaign focused on blocks generates in `mode` (GenerateOptions.focus). */
export function blockRows(mode: OracleMode = 'ia32'): number[] {
  // Byte operands have no fast form, except MOVZX r32, r/m8's source.
  const bytes = (row: OpcodeRow): boolean => row.kind !== Kind.MOVZX_GE && row.operands.some((o) => ['Eb', 'Gb', 'AL', 'Zb'].includes(o));
  return eligibleRows(mode).filter((i) => BLOCK_KINDS.includes(OPCODES[i]!.kind) && !bytes(OPCODES[i]!));
}

/** The rows a campaign in `mode` generates. */
export function eligibleRows(mode: OracleMode = 'ia32'): number[] {
  return mode === 'long' ? ELIGIBLE_ROWS_LONG : ELIGIBLE_ROWS;
}

// ---------------------------------------------------------------------------------------
// Abstract state

type RV = { k: 'init' } | { k: 'range'; lo: number; hi: number } | { k: 'unknown' };

interface AState {
  regs: RV[];
  /** Flags whose value is undefined (SDM) here. */
  undef: number;
  /** Registers whose value is undefined here (bit per register). */
  masked: number;
  /** Memory may differ from the initial contents. */
  memDirty: boolean;
}

function cloneState(s: AState): AState {
  return { regs: s.regs.slice(), undef: s.undef, masked: s.masked, memDirty: s.memDirty };
}

class Retry extends Error {}

interface Reloc {
  at: number;
  label: number;
  rel: boolean; // rel32/rel8 from the end of the item, else absolute 32-bit
  size: 1 | 4;
}

interface Item {
  bytes: number[];
  relocs: Reloc[];
  main: boolean;
  row: number; // main: its row index; fixups: -1
}

/** One generated instruction (after layout). */
export interface GenInsn {
  address: number;
  bytes: Uint8Array;
  main: boolean;
  row: number;
  /** Index of the main instruction this belongs to (fixups belong to the next main). */
  group: number;
}

export interface BoundaryInfo {
  undef: number;
  masked: number;
}

export interface GenCase {
  seed: number;
  index: number;
  case: SnippetCase;
  insns: GenInsn[];
  /** Undefined flags and registers before the instruction at an address (and at the end). */
  boundary: Map<number, BoundaryInfo>;
  /** Union over the whole snippet, for an EIP that is no boundary. */
  any: BoundaryInfo;
}

// ---------------------------------------------------------------------------------------
// Generator

class Gen {
  readonly initial: (number | undefined)[] = new Array(8).fill(undefined);
  readonly data: Uint8Array;
  state: AState;
  items: Item[] = [];
  /** Item index where each label starts. */
  labels: number[] = [];
  pending = new Map<number, AState[]>();
  /** State before each item, and the end state at items.length. */
  before: BoundaryInfo[] = [];
  // per-instruction scratch
  fixups: Item[] = [];
  claimed = 0;

  constructor(readonly r: Rng, readonly long = false, readonly blocks = false) {
    this.data = new Uint8Array(256);
    for (let i = 0; i < 256; i++) this.data[i] = r.chance(0.15) ? r.pick(EDGE8) : r.int(256);
    const esp = (0x31a000 + r.int(0x3000) * 1) & (r.chance(0.9) ? ~3 : ~0);
    this.initial[4] = esp;
    this.state = { regs: Array.from({ length: 8 }, (): RV => ({ k: 'init' })), undef: 0, masked: 0, memDirty: false };
  }

  // --- register helpers ---------------------------------------------------------------

  resolve(s: AState, r: number): RV {
    const v = s.regs[r]!;
    if (v.k === 'init' && this.initial[r] !== undefined) return { k: 'range', lo: this.initial[r]!, hi: this.initial[r]! };
    return v;
  }
  isFresh(r: number): boolean {
    return this.state.regs[r]!.k === 'init' && this.initial[r] === undefined;
  }
  exact(r: number): number | undefined {
    const v = this.resolve(this.state, r);
    return v.k === 'range' && v.lo === v.hi ? v.lo : undefined;
  }

  /** Make register r hold a value satisfying pred before the instruction; returns it. */
  need(r: number, pred: (v: number) => boolean, choose: () => number): number {
    if (this.isFresh(r)) {
      const v = choose() >>> 0;
      this.initial[r] = v;
      this.claimed |= 1 << r;
      return v;
    }
    const e = this.exact(r);
    if (e !== undefined && pred(e)) {
      this.claimed |= 1 << r;
      return e;
    }
    if (this.claimed & (1 << r)) throw new Retry();
    const v = choose() >>> 0;
    this.fixups.push(fix([0xb8 + r, ...le32(v)]));
    this.state.regs[r] = { k: 'range', lo: v, hi: v };
    this.state.masked &= ~(1 << r);
    this.claimed |= 1 << r;
    return v;
  }

  /** Any defined value (pinning fresh registers so that later constraints see them). */
  needAny(r: number): number {
    return this.need(r, () => true, () => val32(this.r));
  }

  /** ESP in the safe part of the stack region; returns its range. */
  needEsp(): { lo: number; hi: number } {
    const v = this.resolve(this.state, 4);
    if (v.k === 'range' && v.lo >= ESP_SAFE_LO && v.hi <= ESP_SAFE_HI) {
      this.claimed |= 1 << 4;
      return { lo: v.lo, hi: v.hi };
    }
    if (this.claimed & (1 << 4)) throw new Retry();
    const e = stackValue(this.r);
    this.fixups.push(fix([0xbc, ...le32(e)]));
    this.state.regs[4] = { k: 'range', lo: e, hi: e };
    this.claimed |= 1 << 4;
    return { lo: e, hi: e };
  }

  espAdd(delta: number): void {
    const v = this.resolve(this.state, 4);
    this.state.regs[4] = v.k === 'range' ? { k: 'range', lo: v.lo + delta, hi: v.hi + delta } : { k: 'unknown' };
  }

  write(r: number): void {
    this.state.regs[r] = { k: 'unknown' };
    this.state.masked &= ~(1 << r);
  }

  /** A register operand of `size` bytes written: the full register becomes unknown. */
  writeOp(reg: number, size: number): void {
    this.write(size === 1 ? reg & 3 : reg);
  }

  // --- memory ---------------------------------------------------------------------------

  target(size: number, margin: number): number {
    const r = this.r;
    const lo = REGION_LO + margin, hi = REGION_HI - margin - size;
    const k = r.int(10);
    let t: number;
    if (k < 6) t = DATA_BASE + r.int(Math.max(1, 256 - size));
    else if (k < 8) t = DATA_BASE + r.int(0x10000);
    else if (k < 9) t = STACK_BASE - r.int(24); // across the data/stack boundary
    else t = STACK_BASE + r.int(0xe000);
    return Math.min(Math.max(t, lo), hi);
  }

  memValue(ea: number | undefined, size: number): number | undefined {
    if (ea === undefined || this.state.memDirty) return undefined;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const a = ea + i - DATA_BASE;
      v = v * 256 + (a >= 0 && a < 256 ? this.data[a]! : 0);
    }
    return v;
  }

  /**
   * A memory operand of `size` bytes: returns the ModRM mod/rm, the SIB and
   * displacement bytes, and the effective address (exact, or undefined when
   * it depends on a range of ESP values).
   */
  mem(size: number, opt: { margin?: number; exact?: boolean; lea?: boolean } = {}): { mod: number; rm: number; tail: number[]; ea?: number } {
    const r = this.r;
    const margin = opt.margin ?? 0;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 20) throw new Retry();
      const mod = r.int(3);
      let rm = r.int(8);
      let base = -1, index = -1, scale = 0, sib = -1;
      let dispSize = mod === 1 ? 1 : mod === 2 ? 4 : 0;
      if (rm === 4) {
        scale = r.int(4);
        const idxField = r.chance(0.25) ? 4 : r.int(8);
        const baseField = r.int(8);
        sib = (scale << 6) | (idxField << 3) | baseField;
        index = idxField === 4 ? -1 : idxField;
        base = baseField;
        if (baseField === 5 && mod === 0) { base = -1; dispSize = 4; }
      } else if (rm === 5 && mod === 0) {
        if (this.long) continue; // RIP-relative in 64-bit mode
        dispSize = 4;
      } else base = rm;
      const tail = (disp: number): number[] => {
        const out = sib >= 0 ? [sib] : [];
        if (dispSize === 1) out.push(disp & 0xff);
        else if (dispSize === 4) out.push(...le32(disp));
        return out;
      };
      if (opt.lea) {
        const disp = dispSize === 4 ? imm32(r) : dispSize === 1 ? imm8(r) : 0;
        return { mod, rm, tail: tail(disp) };
      }
      if (base === 4) {
        if (opt.exact && this.exact(4) === undefined) continue;
        const esp = this.needEsp();
        let off = 0;
        if (index >= 0) off += this.needIndex(index, scale);
        const disp = dispSize === 4 ? r.range(-0x400, 0x400) : dispSize === 1 ? r.range(-128, 127) : 0;
        off += disp;
        const lo = esp.lo + off, hi = esp.hi + off;
        if (lo < STACK_BASE + margin || hi + size + margin > REGION_HI) continue;
        return { mod, rm, tail: tail(disp), ea: lo === hi ? lo : undefined };
      }
      const T = this.target(size, margin);
      const inRegion = (ea: number): boolean => ea >= REGION_LO + margin && ea + size + margin <= REGION_HI;
      if (dispSize === 4) {
        let sum = 0;
        if (base >= 0) sum += this.needAny(base);
        if (index >= 0) sum += this.needAny(index) * (1 << scale);
        // Long mode adds the zero-extended registers and the sign-extended displacement
        // without wrapping at 4 GiB: only a displacement that reaches T exactly will do.
        if (this.long && (T - sum < -0x80000000 || T - sum > 0x7fffffff)) continue;
        const disp = (T - sum) >>> 0;
        return { mod, rm, tail: tail(disp), ea: T };
      }
      const disp = dispSize === 1 ? r.range(-128, 127) : 0;
      // In IA-32 the sum wraps at 4 GiB; in long mode it must not need to (wrap()).
      if (index === base) {
        const c = 1 + (1 << scale);
        const v = this.need(base, (v) => inRegion(this.wrap(v * c + disp)), () => Math.floor((T - disp + c - 1) / c));
        const ea = this.wrap(v * c + disp);
        if (!inRegion(ea)) continue;
        return { mod, rm, tail: tail(disp), ea };
      }
      let iv = 0;
      if (index >= 0) iv = this.needIndex(index, scale);
      const bv = this.need(base, (v) => inRegion(this.wrap(v + iv + disp)), () => (T - iv - disp) >>> 0);
      const ea = (bv + iv + disp) >>> 0;
      return { mod, rm, tail: tail(disp), ea };
    }
  }

  /**
   * An index register scaled by 2^scale within +-0x400 bytes (long mode: 0..0x400, as the
   * register is zero-extended there); returns the scaled value.
   */
  private needIndex(index: number, scale: number): number {
    const r = this.r;
    const v = this.long
      ? this.need(index, (v) => v * (1 << scale) <= 0x400, () => r.int(0x401 >> scale))
      : this.need(index, (v) => Math.abs((v | 0) * (1 << scale)) <= 0x400, () => small(r));
    return (v | 0) * (1 << scale);
  }

  /** A 32-bit address sum as the CPU forms it: wrapped in IA-32; in long mode, -1 (no address) when it would need to wrap. */
  private wrap(sum: number): number {
    return this.long ? (sum >= 0 && sum < 0x100000000 ? sum : -1) : sum >>> 0;
  }

  // --- loop mode ---------------------------------------------------------------------------

  /**
   * GenerateOptions.loop: sets the counter to `count`, then opens the loop's head, where
   * what a later pass brings back is not known yet: no register value, every arithmetic
   * flag undefined, memory changed. So every constraint of the body is met by a fixup in
   * the body, which each pass runs again, and what the generator records at each
   * boundary holds in every pass.
   */
  openLoop(count: number): void {
    this.pushRaw(fix([0xc7, 0x04, 0x25, ...le32(LOOP_COUNTER), ...le32(count)]), () => {});
    for (let r = 0; r < 8; r++) this.state.regs[r] = { k: 'unknown' };
    this.state.undef = ARITH_FLAGS;
    this.state.memDirty = true;
  }

  /** After generate(): DEC dword [counter] and JNZ back to the head (label 0). */
  closeLoop(): void {
    // generate() left the boundary at the end (label nMain) as the last one: the DEC's.
    this.items.push(fix([0xff, 0x0c, 0x25, ...le32(LOOP_COUNTER)]));
    this.setFlags(OF | SF | ZF | AF | PF, 0);
    this.before.push(this.info(this.state));
    this.items.push({ bytes: [0x0f, 0x85, 0, 0, 0, 0], relocs: [{ at: 2, label: 0, rel: true, size: 4 }], main: false, row: -1 });
    this.before.push(this.info(this.state));
  }

  // --- flags ------------------------------------------------------------------------------

  /** Before an instruction that reads `flags`: define them if any is undefined. */
  readFlags(flags: number): void {
    if ((this.state.undef & flags) === 0) return;
    const reg = this.r.int(8);
    this.fixups.push(fix([0x83, 0xf8 + reg, imm8(this.r)]));
    this.state.undef = 0;
  }

  setFlags(written: number, undef: number): void {
    this.state.undef = (this.state.undef & ~written) | (undef & written);
  }

  // --- one case ---------------------------------------------------------------------------

  generate(nMain: number, rowPicker: () => number): void {
    for (let k = 0; k < nMain; k++) {
      this.label(k);
      // Registers left undefined (BSF/BSR with a zero source) are reloaded first.
      for (let reg = 0; reg < 8; reg++) {
        if (this.state.masked & (1 << reg)) this.pushRaw(fix([0xb8 + reg, ...le32(val32(this.r))]), () => this.write(reg));
      }
      let row = rowPicker();
      for (let tries = 0; ; tries++) {
        if (tries > 0 && tries % 10 === 0) row = rowPicker();
        const saved = cloneState(this.state);
        const savedPending = new Map([...this.pending].map(([k2, v]) => [k2, v.slice()]));
        this.fixups = [];
        this.claimed = 0;
        try {
          const main = this.instruction(row, k, nMain);
          const before = [...this.fixups];
          // Fixups run before the main instruction; their state effects are already in this.state.
          for (const f of before) this.emit(f, saved);
          this.emitMain(main);
          break;
        } catch (e) {
          if (!(e instanceof Retry)) throw e;
          this.state = saved;
          this.pending = savedPending;
          if (tries > 50) throw new Error('generator: cannot place an instruction');
        }
      }
    }
    this.label(nMain);
    this.before.push(this.info(this.state));
  }

  /** Emits fixup items recording the boundary state before each one (approximated by the state before the group). */
  private emit(item: Item, stateBefore: AState): void {
    this.before.push(this.info(stateBefore));
    this.items.push(item);
  }
  private emitMain(m: { item: Item; after: () => void; stateBefore?: AState }): void {
    this.before.push(this.info(this.mainBefore ?? this.state));
    this.items.push(m.item);
    m.after();
  }
  private mainBefore: AState | undefined;

  private pushRaw(item: Item, effect: () => void): void {
    this.before.push(this.info(this.state));
    this.items.push(item);
    effect();
  }

  private info(s: AState): BoundaryInfo {
    return { undef: s.undef, masked: s.masked };
  }

  private label(k: number): void {
    this.labels[k] = this.items.length;
    for (const s of this.pending.get(k) ?? []) this.state = this.join(this.state, s);
    this.pending.delete(k);
  }

  private join(a: AState, b: AState): AState {
    const regs = a.regs.map((va, r): RV => {
      const vb = b.regs[r]!;
      if (va.k === 'init' && vb.k === 'init') return va;
      const x = this.resolve(a, r), y = this.resolve(b, r);
      if (x.k === 'range' && y.k === 'range') {
        if (x.lo === y.lo && x.hi === y.hi) return x;
        if (r === 4) return { k: 'range', lo: Math.min(x.lo, y.lo), hi: Math.max(x.hi, y.hi) };
      }
      return { k: 'unknown' };
    });
    return { regs, undef: a.undef | b.undef, masked: a.masked | b.masked, memDirty: a.memDirty || b.memDirty };
  }

  /** A forward branch from main k: a later label. */
  private branchTarget(k: number, n: number): number {
    const t = this.r.range(k + 1, n);
    return t;
  }
  private addPending(label: number): void {
    const l = this.pending.get(label) ?? [];
    l.push(cloneState(this.state));
    this.pending.set(label, l);
  }

  /**
   * Builds main instruction k from `rowIndex`. Pins and fixups go to this.fixups and
   * this.state is updated to the state *before* the main instruction; the returned
   * `after` applies the main instruction's effects.
   */
  private instruction(rowIndex: number, k: number, n: number): { item: Item; after: () => void } {
    const r = this.r;
    const row = OPCODES[rowIndex]!;
    const kind = row.kind;
    const ops = row.operands;
    const branch = [Kind.JCC, Kind.JMP_REL, Kind.CALL_REL, Kind.JMP_E, Kind.CALL_E, Kind.RET_NEAR, Kind.LOOP].includes(kind);
    const stringOp = [Kind.MOVS, Kind.STOS, Kind.LODS, Kind.CMPS, Kind.SCAS].includes(kind);
    const noO16 = branch || kind === Kind.BSWAP;
    // Long mode: PUSH, POP, PUSHF, POPF, ENTER and LEAVE only as their 16-bit forms, which
    // move the stack by 2 in both modes (SDM 2A PUSH, POP, ENTER, LEAVE: 66 gives a 16-bit
    // operand in 64-bit mode).
    const o16 = !noO16 && (r.chance(0.3) || (this.long && STACK16_IN_LONG_MODE.includes(kind))) && !this.blocks;
    const opsize = o16 ? 2 : 4;
    const sizeOf = (spec: string): number => {
      const s = spec.slice(1);
      if (spec === 'AL') return 1;
      if (spec === 'eAX') return opsize;
      if (s === 'b' || s === 'bs') return 1;
      if (s === 'w') return 2;
      if (s === 'd') return 4;
      if (s === 'p') return opsize + 2;
      if (s === 'a') return 2 * opsize;
      if (s === 'q') return 8;
      if (s === 's') return 6;
      if (s === '') return 0;
      return opsize; // v z
    };
    const hasModrm = ops.some((o) => /^[EGMS][a-z]?$/.test(o));
    const eSpec = ops.find((o) => /^[EM][a-z]?$/.test(o));
    const gIdx = ops.findIndex((o) => /^G[a-z]$/.test(o));
    const gSize = gIdx >= 0 ? sizeOf(ops[gIdx]!) : 0;
    let memForm = false;
    if (eSpec !== undefined) memForm = row.form === 'mem' || eSpec[0] === 'M' || (row.form !== 'reg' && r.chance(0.5));
    const eSize = eSpec ? sizeOf(eSpec) : 0;

    // What the main instruction reads and writes in the flags.
    const writes = (o: number): boolean => {
      // Whether operand o is written (register destinations).
      switch (kind) {
        case Kind.ALU_EG: case Kind.ALU_GE: case Kind.ALU_EI: return o === 0 && row.sub !== 7;
        case Kind.XCHG_EG: case Kind.XADD_EG: return true;
        case Kind.CMPXCHG_EG: return o === 0;
        case Kind.TEST_EG: case Kind.TEST_EI: case Kind.PUSH_E: case Kind.BOUND: case Kind.JMP_E: case Kind.CALL_E: return false;
        case Kind.BT_EG: case Kind.BT_EI: return o === 0 && row.sub !== 0;
        default: return o === 0;
      }
    };

    // ModRM fields.
    let regField = row.ext >= 0 ? row.ext : 0;
    let gReg = -1;
    if (gIdx >= 0) { gReg = r.int(8); regField = gReg; }
    const sIdx = ops.findIndex((o) => o === 'Sw');
    if (sIdx >= 0) regField = r.int(4); // ES CS SS DS: FS/GS differ between Linux and the runner
    let rmReg = -1;
    let memInfo: { mod: number; rm: number; tail: number[]; ea?: number } | undefined;
    let lock = false;
    const prefixes: number[] = [];
    const tailBytes: number[] = [];
    const relocs: Reloc[] = [];
    const post: (() => void)[] = [];
    let memWrite = false;

    // --- constraints that must be claimed before the memory operand ---
    let count = -1; // shift count
    const isShift = kind === Kind.SHIFT_E1 || kind === Kind.SHIFT_ECL || kind === Kind.SHIFT_EI;
    const isDouble = kind === Kind.SHLD_EGI || kind === Kind.SHLD_EGCL || kind === Kind.SHRD_EGI || kind === Kind.SHRD_EGCL;
    const dblLimit = (c: number): boolean => !(isDouble && o16 && (c & 31) > 16);
    if (kind === Kind.SHIFT_ECL || kind === Kind.SHLD_EGCL || kind === Kind.SHRD_EGCL) {
      const ecx = this.need(1, (v) => dblLimit(v & 0xff), () => {
        let c = r.pick(COUNTS);
        while (!dblLimit(c)) c = r.pick(COUNTS);
        return ((r.u32() & 0xffffff00) | c) >>> 0;
      });
      count = ecx & 0xff;
    }
    if (kind === Kind.BT_EG && memForm) {
      // The bit offset (G) addresses up to +-0x400 bits from the operand.
      this.need(gReg, (v) => Math.abs(o16 ? sext16(v) : v | 0) <= 0x400, () => (o16 ? (r.u32() & 0xffff0000) | (r.range(-0x400, 0x400) & 0xffff) : r.range(-0x400, 0x400)) >>> 0);
    }
    if (kind === Kind.BOUND) this.needAny(gReg);
    if ([Kind.PUSH_E, Kind.PUSH_I, Kind.PUSH_SEG, Kind.PUSHA, Kind.PUSHF, Kind.POP_E, Kind.POPA, Kind.POPF, Kind.CALL_REL, Kind.CALL_E, Kind.RET_NEAR, Kind.ENTER].includes(kind)) this.needEsp();

    // --- the E operand ---
    if (eSpec !== undefined) {
      if (memForm) {
        const margin = kind === Kind.BT_EG ? 0x90 : 0;
        memInfo = this.mem(eSize, { margin, lea: kind === Kind.LEA, exact: kind === Kind.JMP_E || kind === Kind.CALL_E });
        const w = writes(ops.indexOf(eSpec)) || [Kind.POP_E, Kind.CMPXCHG8B, Kind.SETCC, Kind.MOV_E_SEG].includes(kind) || kind === Kind.CMPXCHG_EG;
        if (w && kind !== Kind.LEA) memWrite = true;
        if (kind === Kind.PUSH_E && memInfo.ea === undefined) { /* fine */ }
      } else {
        rmReg = r.int(8);
        if ((kind === Kind.JMP_E || kind === Kind.CALL_E) && rmReg === 4) rmReg = r.pick([0, 1, 2, 3, 5, 6, 7]);
      }
    }

    // --- prefixes ---
    const lockable = memForm && (
      ((kind === Kind.ALU_EG || kind === Kind.ALU_EI) && row.sub !== 7) ||
      [Kind.INC_E, Kind.DEC_E, Kind.NOT_E, Kind.NEG_E, Kind.XCHG_EG, Kind.XADD_EG, Kind.CMPXCHG_EG, Kind.CMPXCHG8B].includes(kind) ||
      ((kind === Kind.BT_EG || kind === Kind.BT_EI) && row.sub !== 0));
    if (lockable && r.chance(0.15)) lock = true;
    else if (!branch && r.chance(0.01)) lock = true; // LOCK on anything else: #UD (or allowed if lockable)
    // Focus on blocks: no prefix at all, so that the instruction is one of the loop's fast
    // 32-bit forms, which a block holds (the draws are made all the same).
    if (lock && !this.blocks) prefixes.push(0xf0);
    if (o16) prefixes.push(0x66);
    const a16 = !memForm && !stringOp && kind !== Kind.XLAT && !ops.some((o) => o[0] === 'O') && r.chance(kind === Kind.LOOP ? 0.3 : 0.04);
    if (a16 && !(this.long && kind === Kind.LOOP) && !this.blocks) prefixes.push(0x67);
    if (r.chance(0.1)) { const seg = r.pick([0x26, 0x36, 0x3e]); if (!this.blocks) prefixes.push(seg); }
    // Shuffle the prefix order.
    for (let i = prefixes.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [prefixes[i], prefixes[j]] = [prefixes[j]!, prefixes[i]!];
    }
    let repPrefix = 0;
    if (stringOp && r.chance(0.5)) {
      repPrefix = kind === Kind.CMPS || kind === Kind.SCAS ? r.pick([0xf3, 0xf2]) : r.chance(0.85) ? 0xf3 : 0xf2;
      prefixes.push(repPrefix);
    }
    if (row.prefix !== 0) prefixes.push(row.prefix);

    // --- opcode, ModRM, operands ---
    const bytes: number[] = [...prefixes];
    if (row.map === 1) bytes.push(0x0f);
    bytes.push(row.opcode);
    if (hasModrm) {
      if (memInfo) bytes.push((memInfo.mod << 6) | (regField << 3) | memInfo.rm, ...memInfo.tail);
      else bytes.push(0xc0 | (regField << 3) | (rmReg & 7));
    }
    const zReg = ops.some((o) => o[0] === 'Z') ? row.opcode & 7 : -1;

    for (const spec of ops) {
      switch (spec) {
        case 'Ib': {
          let v = imm8(r);
          if (isShift || isDouble) { v = r.pick(COUNTS); while (!dblLimit(v)) v = r.pick(COUNTS); count = v; }
          if (kind === Kind.ENTER) v = r.chance(0.6) ? r.int(3) : r.chance(0.5) ? r.int(32) : r.int(256);
          tailBytes.push(v);
          break;
        }
        case 'Ibs': tailBytes.push(imm8(r)); break;
        case 'Iw': {
          let v = imm16(r);
          if (kind === Kind.RET_NEAR || kind === Kind.ENTER) v = r.chance(0.3) ? 0 : r.chance(0.8) ? r.int(0x40) * 4 : r.int(0x200);
          tailBytes.push(v & 0xff, v >> 8);
          break;
        }
        case 'Iz': case 'Iv': {
          const v = o16 ? imm16(r) : imm32(r);
          tailBytes.push(...(o16 ? [v & 0xff, (v >> 8) & 0xff] : le32(v)));
          break;
        }
        case 'Jb': case 'Jz': {
          const t = this.branchTarget(k, n);
          relocs.push({ at: -1, label: t, rel: true, size: spec === 'Jb' ? 1 : 4 });
          tailBytes.push(...(spec === 'Jb' ? [0] : [0, 0, 0, 0]));
          post.push(() => this.addPending(t));
          break;
        }
        case 'Ob': case 'Ov': {
          const size = sizeOf(spec);
          const T = this.target(size, 0);
          tailBytes.push(...le32(T));
          memInfo = { mod: 0, rm: 5, tail: [], ea: T };
          if (kind === Kind.MOV_EG) memWrite = true;
          break;
        }
      }
    }
    if (count === -1 && kind === Kind.SHIFT_E1) count = 1;

    // --- kind-specific constraints and effects ---
    const before = (): void => {};
    void before;
    const eReg = rmReg; // register form of E
    const eWrites = (): void => {
      if (eSpec && !memForm && writes(ops.indexOf(eSpec))) this.writeOp(eReg, eSize);
    };
    const gWrites = (): void => {
      if (gIdx >= 0 && writes(gIdx)) this.writeOp(gReg, gSize);
    };
    const zWrites = (): void => {
      if (zReg >= 0 && writes(0)) this.writeOp(zReg, sizeOf(ops[0]!));
    };
    let flagsRead = 0;
    let written = row.flagsWritten & ARITH_FLAGS;
    let undef = row.flagsUndefined & ARITH_FLAGS;
    const effects: (() => void)[] = [];
    const ccFlags = (cc: number): number => [OF, CF, ZF, CF | ZF, SF, PF, SF | OF, SF | OF | ZF][cc >> 1]!;

    switch (kind) {
      case Kind.ALU_EG: case Kind.ALU_GE: case Kind.ALU_EI:
        if (row.sub === 2 || row.sub === 3) flagsRead = CF;
        effects.push(eWrites, gWrites, () => { if (!hasModrm && writes(0)) this.write(0); });
        break;
      case Kind.TEST_EG: case Kind.TEST_EI: case Kind.BOUND: case Kind.NOP: break;
      case Kind.INC_E: case Kind.DEC_E: {
        if (zReg === 4) effects.push(() => this.espAdd(kind === Kind.INC_E ? 1 : -1));
        else effects.push(eWrites, zWrites);
        break;
      }
      case Kind.NOT_E: case Kind.NEG_E: case Kind.IMUL_GE: case Kind.IMUL_GEI: case Kind.MOV_EG: case Kind.MOV_GE:
      case Kind.MOVZX_GE: case Kind.MOVSX_GE: case Kind.LEA: case Kind.MOV_E_SEG: case Kind.SETCC: case Kind.BSWAP:
      case Kind.XCHG_EG: case Kind.XADD_EG: case Kind.BT_EG: case Kind.BT_EI:
        if (kind === Kind.SETCC) flagsRead = ccFlags(row.sub);
        effects.push(eWrites, gWrites, zWrites);
        if ((kind === Kind.MOV_EG || kind === Kind.MOV_GE) && ops[0] === 'eAX' || ops[0] === 'AL') effects.push(() => this.write(0));
        if (kind === Kind.XCHG_EG && zReg >= 0) effects.push(() => this.write(0));
        break;
      case Kind.MOV_EI:
        if (zReg >= 0 && !o16 && ops[0] === 'Zv') {
          // MOV r32, imm32: the value is known afterwards.
          const v = tailBytes[0]! | (tailBytes[1]! << 8) | (tailBytes[2]! << 16) | (tailBytes[3]! << 24);
          effects.push(() => { this.state.regs[zReg] = { k: 'range', lo: v >>> 0, hi: v >>> 0 }; this.state.masked &= ~(1 << zReg); });
        } else effects.push(eWrites, zWrites);
        break;
      case Kind.CMOV:
        flagsRead = ccFlags(row.sub);
        effects.push(gWrites);
        break;
      case Kind.CMPXCHG_EG:
        if (memForm && this.isFresh(0) && r.chance(0.5)) {
          const mv = this.memValue(memInfo!.ea, eSize);
          if (mv !== undefined) this.need(0, () => true, () => (mv | (r.u32() & (eSize === 4 ? 0 : eSize === 2 ? 0xffff0000 : 0xffffff00))) >>> 0);
        }
        effects.push(eWrites, () => this.write(0));
        break;
      case Kind.CMPXCHG8B: {
        const mv = this.memValue(memInfo!.ea, 4);
        if (mv !== undefined && this.isFresh(0) && this.isFresh(2) && r.chance(0.5)) {
          this.need(0, () => true, () => mv);
          this.need(2, () => true, () => this.memValue(memInfo!.ea! + 4, 4)!);
        }
        effects.push(() => { this.write(0); this.write(2); });
        break;
      }
      case Kind.MUL_E: case Kind.IMUL_E: case Kind.DIV_E: case Kind.IDIV_E:
        if ((kind === Kind.DIV_E || kind === Kind.IDIV_E) && eSize > 1 && this.isFresh(2) && r.chance(0.6)) {
          this.need(2, () => true, () => (r.chance(0.5) ? 0 : r.chance(0.5) ? 0xffffffff : r.int(16)));
        }
        effects.push(() => { this.write(0); if (eSize > 1) this.write(2); });
        break;
      case Kind.SHIFT_E1: case Kind.SHIFT_ECL: case Kind.SHIFT_EI: {
        const c = count & 31;
        const bits = eSize * 8;
        const sub = row.sub;
        if (c === 0) { written = 0; undef = 0; }
        else if (sub < 4) {
          if (sub === 2 || sub === 3) flagsRead = CF;
          written = CF | OF;
          undef = c === 1 ? 0 : OF;
        } else {
          written = ARITH_FLAGS;
          // SDM SAL/SAR/SHL/SHR: AF undefined for a non-zero count; OF only defined for
          // 1-bit shifts; CF undefined for SHL/SHR when the count >= the operand size.
          undef = AF | (c === 1 ? 0 : OF) | (sub !== 7 && c >= bits ? CF : 0);
        }
        effects.push(eWrites);
        break;
      }
      case Kind.SHLD_EGI: case Kind.SHLD_EGCL: case Kind.SHRD_EGI: case Kind.SHRD_EGCL: {
        const c = count & 31;
        if (c === 0) { written = 0; undef = 0; }
        else { written = ARITH_FLAGS; undef = AF | (c === 1 ? 0 : OF); }
        effects.push(eWrites);
        break;
      }
      case Kind.BSF: case Kind.BSR: {
        let src: number | undefined;
        if (memForm) src = this.memValue(memInfo!.ea, eSize);
        else {
          if (this.isFresh(eReg & 7) && r.chance(0.85)) this.need(eReg, () => true, () => (r.chance(0.2) ? 0 : val32(r) || 0x100));
          src = this.exact(eReg);
        }
        if (src !== undefined && eSize === 2) src &= 0xffff;
        const maybeZero = src === undefined || src === 0;
        effects.push(gWrites);
        if (maybeZero) effects.push(() => { this.state.masked |= 1 << gReg; });
        break;
      }
      case Kind.JCC:
        flagsRead = ccFlags(row.sub);
        break;
      case Kind.LOOP:
        if (row.sub === 0 || row.sub === 1) flagsRead = ZF;
        if (row.sub !== 3) effects.push(() => this.write(1));
        break;
      case Kind.JMP_REL: case Kind.CALL_REL:
        if (kind === Kind.CALL_REL) effects.push(() => this.espAdd(-4));
        break;
      case Kind.JMP_E: case Kind.CALL_E: {
        const t = this.branchTarget(k, n);
        if (memForm) {
          if (memInfo!.ea === undefined) throw new Retry();
          this.fixups.push({ bytes: [0xc7, 0x05, ...le32(memInfo!.ea), 0, 0, 0, 0], relocs: [{ at: 6, label: t, rel: false, size: 4 }], main: false, row: -1 });
          this.state.memDirty = true;
        } else {
          if (this.claimed & (1 << eReg)) throw new Retry();
          this.fixups.push({ bytes: [0xb8 + eReg, 0, 0, 0, 0], relocs: [{ at: 1, label: t, rel: false, size: 4 }], main: false, row: -1 });
          this.write(eReg);
        }
        post.push(() => this.addPending(t));
        if (kind === Kind.CALL_E) effects.push(() => this.espAdd(-4));
        break;
      }
      case Kind.RET_NEAR: {
        const t = this.branchTarget(k, n);
        this.fixups.push({ bytes: [0x68, 0, 0, 0, 0], relocs: [{ at: 1, label: t, rel: false, size: 4 }], main: false, row: -1 });
        this.espAdd(-4);
        this.state.memDirty = true;
        const iw = ops.length > 0 ? tailBytes[0]! | (tailBytes[1]! << 8) : 0;
        effects.push(() => this.espAdd(4 + iw));
        post.push(() => this.addPending(t));
        break;
      }
      case Kind.PUSH_E: case Kind.PUSH_I: case Kind.PUSH_SEG: case Kind.PUSHF:
        if (kind === Kind.PUSH_SEG && !o16) {
          // SDM PUSH: with a 32-bit operand size "either a zero-extended value is pushed on
          // the stack or the segment selector is written on the stack using a 16-bit move"
          // (recent Intel cores do the latter; this AMD host zero-extends). A fixup zeroes
          // the slot first (mov dword [esp-4], 0), so both give the same bytes.
          this.fixups.push(fix([0xc7, 0x44, 0x24, 0xfc, 0, 0, 0, 0]));
          this.state.memDirty = true;
        }
        if (kind === Kind.PUSHF) flagsRead = ARITH_FLAGS;
        memWrite = true;
        effects.push(() => this.espAdd(-opsize));
        break;
      case Kind.POP_E:
        effects.push(() => this.espAdd(opsize), () => { if (!memForm) this.writeOp(zReg >= 0 ? zReg : eReg, opsize); });
        break;
      case Kind.PUSHA:
        memWrite = true;
        effects.push(() => this.espAdd(-8 * opsize));
        break;
      case Kind.POPA:
        effects.push(() => { for (const x of [0, 1, 2, 3, 5, 6, 7]) this.write(x); this.espAdd(8 * opsize); });
        break;
      case Kind.POPF: {
        // POPF pops a value pushed by a fixup: arithmetic flags, DF, and sometimes NT/ID
        // (IOPL and IF are ignored at CPL 3). TF and AC are not set: a single-step trap
        // after the last instruction lands in the harness, and Linux runs with CR0.AM=1
        // while the snippet runner does not, so #AC would differ by construction.
        let v = r.u32() & (ARITH_FLAGS | 0x400);
        if (r.chance(0.1)) v |= 0x4000; // NT
        if (r.chance(0.1)) v |= 0x200000; // ID
        if (r.chance(0.1)) v |= 0x3200; // IOPL 3, IF: ignored at CPL 3
        // Long mode: PUSH imm16 (66 68 iw), 2 bytes there as in IA-32; PUSH imm32 pushes 8.
        if (this.long) this.fixups.push(fix([0x66, 0x68, v & 0xff, (v >> 8) & 0xff]));
        else this.fixups.push(fix([0x68, ...le32(v)]));
        this.espAdd(this.long ? -2 : -4);
        this.state.memDirty = true;
        effects.push(() => this.espAdd(opsize));
        written = ARITH_FLAGS; undef = 0;
        break;
      }
      case Kind.ENTER: {
        const iw = tailBytes[0]! | (tailBytes[1]! << 8);
        const level = tailBytes[2]! & 31;
        if (level > 1) this.need(5, (v) => v >= ESP_SAFE_LO && v <= ESP_SAFE_HI, () => stackValue(r));
        memWrite = true;
        effects.push(() => { this.espAdd(-(opsize * (level ? level + 1 : 1)) - iw); this.write(5); });
        break;
      }
      case Kind.LEAVE: {
        const ebp = this.need(5, (v) => v >= ESP_SAFE_LO && v <= ESP_SAFE_HI, () => stackValue(r));
        effects.push(() => { this.state.regs[4] = { k: 'range', lo: ebp + opsize, hi: ebp + opsize }; this.write(5); });
        break;
      }
      case Kind.CBW: case Kind.LAHF: case Kind.SALC: case Kind.XLAT:
      case Kind.DAA: case Kind.DAS: case Kind.AAA: case Kind.AAS: case Kind.AAM: case Kind.AAD:
        if (kind === Kind.LAHF) flagsRead = ARITH_FLAGS & ~OF;
        if (kind === Kind.SALC) flagsRead = CF;
        if (kind === Kind.DAA || kind === Kind.DAS) flagsRead = CF | AF;
        if (kind === Kind.AAA || kind === Kind.AAS) flagsRead = AF;
        if (kind === Kind.XLAT) this.need(3, (v) => v >= DATA_BASE && v <= REGION_HI - 0x100, () => DATA_BASE + r.int(0x100));
        effects.push(() => this.write(0));
        break;
      case Kind.CWD:
        effects.push(() => this.write(2));
        break;
      case Kind.SAHF:
        written = ARITH_FLAGS & ~OF; undef = 0;
        break;
      case Kind.FLAG_OP:
        if (row.sub === 0) flagsRead = CF;
        break;
      case Kind.CLI: case Kind.STI: break;
      case Kind.MOVS: case Kind.STOS: case Kind.LODS: case Kind.CMPS: case Kind.SCAS: {
        const n2 = repPrefix ? this.need(1, (v) => v <= 16, () => r.int(12)) : 1;
        const room = n2 * opsize + 8;
        const ptr = (): number => (r.chance(0.8) ? DATA_BASE + 0x40 + r.int(0x80) : DATA_BASE + 0x100 + r.int(0x1e000));
        const inR = (v: number): boolean => v >= REGION_LO + room && v + room <= REGION_HI;
        if (kind !== Kind.STOS && kind !== Kind.SCAS) this.need(6, inR, ptr);
        if (kind !== Kind.LODS) this.need(7, inR, ptr);
        if (kind === Kind.MOVS || kind === Kind.STOS) memWrite = true;
        // REP with ECX = 0 does nothing: the flags stay as they were (possibly undefined).
        if (repPrefix && n2 === 0) { written = 0; undef = 0; }
        effects.push(() => {
          if (kind !== Kind.STOS && kind !== Kind.SCAS) this.write(6);
          if (kind !== Kind.LODS) this.write(7);
          if (repPrefix) this.write(1);
          if (kind === Kind.LODS) this.write(0);
        });
        break;
      }
      default:
        throw new Error(`generator: no rule for ${row.mnemonic} (kind ${kind})`);
    }
    // BOUND: make the bounds contain the index most of the time.
    if (kind === Kind.BOUND && k === 0 && memInfo?.ea !== undefined && !this.state.memDirty) {
      const off = memInfo.ea - DATA_BASE;
      if (off >= 0 && off + 2 * opsize <= 256 && r.chance(0.7)) {
        const g = this.exact(gReg)!;
        const gv = o16 ? sext16(g) : g | 0;
        const lo = gv - r.int(4), hi = gv + r.int(4);
        writeLE(this.data, off, lo, opsize);
        writeLE(this.data, off + opsize, hi, opsize);
      }
    }
    this.readFlags(flagsRead);
    // Record the state before the main instruction (after its fixups).
    this.mainBefore = cloneState(this.state);
    bytes.push(...tailBytes);
    const immStart = bytes.length - tailBytes.length;
    for (const rl of relocs) rl.at = immStart + (rl.size === 1 ? tailBytes.length - 1 : tailBytes.length - 4);
    if (bytes.length > 15) throw new Retry();
    const item: Item = { bytes, relocs, main: true, row: rowIndex };
    return {
      item,
      after: () => {
        for (const e of effects) e();
        if (memWrite) this.state.memDirty = true;
        this.setFlags(written, undef);
        for (const p of post) p();
        this.mainBefore = undefined;
      },
    };
  }

  /** Lays out the items and resolves labels. Returns undefined if a rel8 is out of range. */
  finish(seed: number, index: number, eflags: number): GenCase | undefined {
    const starts: number[] = [];
    let pos = 0;
    for (const it of this.items) { starts.push(pos); pos += it.bytes.length; }
    const labelAddr = (l: number): number => (this.labels[l]! < this.items.length ? starts[this.labels[l]!]! : pos);
    const code = new Uint8Array(pos);
    const insns: GenInsn[] = [];
    let group = 0;
    for (let i = 0; i < this.items.length; i++) {
      const it = this.items[i]!;
      const b = it.bytes.slice();
      const end = starts[i]! + b.length;
      for (const rl of it.relocs) {
        const t = labelAddr(rl.label);
        const v = rl.rel ? t - end : CODE_BASE + t;
        if (rl.size === 1) {
          if (v < -128 || v > 127) return undefined;
          b[rl.at] = v & 0xff;
        } else b.splice(rl.at, 4, ...le32(v >>> 0));
      }
      code.set(b, starts[i]!);
      insns.push({ address: CODE_BASE + starts[i]!, bytes: Uint8Array.from(b), main: it.main, row: it.row, group });
      if (it.main) group++;
    }
    const boundary = new Map<number, BoundaryInfo>();
    const any: BoundaryInfo = { undef: 0, masked: 0 };
    for (let i = 0; i <= this.items.length; i++) {
      const addr = CODE_BASE + (i < this.items.length ? starts[i]! : pos);
      const b = this.before[i]!;
      const prev = boundary.get(addr);
      boundary.set(addr, prev ? { undef: prev.undef | b.undef, masked: prev.masked | b.masked } : { ...b });
      any.undef |= b.undef;
      any.masked |= b.masked;
    }
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) regs[r] = this.initial[r] ?? val32(this.r);
    return { seed, index, case: { code, regs, eflags, data: this.data }, insns, boundary, any };
  }
}

function fix(bytes: number[]): Item {
  return { bytes, relocs: [], main: false, row: -1 };
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function writeLE(a: Uint8Array, off: number, v: number, size: number): void {
  for (let i = 0; i < size; i++) a[off + i] = (v >>> (8 * i)) & 0xff;
}

/**
 * The loop counter of GenerateOptions.loop: the stack region's last dword, which no
 * generated operand reaches (data targets lie below 0x310000, stack targets and ESP below
 * 0x31E400, string pointers in the data region). As [disp32] in the SIB form, the same
 * address in both modes.
 */
const LOOP_COUNTER = STACK_BASE + STACK_SIZE - 16;

function stackValue(r: Rng): number {
  const v = 0x316000 + r.int(0x6000);
  return r.chance(0.9) ? v & ~3 : v;
}

export interface GenerateOptions {
  /** Restrict to these row indices (default: all rows eligible in `mode`). */
  rows?: readonly number[];
  /** How the oracle runs the case (OracleMode; default 'ia32'). */
  mode?: OracleMode;
  /**
   * 'blocks': only the rows whose 32-bit forms a compiled block holds (BLOCK_KINDS) and
   * the branches that end blocks, without prefixes, so that a warm run of the case runs
   * most of it in blocks (core/blockCompiler.ts).
   */
  focus?: 'blocks';
  /** Main instructions per case: 1..maxInstructions (default 3). */
  maxInstructions?: number;
  /**
   * Wrap the case in a counted loop of 2-17 passes (a counter in memory, DEC and JNZ back
   * to the first instruction), so that the code at its head is reached by a backward
   * branch, as compiled loop blocks need (core/blockCompiler.ts; the wasm engine's are loops only).
   */
  loop?: boolean;
}

/** Generates case `index` of the campaign with seed `seed`. */
export function generateCase(seed: number, index: number, opt: GenerateOptions = {}): GenCase {
  const rows = opt.rows ?? (opt.focus === 'blocks' ? blockRows(opt.mode) : eligibleRows(opt.mode));
  const maxN = opt.maxInstructions ?? 3;
  for (let attempt = 0; ; attempt++) {
    const r = new Rng(caseSeed(seed, index) + attempt * 0x1000193);
    const n = 1 + r.int(maxN);
    const eflags = (r.u32() & ARITH_FLAGS) | (r.chance(0.2) ? 0x400 : 0);
    const g = new Gen(r, opt.mode === 'long', opt.focus === 'blocks');
    if (opt.loop) g.openLoop(2 + r.int(16));
    g.generate(n, () => rows[r.int(rows.length)]!);
    if (opt.loop) g.closeLoop();
    const c = g.finish(seed, index, eflags);
    if (c !== undefined) return c;
    if (attempt > 20) throw new Error('generator: rel8 out of range repeatedly');
  }
}

export function generateCases(seed: number, start: number, count: number, opt: GenerateOptions = {}): GenCase[] {
  const out: GenCase[] = [];
  for (let i = 0; i < count; i++) out.push(generateCase(seed, start + i, opt));
  return out;
}

export { DEFAULT_ESP };

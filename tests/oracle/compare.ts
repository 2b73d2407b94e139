/**
 * Compares a silicon-oracle result with the emulator's result for a generated
 * case (tests/oracle/generate.ts), masking what the SDM leaves undefined, and
 * formats minimal reproducers.
 *
 * What is compared: status; vector, error code (and CR2 for #PF) on faults;
 * EIP; the eight GPRs; EFLAGS; the 64 KiB data and stack regions.
 *
 * What is masked, and why:
 * - flags the SDM calls undefined after the instructions that ran, as tracked
 *   by the generator per instruction boundary (the boundary where the run
 *   stopped: the end, or the faulting instruction). That covers the table's
 *   flagsUndefined (AF after logic ops; SF ZF AF PF after MUL/IMUL; all after
 *   DIV/IDIV; OSAPC after BSF/BSR; OSAP after BT*; O after DAA/DAS; OSZP after
 *   AAA/AAS; OAC after AAM/AAD) refined by the count of shifts and rotates
 *   (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD: "If the count is 0, the
 *   flags are not affected"; "The OF flag is affected only on 1-bit shifts";
 *   "For the SHL and SHR instructions, CF is undefined when the count is
 *   greater than or equal to the size of the destination"; AF undefined for a
 *   non-zero count). Flags redefined by a later instruction are not masked.
 * - registers with undefined values: the destination of BSF/BSR when the
 *   source may be zero (SDM BSF/BSR: "If the content of the source operand is
 *   0, the content of the destination operand is undefined").
 * - both sides 'timeout': nothing else is compared.
 */
import { disassemble } from '../../src/isa/disasm.js';
import { OPCODES } from '../../src/isa/opcodes.js';
import type { SnippetOutput } from '../../src/vmm/snippet.js';
import type { SnippetRunner } from '../../src/vmm/snippet.js';
import type { NativeOracle } from './native/oracle.js';
import { CODE_BASE, DATA_BASE, DATA_SIZE, STACK_BASE, STACK_SIZE, initialEflags, type SnippetCase, type SnippetResult } from './native/types.js';
import type { BoundaryInfo, GenCase, GenInsn } from './generate.js';

export const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const FLAG_NAMES: [number, string][] = [
  [0x1, 'CF'], [0x4, 'PF'], [0x10, 'AF'], [0x40, 'ZF'], [0x80, 'SF'], [0x100, 'TF'], [0x200, 'IF'], [0x400, 'DF'], [0x800, 'OF'],
  [0x3000, 'IOPL'], [0x4000, 'NT'], [0x10000, 'RF'], [0x20000, 'VM'], [0x40000, 'AC'], [0x200000, 'ID'],
];

/**
 * EFLAGS bits never compared: none today. (Add a bit here only with the SDM
 * statement or harness property that makes it incomparable.)
 */
export const EFLAGS_IGNORED = 0;

export function flagNames(f: number): string {
  return FLAG_NAMES.filter(([b]) => (f & b) !== 0).map(([, n]) => n).join(' ') || '-';
}

const hex8 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
const hexBytes = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

export interface FieldDiff {
  field: string;
  native: string;
  vmxlab: string;
}

/** A plain copy of an emulator result (the runner's data/stack are views into guest RAM). */
export type EmuSnapshot = Omit<SnippetOutput, "status" | "data" | "stack"> & { status: string; error?: string };

export function snapshot(o: SnippetOutput): EmuSnapshot {
  return { status: o.status, vector: o.vector, errorCode: o.errorCode, faultAddress: o.faultAddress, eip: o.eip, regs: o.regs.slice(), eflags: o.eflags };
}

// Reused buffers for the expected regions.
const expData = Buffer.alloc(DATA_SIZE);
const expStack = Buffer.alloc(STACK_SIZE);

function expectedRegions(c: SnippetCase, nat: SnippetResult): void {
  expData.fill(0);
  expData.set(c.data.subarray(0, DATA_SIZE));
  expStack.fill(0);
  for (const w of nat.writes) {
    for (let i = 0; i < w.bytes.length; i++) {
      const a = w.addr + i;
      if (a >= DATA_BASE && a < DATA_BASE + DATA_SIZE) expData[a - DATA_BASE] = w.bytes[i]!;
      else if (a >= STACK_BASE && a < STACK_BASE + STACK_SIZE) expStack[a - STACK_BASE] = w.bytes[i]!;
    }
  }
}

function regionDiffs(name: string, base: number, exp: Buffer, got: Uint8Array, out: FieldDiff[]): void {
  const g = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
  if (g.equals(exp)) return;
  let shown = 0;
  for (let i = 0; i < exp.length && shown < 4; i++) {
    if (exp[i] === g[i]) continue;
    let j = i;
    while (j < exp.length && j - i < 16 && exp[j] !== g[j]) j++;
    out.push({ field: `${name}[0x${hex8(base + i)}..+${j - i}]`, native: hexBytes(exp.subarray(i, j)), vmxlab: hexBytes(g.subarray(i, j)) });
    shown++;
    i = j;
  }
}

/** The undefined flags/registers where the native run stopped. */
export function boundaryAt(g: Pick<GenCase, 'boundary' | 'any'>, eip: number): BoundaryInfo {
  return g.boundary.get(eip >>> 0) ?? g.any;
}

/**
 * Compares; returns the differing fields (empty when they agree). `emu` must
 * be the runner's live output (its data/stack views are read here).
 */
export function compareResults(g: Pick<GenCase, 'case' | 'boundary' | 'any'>, nat: SnippetResult, emu: SnippetOutput | { error: string }): FieldDiff[] {
  const out: FieldDiff[] = [];
  if ('error' in emu) {
    out.push({ field: 'exception', native: nat.status, vmxlab: `threw: ${emu.error}` });
    return out;
  }
  if (nat.status !== emu.status) out.push({ field: 'status', native: nat.status, vmxlab: emu.status });
  if (nat.status === 'timeout' && emu.status === 'timeout') return out;
  if (nat.status === 'fault' && emu.status === 'fault') {
    if (nat.vector !== emu.vector) out.push({ field: 'vector', native: String(nat.vector), vmxlab: String(emu.vector) });
    else {
      if ((nat.errorCode ?? 0) !== (emu.errorCode ?? 0)) out.push({ field: 'errorCode', native: hex8(nat.errorCode ?? 0), vmxlab: hex8(emu.errorCode ?? 0) });
      if (nat.vector === 14 && nat.faultAddress !== emu.faultAddress) out.push({ field: 'cr2', native: hex8(nat.faultAddress ?? 0), vmxlab: hex8(emu.faultAddress ?? 0) });
    }
  }
  if (nat.eip >>> 0 !== emu.eip >>> 0) out.push({ field: 'eip', native: hex8(nat.eip), vmxlab: hex8(emu.eip) });
  const info = boundaryAt(g, nat.eip);
  for (let r = 0; r < 8; r++) {
    if (info.masked & (1 << r)) continue;
    if (nat.regs[r]! >>> 0 !== emu.regs[r]! >>> 0) out.push({ field: REG_NAMES[r]!, native: hex8(nat.regs[r]!), vmxlab: hex8(emu.regs[r]!) });
  }
  const fmask = ~(info.undef | EFLAGS_IGNORED);
  const fd = (nat.eflags ^ emu.eflags) & fmask;
  if (fd !== 0) {
    out.push({ field: `eflags(${flagNames(fd)})`, native: `${hex8(nat.eflags)} [${flagNames(nat.eflags & fmask)}]`, vmxlab: `${hex8(emu.eflags)} [${flagNames(emu.eflags & fmask)}]` });
  }
  expectedRegions(g.case, nat);
  regionDiffs('data', DATA_BASE, expData, emu.data, out);
  regionDiffs('stack', STACK_BASE, expStack, emu.stack, out);
  return out;
}

// ---------------------------------------------------------------------------------------
// Reproducers

function stateLine(regs: ArrayLike<number>, eflags: number): string {
  return `${REG_NAMES.map((n, i) => `${n}=${hex8(regs[i]!)}`).join(' ')}\n    eflags=${hex8(eflags)} [${flagNames(eflags)}]`;
}

function resultLine(r: { status: string; vector?: number; errorCode?: number; faultAddress?: number; eip: number; regs: ArrayLike<number>; eflags: number }): string {
  let s = `${r.status}`;
  if (r.status === 'fault') s += ` vector ${r.vector} error 0x${(r.errorCode ?? 0).toString(16)}${r.vector === 14 ? ` cr2 0x${hex8(r.faultAddress ?? 0)}` : ''}`;
  return `${s} eip=${hex8(r.eip)}\n    ${stateLine(r.regs, r.eflags)}`;
}

export function disasmLines(code: Uint8Array): string[] {
  return disassemble(code, { address: CODE_BASE, code32: true }).map((d) => `  ${hex8(d.address)}  ${hexBytes(d.bytes).padEnd(36)} ${d.text}`);
}

export function formatRepro(g: GenCase, nat: SnippetResult, emu: EmuSnapshot, diffs: FieldDiff[], title = ''): string {
  const c = g.case;
  const lines: string[] = [];
  lines.push(`--- ${title}seed 0x${g.seed.toString(16)} case ${g.index}: ${diffs.map((d) => d.field).join(', ')}`);
  lines.push(`code (${c.code.length} bytes): ${hexBytes(c.code)}`);
  lines.push(...disasmLines(c.code));
  lines.push(`initial: ${stateLine(c.regs, initialEflags(c))}`);
  let lastNonZero = c.data.length;
  while (lastNonZero > 0 && c.data[lastNonZero - 1] === 0) lastNonZero--;
  if (lastNonZero > 0) {
    lines.push(`  data @0x${hex8(DATA_BASE)} (${c.data.length} bytes):`);
    for (let i = 0; i < lastNonZero; i += 32) lines.push(`    +${i.toString(16).padStart(3, '0')}: ${hexBytes(c.data.subarray(i, Math.min(i + 32, lastNonZero)))}`);
  }
  lines.push(`native: ${resultLine(nat)}`);
  lines.push(`vmxlab: ${emu.error ? `threw ${emu.error}` : resultLine(emu)}`);
  const info = boundaryAt(g, nat.eip);
  if (info.undef || info.masked) lines.push(`masked: flags [${flagNames(info.undef)}] regs [${REG_NAMES.filter((_, i) => info.masked & (1 << i)).join(' ')}]`);
  for (const d of diffs) lines.push(`  ${d.field}: native ${d.native}  vmxlab ${d.vmxlab}`);
  return lines.join('\n');
}

/** A stable name for the class of a mismatch: the culprit instruction's row, its operand size, and the fields. */
export function mismatchClass(g: GenCase, nat: SnippetResult, diffs: FieldDiff[], group?: number): string {
  const culprit = group !== undefined ? g.insns.find((i) => i.main && i.group === group) : culpritInsn(g, nat);
  let name = '?';
  if (culprit) {
    const row = culprit.row >= 0 ? OPCODES[culprit.row]! : undefined;
    const text = disassemble(culprit.bytes, { code32: true })[0]?.text ?? '?';
    const o16 = culprit.bytes.includes(0x66) && culprit.bytes.indexOf(0x66) < culprit.bytes.length - 2 ? ' o16' : '';
    if (row) name = `${text.split(' ')[0] === 'lock' ? 'lock ' : ''}${row.mnemonic} ${row.map ? '0F ' : ''}${row.opcode.toString(16).toUpperCase().padStart(2, '0')}${row.ext >= 0 ? '/' + row.ext : ''}${o16} (${row.operands.join(',')})`;
    else name = text;
  }
  const fields = [...new Set(diffs.map((d) => d.field.replace(/\[.*$/, '').replace(/^(eax|ecx|edx|ebx|esp|ebp|esi|edi)$/, 'reg')))].sort();
  return `${name}: ${fields.join(', ')}`;
}

/** The main instruction that is most likely at fault: the faulting one, else the last one executed. */
export function culpritInsn(g: GenCase, nat: SnippetResult): GenInsn | undefined {
  const mains = g.insns.filter((i) => i.main);
  if (nat.status === 'fault') {
    const at = g.insns.find((i) => i.address === nat.eip);
    if (at) return g.insns.find((i) => i.main && i.group === at.group) ?? at;
  }
  return mains[mains.length - 1];
}

// ---------------------------------------------------------------------------------------
// Running and shrinking

export function runEmu(runner: SnippetRunner, c: SnippetCase): SnippetOutput | { error: string } {
  try {
    return runner.run({ code: c.code, regs: c.regs, eflags: c.eflags, data: c.data, maxInstructions: 10_000 });
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function emuSnap(o: SnippetOutput | { error: string }): EmuSnapshot {
  return 'error' in o ? { status: 'error', eip: 0, regs: new Uint32Array(8), eflags: 0, error: o.error } : snapshot(o);
}

/** Groups [from, to] of g as a case of its own (addresses re-based), with an optional initial state. */
export function subCase(g: GenCase, from: number, to: number, init?: { regs: Uint32Array; eflags: number; data: Uint8Array }): GenCase {
  const insns = g.insns.filter((i) => i.group >= from && i.group <= to);
  const start = insns[0]!.address;
  const after = g.insns.find((i) => i.group > to)?.address ?? CODE_BASE + g.case.code.length;
  const code = new Uint8Array(after - start);
  for (const i of insns) code.set(i.bytes, i.address - start);
  const shift = CODE_BASE - start;
  const boundary = new Map<number, BoundaryInfo>();
  const any: BoundaryInfo = { undef: 0, masked: 0 };
  for (const [addr, b] of g.boundary) {
    if (addr < start || addr > after) continue;
    boundary.set(addr + shift, { ...b });
    any.undef |= b.undef;
    any.masked |= b.masked;
  }
  // Falling off the end of a truncated snippet is the fall-through into the next group,
  // whose boundary is kept (branches to later groups land past the end, in int3).
  return {
    seed: g.seed,
    index: g.index,
    case: { code, regs: init?.regs ?? g.case.regs, eflags: init?.eflags ?? g.case.eflags, data: init?.data ?? g.case.data },
    insns: insns.map((i) => ({ ...i, address: i.address + shift, group: i.group - from })),
    boundary,
    any,
  };
}

export interface Shrunk {
  g: GenCase;
  native: SnippetResult;
  emu: EmuSnapshot;
  diffs: FieldDiff[];
  repro: string;
}

/**
 * Shrinks a mismatching multi-instruction case: the shortest prefix of its
 * instruction groups that still mismatches, then, if it still mismatches when
 * started from the native state before it, the last group alone. Returns
 * undefined when no smaller case mismatches.
 */
export async function shrink(g: GenCase, oracle: NativeOracle, runner: SnippetRunner): Promise<Shrunk | undefined> {
  const groups = new Set(g.insns.map((i) => i.group)).size;
  if (groups <= 1) return undefined;
  const tryCase = async (h: GenCase): Promise<Shrunk | undefined> => {
    const [nat] = await oracle.run([h.case]);
    const emu = runEmu(runner, h.case);
    const diffs = compareResults(h, nat!, emu);
    if (diffs.length === 0) return undefined;
    const snap = emuSnap(emu);
    return { g: h, native: nat!, emu: snap, diffs, repro: formatRepro(h, nat!, snap, diffs, 'shrunk: ') };
  };
  let best: Shrunk | undefined;
  let k = 0;
  for (; k < groups - 1; k++) {
    best = await tryCase(subCase(g, 0, k));
    if (best) break;
  }
  if (k === 0 && best) return best;
  // Start group k from the native state after groups 0..k-1.
  const prefix = subCase(g, 0, k - 1);
  const [pre] = await oracle.run([prefix.case]);
  if (pre && pre.status === 'ok' && pre.writes.every((w) => w.addr < STACK_BASE) && (pre.eflags & ~0xcd5) === 0x202) {
    let len = DATA_SIZE;
    const d = pre.data;
    while (len > 0 && d[len - 1] === 0) len--;
    const single = await tryCase(subCase(g, k, k, { regs: pre.regs.slice(), eflags: pre.eflags, data: d.slice(0, len) }));
    if (single) return single;
  }
  return best;
}

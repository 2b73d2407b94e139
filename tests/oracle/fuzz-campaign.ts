/**
 * One oracle campaign: generate `cases` snippets from `seed`, run them on the
 * host CPU (one harness process, batched and pipelined) and on vmxlab, compare,
 * shrink and classify the mismatches. Used by property.test.ts and by the
 * fuzzer (fuzz-run.ts, `npm run fuzz`).
 */
import { OPCODES } from '../../src/isa/opcodes.js';
import { SnippetRunner } from '../../src/vmm/snippet.js';
import { NativeOracle, type OracleMode } from './native/oracle.js';
import type { SnippetResult } from './native/types.js';
import { blockRows, eligibleRows, generateCase, type GenCase } from './generate.js';
import { compareResults, formatRepro, mismatchClass, runEmu, shrink, snapshot, subCase, type FieldDiff } from './compare.js';

export interface Mismatch {
  g: GenCase;
  native: SnippetResult;
  diffs: FieldDiff[];
  repro: string;
  cls: string;
}

export interface CampaignResult {
  seed: number;
  /** How the host ran the cases (OracleMode). */
  mode: OracleMode;
  /** The fuzzer options that reproduce the campaign (npm run fuzz -- ...). */
  rerun: string;
  cases: number;
  mismatches: Mismatch[];
  /** Distinct classes, most frequent first, with a (shrunk where possible) reproducer. */
  classes: { cls: string; count: number; repro: string }[];
  /** Main instructions generated per row of OPCODES. */
  coverage: number[];
  /** Eligible rows never generated. */
  notGenerated: number[];
  status: Record<string, number>;
  ms: number;
}

export interface CampaignOptions {
  seed: number;
  cases: number;
  batch?: number;
  /** How many distinct classes to shrink (each shrink runs a few more cases). */
  shrinkClasses?: number;
  log?: (s: string) => void;
  /** Run vmxlab with 32-bit paging on (an identity map), exercising the walk and TLB paths. */
  paging?: boolean;
  /** The engine that runs the snippets (MachineOptions.engine; default the Machine's). */
  engine?: "ts" | "wasm";
  /** Main instructions per case: 1..maxInstructions (GenerateOptions; default 3). */
  maxInstructions?: number;
  /**
   * Run each case whole, after this many warm-up runs of it (SnippetRunnerOptions.whole,
   * warmRuns): 16 or more and its code runs as compiled blocks. Default: one instruction
   * per run.
   */
  warmRuns?: number;
  /** GenerateOptions.focus: 'blocks' keeps to what compiled blocks hold. */
  focus?: 'blocks';
  /** GenerateOptions.loop: each case a counted loop. */
  loop?: boolean;
}

export async function runCampaign(opt: CampaignOptions): Promise<CampaignResult> {
  const t0 = Date.now();
  const batch = opt.batch ?? 2000;
  const oracle = await NativeOracle.open();
  const mode = NativeOracle.mode();
  const runner = new SnippetRunner({ paging: opt.paging, engine: opt.engine, whole: opt.warmRuns !== undefined, warmRuns: opt.warmRuns });
  const coverage = new Array<number>(OPCODES.length).fill(0);
  const status: Record<string, number> = {};
  const mismatches: Mismatch[] = [];
  try {
    const gen = (start: number): GenCase[] => {
      const out: GenCase[] = [];
      for (let i = start; i < Math.min(opt.cases, start + batch); i++) out.push(generateCase(opt.seed, i, { mode, maxInstructions: opt.maxInstructions, focus: opt.focus, loop: opt.loop }));
      return out;
    };
    let cur = gen(0);
    let pending = oracle.run(cur.map((g) => g.case));
    for (let start = 0; start < opt.cases; start += batch) {
      const natives = await pending;
      const next = start + batch < opt.cases ? gen(start + batch) : [];
      if (next.length) pending = oracle.run(next.map((g) => g.case));
      for (let i = 0; i < cur.length; i++) {
        const g = cur[i]!;
        const nat = natives[i]!;
        for (const ins of g.insns) if (ins.main) coverage[ins.row]!++;
        const key = nat.status === 'fault' ? `fault ${nat.vector}` : nat.status;
        status[key] = (status[key] ?? 0) + 1;
        const emu = runEmu(runner, g.case);
        const diffs = compareResults(g, nat, emu);
        if (diffs.length === 0) continue;
        const snap = 'error' in emu ? { status: 'error', eip: 0, regs: new Uint32Array(8), eflags: 0, error: emu.error } : snapshot(emu);
        mismatches.push({ g, native: nat, diffs, repro: formatRepro(g, nat, snap, diffs), cls: mismatchClass(g, nat, diffs) });
      }
      opt.log?.(`${Math.min(start + batch, opt.cases)} cases, ${mismatches.length} mismatches, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      cur = next;
    }
    // Find the culprit of multi-instruction mismatches: the first instruction group whose
    // prefix of the snippet already mismatches (all prefixes in one native batch).
    const jobs: { m: Mismatch; k: number; h: GenCase }[] = [];
    for (const m of mismatches.slice(0, 3000)) {
      const groups = new Set(m.g.insns.map((i) => i.group)).size;
      for (let k = 0; k < groups - 1; k++) jobs.push({ m, k, h: subCase(m.g, 0, k) });
    }
    const prefixNat = jobs.length ? await oracle.run(jobs.map((j) => j.h.case)) : [];
    const found = new Set<Mismatch>();
    jobs.forEach((j, i) => {
      if (found.has(j.m)) return;
      const d = compareResults(j.h, prefixNat[i]!, runEmu(runner, j.h.case));
      if (d.length === 0) return;
      found.add(j.m);
      j.m.cls = mismatchClass(j.h, prefixNat[i]!, d, j.k);
    });
    // Classify; shrink one reproducer per class.
    const byClass = new Map<string, Mismatch[]>();
    for (const m of mismatches) byClass.set(m.cls, [...(byClass.get(m.cls) ?? []), m]);
    const classes: { cls: string; count: number; repro: string }[] = [];
    const sorted = [...byClass.entries()].sort((a, b) => b[1].length - a[1].length);
    let shrunkCount = 0;
    for (const [cls, ms] of sorted) {
      // Prefer the shortest snippet of the class as its reproducer.
      const m = ms.reduce((a, b) => (b.g.case.code.length < a.g.case.code.length ? b : a));
      let repro = m.repro;
      if (shrunkCount < (opt.shrinkClasses ?? 40)) {
        shrunkCount++;
        const s = await shrink(m.g, oracle, runner);
        if (s) repro = `${s.repro}\n(original)\n${m.repro}`;
      }
      classes.push({ cls, count: ms.length, repro });
    }
    const notGenerated = (opt.focus === 'blocks' ? blockRows(mode) : eligibleRows(mode)).filter((r) => coverage[r] === 0);
    const rerun = `--seed 0x${opt.seed.toString(16)} --cases ${opt.cases}${opt.engine ? ` --engine ${opt.engine}` : ''}` +
      `${opt.paging ? ' --paging' : ''}${(opt.maxInstructions ?? 3) !== 3 ? ` --length ${opt.maxInstructions}` : ''}` +
      `${opt.warmRuns !== undefined ? ` --warm ${opt.warmRuns}` : ''}${opt.focus ? ` --focus ${opt.focus}` : ''}${opt.loop ? ' --loop' : ''}`;
    return { seed: opt.seed, mode, rerun, cases: opt.cases, mismatches, classes, coverage, notGenerated, status, ms: Date.now() - t0 };
  } finally {
    oracle.close();
  }
}

export function rowName(i: number): string {
  const r = OPCODES[i]!;
  return `${r.mnemonic} ${r.map ? '0F ' : ''}${r.opcode.toString(16).toUpperCase().padStart(2, '0')}${r.ext >= 0 ? '/' + r.ext : ''}${r.prefix ? ` (prefix ${r.prefix.toString(16)})` : ''} ${r.operands.join(',')}`;
}

/** A text summary: classes with counts and one reproducer each (up to `limit`). */
export function summary(r: CampaignResult, limit = 10): string {
  const lines = [`seed 0x${r.seed.toString(16)} (${r.mode} oracle): ${r.cases} cases, ${r.mismatches.length} mismatches in ${r.classes.length} classes (${(r.ms / 1000).toFixed(1)} s)`];
  lines.push(`native outcomes: ${Object.entries(r.status).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const c of r.classes) lines.push(`  ${String(c.count).padStart(6)}  ${c.cls}`);
  for (const c of r.classes.slice(0, limit)) lines.push('', c.repro);
  if (r.notGenerated.length) lines.push('', `rows never generated: ${r.notGenerated.map(rowName).join('; ')}`);
  lines.push('', `reproduce: npm run fuzz -- ${r.rerun}`);
  return lines.join('\n');
}

#!/usr/bin/env node
// npm run fuzz -- --seed S --cases N [--engine ts|wasm] [--paging] [--length K] [--warm W] [--focus blocks] [--loop]
//
// Random table-generated snippets on the host CPU (silicon oracle) and on vmxlab;
// prints every mismatch class with a minimal reproducer and exits non-zero when
// there is any. Node cannot import the TypeScript sources directly, so this runs
// tests/oracle/fuzz-run.ts through vitest (vitest.fuzz.config.ts), passing the
// options in VMXLAB_FUZZ_SEED, VMXLAB_FUZZ_CASES, VMXLAB_FUZZ_ENGINE, VMXLAB_FUZZ_PAGING,
// VMXLAB_FUZZ_LENGTH, VMXLAB_FUZZ_WARM, VMXLAB_FUZZ_FOCUS and VMXLAB_FUZZ_LOOP.
// See docs/oracle.md.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const usage = 'usage: npm run fuzz -- [--seed S] [--cases N] [--engine ts|wasm] [--paging] [--length K] [--warm W] [--focus blocks] [--loop]\n' +
  '  S decimal or 0x-hex; K: up to K main instructions per case (1-20); W: run each case whole\n' +
  '  after W warm-up runs (0-100; 16 or more compiles blocks); --focus blocks: only what compiled\n' +
  '  blocks hold, without prefixes; --loop: each case a counted loop of 2-17 passes;\n' +
  '  default: random seed, 10000 cases,\n' +
  '  the default engine (wasm), paging off, K = 3, one instruction per run';

let seed = (Math.random() * 0x100000000) >>> 0;
let cases = 10000;
let engine = '';
let paging = false;
let length = 3;
let warm = -1;
let focus = '';
let loop = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const [name, inline] = a.includes('=') ? a.split(/=(.*)/s, 2) : [a, undefined];
  const value = () => {
    const v = inline ?? args[++i];
    if (v === undefined) fail(`${name} needs a value`);
    return v;
  };
  if (name === '--seed') {
    const v = value();
    const n = Number(v);
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(v) || !Number.isSafeInteger(n) || n > 0xffffffff) fail(`bad --seed ${v}`);
    seed = n >>> 0;
  } else if (name === '--cases') {
    const v = value();
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1) fail(`bad --cases ${v}`);
    cases = n;
  } else if (name === '--engine') {
    const v = value();
    if (v !== 'ts' && v !== 'wasm') fail(`--engine must be ts or wasm, not ${v}`);
    engine = v;
  } else if (name === '--paging') {
    paging = true;
  } else if (name === '--loop') {
    loop = true;
  } else if (name === '--length') {
    const v = value();
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 20) fail(`--length must be 1-20, not ${v}`);
    length = n;
  } else if (name === '--warm') {
    const v = value();
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > 100) fail(`--warm must be 0-100, not ${v}`);
    warm = n;
  } else if (name === '--focus') {
    const v = value();
    if (v !== 'blocks') fail(`--focus must be blocks, not ${v}`);
    focus = v;
  } else if (name === '-h' || name === '--help') {
    console.log(usage);
    process.exit(0);
  } else fail(`unknown option ${a}`);
}

function fail(msg) {
  console.error(`fuzz: ${msg}\n${usage}`);
  process.exit(2);
}

const again = `--seed 0x${seed.toString(16)} --cases ${cases}${engine ? ` --engine ${engine}` : ''}${paging ? ' --paging' : ''}${length !== 3 ? ` --length ${length}` : ''}${warm >= 0 ? ` --warm ${warm}` : ''}${focus ? ` --focus ${focus}` : ''}${loop ? ' --loop' : ''}`;
console.error(`fuzz: ${again}`);
const require = createRequire(path.join(root, 'package.json'));
let vitest;
try {
  vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
} catch {
  fail('vitest is not installed (npm install)');
}
const child = spawn(process.execPath, [vitest, 'run', '--config', 'vitest.fuzz.config.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, VMXLAB_FUZZ_SEED: String(seed), VMXLAB_FUZZ_CASES: String(cases), VMXLAB_FUZZ_ENGINE: engine, VMXLAB_FUZZ_PAGING: paging ? '1' : '', VMXLAB_FUZZ_LENGTH: String(length), VMXLAB_FUZZ_WARM: warm >= 0 ? String(warm) : '', VMXLAB_FUZZ_FOCUS: focus, VMXLAB_FUZZ_LOOP: loop ? '1' : '' },
});
child.on('exit', (code, signal) => {
  if (code !== 0) console.error(`fuzz: mismatches or errors; rerun with npm run fuzz -- ${again}`);
  process.exit(code ?? (signal ? 1 : 0));
});

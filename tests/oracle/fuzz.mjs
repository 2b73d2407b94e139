#!/usr/bin/env node
// npm run fuzz -- --seed S --cases N [--engine ts|wasm] [--paging]
//
// Random table-generated snippets on the host CPU (silicon oracle) and on vmxlab;
// prints every mismatch class with a minimal reproducer and exits non-zero when
// there is any. Node cannot import the TypeScript sources directly, so this runs
// tests/oracle/fuzz-run.ts through vitest (vitest.fuzz.config.ts), passing the
// options in VMXLAB_FUZZ_SEED, VMXLAB_FUZZ_CASES, VMXLAB_FUZZ_ENGINE and VMXLAB_FUZZ_PAGING.
// See docs/oracle.md.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const usage = 'usage: npm run fuzz -- [--seed S] [--cases N] [--engine ts|wasm] [--paging]\n' +
  '  S decimal or 0x-hex; default: random seed, 10000 cases, the default engine (wasm), paging off';

let seed = (Math.random() * 0x100000000) >>> 0;
let cases = 10000;
let engine = '';
let paging = false;
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
  } else if (name === '-h' || name === '--help') {
    console.log(usage);
    process.exit(0);
  } else fail(`unknown option ${a}`);
}

function fail(msg) {
  console.error(`fuzz: ${msg}\n${usage}`);
  process.exit(2);
}

console.error(`fuzz: seed 0x${seed.toString(16)}, ${cases} cases${engine ? `, engine ${engine}` : ''}${paging ? ', paging on' : ''}`);
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
  env: { ...process.env, VMXLAB_FUZZ_SEED: String(seed), VMXLAB_FUZZ_CASES: String(cases), VMXLAB_FUZZ_ENGINE: engine, VMXLAB_FUZZ_PAGING: paging ? '1' : '' },
});
child.on('exit', (code, signal) => {
  if (code !== 0) console.error(`fuzz: mismatches or errors (seed 0x${seed.toString(16)}); rerun with --seed 0x${seed.toString(16)} --cases ${cases}${engine ? ` --engine ${engine}` : ''}${paging ? ' --paging' : ''}`);
  process.exit(code ?? (signal ? 1 : 0));
});

// The fuzzer's test body (not part of `npm test`): `npm run fuzz -- --seed S --cases N`
// runs it through vitest.fuzz.config.ts with VMXLAB_FUZZ_SEED and VMXLAB_FUZZ_CASES.
// Prints every mismatch class with a minimal reproducer and fails when there is any.
import { expect, it } from 'vitest';
import { NativeOracle } from './native/oracle.js';
import { runCampaign, summary } from './fuzz-campaign.js';

const seed = Number(process.env.VMXLAB_FUZZ_SEED ?? 0x5eed) >>> 0;
const cases = Number(process.env.VMXLAB_FUZZ_CASES ?? 10_000);
const engine = process.env.VMXLAB_FUZZ_ENGINE === 'ts' || process.env.VMXLAB_FUZZ_ENGINE === 'wasm' ? process.env.VMXLAB_FUZZ_ENGINE : undefined;
const paging = process.env.VMXLAB_FUZZ_PAGING === '1';
const length = Number(process.env.VMXLAB_FUZZ_LENGTH ?? 3);
const warm = process.env.VMXLAB_FUZZ_WARM ? Number(process.env.VMXLAB_FUZZ_WARM) : undefined;
const focus = process.env.VMXLAB_FUZZ_FOCUS === 'blocks' ? 'blocks' : undefined;
const loop = process.env.VMXLAB_FUZZ_LOOP === '1';
const reason = NativeOracle.unavailableReason();

it.skipIf(reason !== undefined)(`fuzz: ${cases} cases from seed 0x${seed.toString(16)}`, async () => {
  const r = await runCampaign({
    seed,
    cases,
    batch: 2000,
    shrinkClasses: 100,
    engine,
    paging,
    maxInstructions: length,
    warmRuns: warm,
    focus,
    loop,
    log: (s) => process.stderr.write(`fuzz: ${s}\n`),
  });
  process.stdout.write(`${summary(r, r.classes.length)}\n`);
  expect(r.mismatches.length, `${r.mismatches.length} mismatches (seed 0x${seed.toString(16)})`).toBe(0);
});

if (reason !== undefined) process.stderr.write(`fuzz: the silicon oracle is unavailable: ${reason}\n`);

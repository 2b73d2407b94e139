// Property test: random snippets generated from the opcode table run on the host CPU
// (the silicon oracle) and on vmxlab must end in the same state, with the flags and
// registers the SDM leaves undefined masked. See docs/oracle.md ("Property test and
// fuzzer"). Where the host runs no 32-bit process, the oracle runs the cases in 64-bit
// mode and the generator keeps to the rows that mean the same there ("Long mode").
// Skips, saying why, when the harness builds in neither mode.
import { describe, expect, it } from 'vitest';
import { NativeOracle } from './native/oracle.js';
import { runCampaign, rowName, summary, type CampaignResult } from './fuzz-campaign.js';
import { ELIGIBLE_ROWS, eligibleRows } from './generate.js';

const SEED = 0x5eed;
const CASES = 20_000;

const reason = NativeOracle.unavailableReason();
if (reason !== undefined) console.warn(`oracle property test skipped: ${reason}`);
else if (NativeOracle.mode() === 'long') {
  console.warn(`oracle property test: the host runs no 32-bit process; the cases run in 64-bit mode, ${eligibleRows('long').length} of ${ELIGIBLE_ROWS.length} eligible rows`);
}

describe.skipIf(reason !== undefined)('vmxlab matches the host CPU on random table-generated snippets', () => {
  let result: CampaignResult | undefined;
  const campaign = async (): Promise<CampaignResult> => (result ??= await runCampaign({ seed: SEED, cases: CASES, shrinkClasses: 40, engine: 'ts' }));

  it(`${CASES} cases from seed 0x${SEED.toString(16)} give no mismatch`, async () => {
    const r = await campaign();
    if (r.mismatches.length > 0) console.log(summary(r, 10));
    expect(r.mismatches.length, `seed 0x${SEED.toString(16)}:\n${summary(r, 10)}`).toBe(0);
  }, 180_000);

  it('every eligible row of the opcode table was generated', async () => {
    const r = await campaign();
    expect(r.notGenerated.map(rowName), `seed 0x${SEED.toString(16)}: rows never generated`).toEqual([]);
  }, 180_000);
});

describe.skipIf(reason !== undefined)('vmxlab with paging on matches the host CPU', () => {
  // The same generator with vmxlab's paging enabled (identity map, user pages): the host
  // runs under Linux's paging anyway, so the results must not change.
  const PAGED_SEED = 0x9a9e;
  const PAGED_CASES = 5_000;
  it(`${PAGED_CASES} cases from seed 0x${PAGED_SEED.toString(16)} give no mismatch`, async () => {
    const r = await runCampaign({ seed: PAGED_SEED, cases: PAGED_CASES, shrinkClasses: 20, paging: true, engine: 'ts' });
    expect(r.mismatches.length, `seed 0x${PAGED_SEED.toString(16)} (paging):\n${summary(r, 10)}`).toBe(0);
  }, 180_000);
});

// The wasm engine runs the same hot loop compiled by asc (docs/engine-decision.md): its
// own campaigns, flat and paged, against the same oracle, from seeds the TS runs do not use.
describe.skipIf(reason !== undefined)('the wasm engine matches the host CPU', () => {
  for (const { seed, paging } of [{ seed: 0x3a5e, paging: false }, { seed: 0x3a5f, paging: true }]) {
    it(`5000 cases from seed 0x${seed.toString(16)}${paging ? ' with paging' : ''} give no mismatch`, async () => {
      const r = await runCampaign({ seed, cases: 5_000, shrinkClasses: 20, paging, engine: 'wasm' });
      expect(r.mismatches.length, `seed 0x${seed.toString(16)} (wasm${paging ? ', paging' : ''}):\n${summary(r, 10)}`).toBe(0);
    }, 180_000);
  }
});

// The campaigns above step one instruction per Machine.run. These run each case whole, as a
// guest runs, after 20 warm-up runs of the same code (SnippetRunnerOptions.whole, warmRuns):
// the hot loop's multi-instruction path, and on the TS engine the compiled blocks of the
// code at the snippet's start and its branch targets (16 arrivals compile one). Those
// focused on blocks keep to the rows blocks hold, without prefixes, up to 6 instructions
// in a counted loop (GenerateOptions.loop), so that both engines' loop blocks run too
// (the wasm engine compiles only those).
describe.skipIf(reason !== undefined)('whole runs with warm caches match the host CPU', () => {
  for (const { seed, engine, paging, focus } of [
    { seed: 0xb10c, engine: 'ts', paging: false, focus: false },
    { seed: 0xb10d, engine: 'ts', paging: false, focus: true },
    { seed: 0xb10e, engine: 'ts', paging: true, focus: true },
    { seed: 0xb10f, engine: 'wasm', paging: false, focus: false },
    { seed: 0xb110, engine: 'wasm', paging: false, focus: true },
    { seed: 0xb111, engine: 'wasm', paging: true, focus: true },
  ] as const) {
    const what = `${engine} engine${paging ? ', paging' : ''}${focus ? ', loops focused on blocks' : ''}`;
    it(`5000 cases from seed 0x${seed.toString(16)}, ${what}, give no mismatch`, async () => {
      const r = await runCampaign({
        seed, cases: 5_000, shrinkClasses: 20, paging, engine, warmRuns: 20,
        ...(focus ? { focus: 'blocks', loop: true, maxInstructions: 6 } : {}),
      });
      expect(r.mismatches.length, `seed 0x${seed.toString(16)} (${what}):\n${summary(r, 10)}`).toBe(0);
    }, 180_000);
  }
});

// The portable slice of core/ (docs/engine-decision.md) compiled twice: by tsc (dist/, what
// the TS engine runs) and by asc (dist/vmxlab-core.wasm). Function-level lockstep: the two
// builds get the same seeded random inputs, on the same flat-state bytes (the wasm
// module's memory, viewed from TS), and must agree on every output. Where an input is
// architecturally consistent (a result that the recorded operation really produces), both
// are also checked against an independent calculation from the SDM's flag definitions
// (SDM 1 3.4.3.1, appendix A) or BigInt arithmetic.
//
// Build first (npm run build: tsc, then tools/build-wasm.mjs). The seed is printed on
// failure; VMXLAB_SEED=n reruns one.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { Reg, Flag } from "../src/state/layout.js";
import * as ts from "../dist/core/lazyFlags.js";
import * as arith from "../dist/core/arith.js";

const SEED = process.env.VMXLAB_SEED !== undefined ? Number(process.env.VMXLAB_SEED) : Date.now() % 0x7fffffff;
const CASES = 20000;

/** expect() only on a mismatch: 20000 cases x 16 conditions of expect() would take seconds. */
function same(actual: unknown, expected: unknown, at: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual, at).toEqual(expected);
}

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) | 0;
  };
}
const EDGES = [0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 0x0f, 0x10];
/** Random int32 with a fair share of edge values. */
function word(next: () => number): number {
  const r = next();
  return (r & 7) === 0 ? EDGES[(r >>> 3) % EDGES.length] : next();
}

interface CoreWasm {
  memory: WebAssembly.Memory;
  allocateState(ram: number): number;
  cf(): number; zf(): number; sf(): number; pf(): number; af(): number; oflag(): number;
  eflags(): number; setEflags(v: number): void; cond(c: number): number;
  mul(a: number, b: number): void; imul(a: number, b: number): void; divu(hi: number, lo: number, d: number): void;
  wideLo(): number; wideHi(): number; wideQ(): number; wideR(): number;
}

async function loadCore(): Promise<{ x: CoreWasm; s: Int32Array }> {
  const bytes = fs.readFileSync(new URL("../dist/vmxlab-core.wasm", import.meta.url));
  // These tests call the slice's exports only; the hot loop's host imports (core/hotHost.ts)
  // are never reached, and answer with an error if they were.
  const env: Record<string, WebAssembly.Memory | (() => never)> = {};
  for (const { name, kind } of WebAssembly.Module.imports(new WebAssembly.Module(bytes))) {
    // The engine's host makes its memory (vmm/wasmEngine.ts); 4 MiB hold this slice's state.
    if (kind === "memory") env[name] = new WebAssembly.Memory({ initial: 64 });
    else env[name] = () => { throw new Error(`wasm import ${name} called by a slice test`); };
  }
  const { instance } = await WebAssembly.instantiate(bytes, { env });
  const x = instance.exports as unknown as CoreWasm;
  const base = x.allocateState(4096);
  // The TS side's view of the wasm module's flat state: the same bytes both builds read.
  return { x, s: new Int32Array(x.memory.buffer, base, Reg.STATE_WORDS) };
}

const SIZES = [1, 2, 4];
const mask = (size: number) => (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);

/**
 * Flags of a consistent operation straight from their definitions (SDM 1 3.4.3.1 and
 * appendix A): carries and borrows by unsigned arithmetic, overflow by the operands'
 * signs, AF from the low nibbles. Not the formulas core/lazyFlags.ts uses.
 */
function referenceFlags(op: number, size: number, a: number, b: number, carry: number, oldCf: number): { res: number; flags: number; afDefined: boolean } {
  const m = mask(size), bits = size * 8;
  const ua0 = (a & m) >>> 0, ub0 = (b & m) >>> 0;
  const sign = (v: number) => Math.floor(v / 2 ** (bits - 1)) & 1;
  let res: number, cf: number, of: number, af: number, afDefined = true;
  switch (op) {
    case 1: case 2: case 6: { // ADD, ADC, INC
      const sum = ua0 + ub0 + carry;
      res = sum % 2 ** bits;
      cf = op === 6 ? oldCf : sum > m ? 1 : 0;
      of = sign(ua0) === sign(ub0) && sign(res) !== sign(ua0) ? 1 : 0;
      af = (ua0 & 0xf) + (ub0 & 0xf) + carry > 0xf ? 1 : 0;
      break;
    }
    case 3: case 4: case 7: { // SUB, SBB, DEC
      const diff = ua0 - ub0 - carry;
      res = ((diff % 2 ** bits) + 2 ** bits) % 2 ** bits;
      cf = op === 7 ? oldCf : diff < 0 ? 1 : 0;
      of = sign(ua0) !== sign(ub0) && sign(res) !== sign(ua0) ? 1 : 0;
      af = (ua0 & 0xf) < (ub0 & 0xf) + carry ? 1 : 0;
      break;
    }
    default: { // AND/OR/XOR: CF = OF = 0, AF undefined (SDM 2A AND)
      res = (ua0 & ub0) >>> 0;
      cf = 0; of = 0; af = 0; afDefined = false;
    }
  }
  let ones = 0;
  for (let v = res & 0xff; v !== 0; v >>= 1) ones += v & 1;
  const flags = cf | ((ones & 1) === 0 ? Flag.PF : 0) | (af ? Flag.AF : 0) | (res === 0 ? Flag.ZF : 0) |
    (sign(res) ? Flag.SF : 0) | (of ? Flag.OF : 0);
  return { res: res | 0, flags, afDefined };
}

/** Condition codes from EFLAGS (SDM 2A B.1.4.7): O, B, Z, BE, S, P, L, LE and negations. */
function referenceCond(c: number, f: number): boolean {
  const o = (f >> 11) & 1, cfl = f & 1, z = (f >> 6) & 1, sf = (f >> 7) & 1, p = (f >> 2) & 1;
  const r = [o, cfl, z, cfl | z, sf, p, sf ^ o, z | (sf ^ o)][c >> 1] !== 0;
  return (c & 1) !== 0 ? !r : r;
}

describe("portable slice: lazy flags, tsc build vs asc build", () => {
  it(`agrees on arbitrary lazy states (seed ${SEED})`, async () => {
    const { x, s } = await loadCore();
    const next = rng(SEED);
    for (let i = 0; i < CASES; i++) {
      s[Reg.LAZY_OP] = (next() >>> 0) % 8;
      s[Reg.LAZY_SIZE] = SIZES[(next() >>> 0) % 3];
      s[Reg.LAZY_DST] = word(next); s[Reg.LAZY_SRC] = word(next); s[Reg.LAZY_RES] = word(next);
      s[Reg.EFLAGS] = word(next);
      const at = `seed ${SEED}, case ${i}, state ${[...s.subarray(Reg.EFLAGS, Reg.LAZY_SIZE + 1)].join(",")}`;
      same([x.cf(), x.zf(), x.sf(), x.pf(), x.af(), x.oflag(), x.eflags()],
        [ts.lazyCf(s), ts.lazyZf(s), ts.lazySf(s), ts.lazyPf(s), ts.lazyAf(s), ts.lazyOf(s), ts.lazyEflags(s)], at);
      for (let c = 0; c < 16; c++) same(x.cond(c) !== 0, ts.lazyCond(s, c), `${at}, cond ${c}`);
    }
  });

  it(`both builds match the SDM flag definitions on consistent operations (seed ${SEED})`, async () => {
    const { x, s } = await loadCore();
    const next = rng(SEED ^ 0x5bd1e995);
    for (let i = 0; i < CASES; i++) {
      const op = 1 + ((next() >>> 0) % 7); // ADD ADC SUB SBB LOGIC INC DEC
      const size = SIZES[(next() >>> 0) % 3], m = mask(size) | 0;
      const a = word(next) & m, b = op === 6 || op === 7 ? 1 : word(next) & m;
      const carry = op === 2 || op === 4 ? 1 : 0; // the core records ADC/SBB only with CF = 1
      const eflags = word(next) & ~0x8028 | 2;
      const ref = referenceFlags(op, size, a, b, carry, eflags & 1);
      // What the core records for the operation (interpreter.ts alu(), incDec, logic ops).
      ts.setLazy(s, op, size, op === 5 ? 0 : a, op === 5 ? 0 : b, ref.res & m);
      s[Reg.EFLAGS] = eflags;
      const expected = (eflags & ~Flag.ARITH) | 2 | ref.flags;
      const care = ref.afDefined ? -1 : ~Flag.AF;
      const at = `seed ${SEED}, case ${i}: op ${op} size ${size} a ${a} b ${b}`;
      same(ts.lazyEflags(s) & care, expected & care, `tsc build, ${at}`);
      same(x.eflags() & care, expected & care, `asc build, ${at}`);
      for (let c = 0; c < 16; c++) {
        same(ts.lazyCond(s, c), referenceCond(c, expected), `tsc build, ${at}, cond ${c}`);
        same(x.cond(c) !== 0, referenceCond(c, expected), `asc build, ${at}, cond ${c}`);
      }
    }
  });

  it(`writeEflags leaves the same state words (seed ${SEED})`, async () => {
    const { x, s } = await loadCore();
    const next = rng(SEED + 1);
    for (let i = 0; i < 1000; i++) {
      const v = word(next);
      x.setEflags(v);
      const wasm = [s[Reg.EFLAGS], s[Reg.LAZY_OP]];
      ts.writeEflags(s, v);
      expect(wasm, `seed ${SEED}, value ${v}`).toEqual([s[Reg.EFLAGS], s[Reg.LAZY_OP]]);
      expect(s[Reg.EFLAGS] & 0x802a).toBe(2); // SDM 1 3.4.3: bit 1 set, bits 3, 5, 15 clear
    }
  });
});

describe("portable slice: 64-bit multiply and divide, tsc build vs asc build vs BigInt", () => {
  it(`mul32 / imul32 (seed ${SEED})`, async () => {
    const { x } = await loadCore();
    const next = rng(SEED + 2);
    for (let i = 0; i < CASES; i++) {
      const a = word(next), b = word(next);
      const u = BigInt(a >>> 0) * BigInt(b >>> 0), sgn = BigInt(a) * BigInt(b);
      const at = `seed ${SEED}, a ${a} b ${b}`;
      arith.mul32(a, b);
      x.mul(a, b);
      const want = [Number(BigInt.asIntN(32, u)), Number(BigInt.asIntN(32, u >> 32n))];
      same([arith.wide.lo, arith.wide.hi], want, `tsc build, ${at}`);
      same([x.wideLo(), x.wideHi()], want, `asc build, ${at}`);
      arith.imul32(a, b);
      x.imul(a, b);
      const wantS = [Number(BigInt.asIntN(32, sgn)), Number(BigInt.asIntN(32, sgn >> 32n))];
      same([arith.wide.lo, arith.wide.hi], wantS, `tsc build, ${at}`);
      same([x.wideLo(), x.wideHi()], wantS, `asc build, ${at}`);
    }
  });

  it(`divu64 for hi < d (seed ${SEED})`, async () => {
    const { x } = await loadCore();
    const next = rng(SEED + 3);
    for (let i = 0; i < CASES; i++) {
      let d = word(next) >>> 0;
      if (d === 0) d = 1;
      const hi = ((next() >>> 0) % d) | 0, lo = word(next);
      const n = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
      const want = [Number(BigInt.asIntN(32, n / BigInt(d))), Number(BigInt.asIntN(32, n % BigInt(d)))];
      const at = `seed ${SEED}, hi ${hi} lo ${lo} d ${d}`;
      // The TS engine passes unsigned numbers (interpreter.ts div/idiv); the wasm build int32s.
      arith.divu64(hi >>> 0, lo >>> 0, d);
      same([arith.wide.q, arith.wide.r], want, `tsc build, ${at}`);
      x.divu(hi, lo, d | 0);
      same([x.wideQ(), x.wideR()], want, `asc build, ${at}`);
    }
  });
});

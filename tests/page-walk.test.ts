// core/pageWalk.ts is every page walk. The hot loop calls it itself on a data-TLB miss (a
// plain walk), which must be the general path's walk exactly, or decline with nothing
// changed. The oracle is the general path (CoreMemory.tryWalk, whose walks
// tests/guests-vmxlab.test.ts checks against QEMU on the same guests): a machine with a
// walk observer attached makes every walk there, so each run below is made twice, with the
// loop walking and without, and the whole flat state (registers, counters, both TLB
// models, decode cache, RAM) is compared byte for byte.
//
// 1. Paging guests, on both engines: at checkpoints and, for their first steps, after
//    every instruction (vmm/lockstep.ts).
// 2. Seeded breakage from bench-kernel's user-mode load of an unmapped page: each trial
//    changes the same things in two copies of the machine (PDE and PTE bits, frames beyond
//    RAM or in the code's page, CR0.WP, CR4.PSE/PGE, watched page tables, TLB entries),
//    runs both some steps and compares. A failure prints the seed; VMXLAB_SEED=n replays it.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { Machine } from "../dist/index.js";
import { Reg } from "../src/state/layout.js";
import { expectTwinWays } from "./fixtures/twin-runs.js";

const GUESTS = path.resolve(__dirname, "../guests");
const ENGINES = ["ts", "wasm"] as const;
const CASES: readonly (readonly [string, number])[] = [
  ["bench-kernel.img", 2_000_000], ["bench-mem-paged.img", 1_000_000], ["demand.elf", 0], ["pfbench.elf", 2_000_000],
  ["paging.elf", 0], ["exceptions.elf", 0],
];
const CHECKPOINT = 200_000;
const STEPPED = 30_000;

/** A machine whose page walks the hot loop makes itself (`loopWalks`), or all in the general path. */
function machine(engine: "ts" | "wasm", guest: string, loopWalks: boolean, ramBytes = 32 << 20) {
  const m = new Machine({ engine, ramBytes });
  // A walk observer that listens to nothing: only the host can call one, so the loop leaves its walks to the host.
  if (!loopWalks) m.cpu.walkObserver = { pageWalk() {} };
  const serial: number[] = [];
  m.onSerial = (b: number) => serial.push(b);
  m.loadImage(new Uint8Array(fs.readFileSync(path.join(GUESTS, guest))), { name: guest });
  // Walks the general path made.
  let general = 0;
  const cpu = m.cpu as unknown as { tryWalk: (...a: unknown[]) => number };
  const walk = cpu.tryWalk.bind(cpu);
  cpu.tryWalk = (...a: unknown[]) => { general++; return walk(...a); };
  return { m, serial, general: () => general };
}

describe.each(ENGINES)("page walks in the hot loop, engine %s", (engine) => {
  it.each(CASES.map(([g, n]) => [g, n] as const))("%s: the same state at every checkpoint as the general path", (guest, steps) => {
    const [loop] = expectTwinWays((walks) => machine(engine, guest, walks), steps, CHECKPOINT, STEPPED, ["loop walks", "general path"]);
    expect(loop.m.cpu.pageWalks).toBeGreaterThan(0);
  });

  it("walks in the loop where it applies: bench-kernel's demand faults and refills leave almost no walk to the host", () => {
    const loop = machine(engine, "bench-kernel.img", true), general = machine(engine, "bench-kernel.img", false);
    loop.m.run({ maxInstructions: 1_000_000 });
    general.m.run({ maxInstructions: 1_000_000 });
    // Per page of the user loop, by hand (guests/bench-kernel.asm): the load's walk that
    // faults, its retry's and the store's that sets D: about 3 walks per 45 instructions.
    expect(general.general()).toBeGreaterThan(50_000);
    expect(general.general()).toBe(general.m.cpu.pageWalks);
    // What the host still walks: instruction fetches and the boot before paging's loop.
    expect(loop.general()).toBeLessThan(loop.m.cpu.pageWalks / 100);
  });
});

const IMAGE = "bench-kernel.img";
const SEED = Number(process.env.VMXLAB_SEED ?? 20261207);
const TRIALS = 120;
/** Steps after the change: the load, its #PF and handler, the retry, the store, the system call. */
const STEPS = 120;
/** bench-kernel's window of user pages (guests/bench-kernel.asm WINDOW) and its PDE index. */
const WINDOW = 0x800000;

/** xorshift32, seeded: the same trials on every run. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
}

type Change = (m: Machine) => void;


/** Random changes to what the next walks read; every choice is drawn here, once, so both machines get the same. */
function changes(next: () => number, ramBytes: number): Change[] {
  const out: Change[] = [];
  const n = 1 + (next() % 3);
  for (let i = 0; i < n; i++) {
    const what = next() % 9, choice = next(), page = [0, 0, 1, 2][next() % 4];
    const pick = <T>(xs: readonly T[]): T => xs[choice % xs.length];
    out.push((m) => {
      const s = m.cpu.s, v = m.cpu.view;
      const pd = s[Reg.CR3] & ~0xfff, pdeAt = pd + (WINDOW >>> 22) * 4;
      const pt = v.getUint32(pdeAt, true) & ~0xfff;
      const lin = (s[Reg.EDI] + page * 4096) >>> 0;
      const pteAt = pt + ((lin >>> 12) & 0x3ff) * 4;
      // An earlier change may have moved the page table beyond RAM: its entries are then out of reach.
      if ((what === 0 || what === 4 || what === 6) && pt > ramBytes - 4096) return;
      switch (what) {
        case 0: v.setUint32(pteAt, v.getUint32(pteAt, true) ^ pick([1, 2, 4, 0x20, 0x40, 0x100]), true); break; // P, R/W, U/S, A, D, G
        case 1: v.setUint32(pdeAt, v.getUint32(pdeAt, true) ^ pick([1, 2, 4, 0x20, 0x80]), true); break;           // P, R/W, U/S, A, PS
        case 2: s[Reg.CR4] ^= pick([0x10, 0x80]); break;                                                          // PSE, PGE
        case 3: s[Reg.CR0] ^= 0x10000; break;                                                                     // WP
        case 4: // the frame: beyond RAM, the last page of RAM, the code's page, the page table itself
          v.setUint32(pteAt, (pick([ramBytes + 0x100000, ramBytes - 4096, 0x100000, pt]) & ~0xfff) | 7, true); break;
        case 5: v.setUint32(pdeAt, ((ramBytes + 0x200000) & ~0xfff) | 7, true); break;                           // a page table beyond RAM
        // The user loop's accesses through EDI onto its own code, whose page the guest never wrote (D clear: a walk to store).
        case 7: s[Reg.EDI] = (s[Reg.SEG_BASE + 1] + s[Reg.EIP] - pick([4, 2, 0x10, 0x7fc])) | 0; break;
        case 6: m.cpu.watchWrites(pick([pd, pt]), 4096, { written: () => true }); break;                           // A/D updates to a watched page (which asks to stop)
        default: m.cpu.invalidatePage(pick([lin, pd, pt, s[Reg.ESP] >>> 0])); break;                              // a TLB miss
      }
    });
  }
  return out;
}

describe.each(ENGINES)("page walks in the hot loop against the general path, on broken paging structures, engine %s", (engine) => {
  it(`${TRIALS} seeded trials (seed ${SEED}) from bench-kernel's load of an unmapped page end in the same state both ways`, () => {
    // 12 MiB holds the guest (its window is at 8 MiB) and keeps each restore short.
    const ramBytes = 12 << 20;
    const start = machine(engine, IMAGE, true, ramBytes).m;
    // The user loop's first load (8B 07: mov eax, [edi]) at CPL 3, a few rounds in.
    const s = start.cpu.s;
    start.run({ maxInstructions: 100_000 });
    for (let i = 0; i < 1_000_000 && !(s[Reg.CPL] === 3 && start.cpu.ram[(s[Reg.SEG_BASE + 1] + s[Reg.EIP]) >>> 0] === 0x8b); i++) start.run({ maxInstructions: 1 });
    expect(start.cpu.ram[(s[Reg.SEG_BASE + 1] + s[Reg.EIP]) >>> 0]).toBe(0x8b);
    const snap = Uint8Array.from(start.cpu.flat);
    const loop = machine(engine, IMAGE, true, ramBytes), general = machine(engine, IMAGE, false, ramBytes);
    const next = rng(SEED);
    let walkedHere = 0, leftToHost = 0;
    for (let t = 0; t < TRIALS; t++) {
      const change = changes(next, ramBytes);
      const before = { walks: 0, general: loop.general() };
      const results = [loop, general].map((x, k) => {
        x.m.cpu.flat.set(snap);
        for (const c of change) c(x.m);
        if (k === 0) before.walks = x.m.cpu.pageWalks;
        return x.m.run({ maxInstructions: STEPS });
      });
      const where = `seed ${SEED}, trial ${t}`;
      expect(results[0], where).toEqual(results[1]);
      expect(loop.m.cpu.accounting.cycles(), where).toBe(general.m.cpu.accounting.cycles());
      expect(Buffer.compare(Buffer.from(loop.m.cpu.flat), Buffer.from(general.m.cpu.flat)), where).toBe(0);
      const hostWalks = loop.general() - before.general;
      if (loop.m.cpu.pageWalks - before.walks > hostWalks) walkedHere++;
      if (hostWalks > 0) leftToHost++;
    }
    // Both happened: trials whose walks the loop made, and trials with walks it left to the host.
    expect(walkedHere, `seed ${SEED}`).toBeGreaterThan(10);
    expect(leftToHost, `seed ${SEED}`).toBeGreaterThan(10);
  });
});

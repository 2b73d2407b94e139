// core/protectedEvent.ts must decline, with nothing changed, whatever it does not do
// exactly as the general path in cpu/ does. The guests in tests/protected-event.test.ts
// only take well-formed events; here a seeded generator breaks them. From bench-kernel's
// first INT 0x80 in ring 3, and from its handler's IRETD, each trial changes the same
// things in two copies of the machine (the IDT gate, the code and stack descriptors, the
// TSS's ring-0 stack, the IRET frame, the data-TLB entries of the tables and the stack),
// runs both a few steps, one with the portable path and one without it, and compares the
// whole flat state. The oracle is the general path, which tests/guests-vmxlab.test.ts
// checks against QEMU. A failure prints the seed; VMXLAB_SEED=n replays it.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { Machine } from "../dist/index.js";
import { Reg } from "../src/state/layout.js";

const IMAGE = new Uint8Array(fs.readFileSync(path.resolve(__dirname, "../guests/bench-kernel.img")));
const SEED = Number(process.env.VMXLAB_SEED ?? 20261207);
const TRIALS = 60;
/** Steps after the perturbation: the event, the handler, its IRETD and some of what follows. */
const STEPS = 40;

/** xorshift32, seeded: the same trials on every run. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
}

function machine(fast: boolean, engine: "ts" | "wasm" = "ts"): Machine {
  // 12 MiB holds the guest (its window of pages is at 8 MiB) and keeps each restore short.
  const m = new Machine({ engine, ramBytes: 12 << 20, blocks: false });
  m.cpu.fastEvents = fast;
  m.loadImage(IMAGE, { name: "bench-kernel.img" });
  return m;
}

/** Runs `m` to the first instruction at CPL `cpl` whose first byte is `opcode` (0xcd INT, 0xcf IRET). */
function runTo(m: Machine, cpl: number, opcode: number): void {
  const s = m.cpu.s;
  for (let i = 0; i < 5_000_000; i++) {
    const lin = (s[Reg.SEG_BASE + 1] + s[Reg.EIP]) >>> 0; // 0-4 MiB is identity-mapped
    if (s[Reg.CPL] === cpl && m.cpu.ram[lin] === opcode) return;
    m.run({ maxInstructions: s[Reg.CPL] === 0 && cpl === 3 ? 1000 : 1 });
  }
  throw new Error("bench-kernel never reached the instruction");
}

/** A snapshot of the flat state at the instruction, and where its tables live. */
function snapshotAt(cpl: number, opcode: number) {
  const m = machine(true);
  if (cpl === 0) runTo(m, 3, 0xcd);
  runTo(m, cpl, opcode);
  return Uint8Array.from(m.cpu.flat);
}

type Change = (m: Machine) => void;

/** One random change to what the event or the IRET reads; applied alike to both machines. */
function changes(next: () => number, iret: boolean): Change[] {
  const out: Change[] = [];
  const n = 1 + (next() % 3);
  for (let i = 0; i < n; i++) {
    // Every choice is drawn here, once, so that both machines get the same change.
    const what = next() % 8;
    const bit = 1 << (next() % 8), word = next(), choice = next(), slot = next() % 5;
    const pick = <T>(xs: readonly T[]): T => xs[choice % xs.length];
    out.push((m) => {
      const s = m.cpu.s, v = m.cpu.view;
      const gdt = s[Reg.GDTR_BASE] >>> 0, idt = s[Reg.IDTR_BASE] >>> 0, tss = s[Reg.TR_BASE] >>> 0;
      switch (what) {
        case 0: m.cpu.ram[idt + 0x80 * 8 + 5] ^= bit; break;                           // gate type, DPL, P
        case 1: m.cpu.ram[gdt + pick([0x08, 0x10, 0x18, 0x20]) + 5] ^= bit; break;   // access byte
        case 2: m.cpu.ram[gdt + pick([0x08, 0x10, 0x18, 0x20]) + 6] ^= bit & 0xf0; break; // G, D/B
        case 3: v.setUint32(tss + 4, pick([word, (v.getUint32(tss + 4, true) & ~0xfff) + (word & 0x1f), 0x00c00010, 8]), true); break; // ESP0
        case 4: v.setUint16(tss + 8, pick([0x10, 0x13, 0x08, 0x20, 0x23, 0x00, 0x30]), true); break; // SS0
        case 5: { // the IRET frame (or the user stack below an INT's frame)
          const esp = s[Reg.ESP] >>> 0;
          const at = iret ? esp + 4 * slot : esp - 4 * (1 + slot);
          if (iret && (at - esp) === 4) v.setUint16(at, pick([0x1b, 0x08, 0x18, 0x23, 0x19, 0x2b]), true);
          else if (iret && (at - esp) === 8) v.setUint32(at, v.getUint32(at, true) ^ pick([0x200, 0x3000, 0x4000, 0x100, 0x10000, 0x20000, 0x40000, 0x1]), true);
          else if (iret && (at - esp) === 16) v.setUint16(at, pick([0x23, 0x20, 0x10, 0x1b, 0x21]), true);
          else v.setUint32(at, word, true);
          break;
        }
        case 6: m.cpu.invalidatePage(pick([gdt, idt, tss, s[Reg.ESP] >>> 0, (s[Reg.ESP] - 4) >>> 0])); break; // a TLB miss
        default: s[Reg.ESP] = pick([s[Reg.ESP], (s[Reg.ESP] & ~0xfff) + (word & 0x1c), (s[Reg.ESP] | 0xfff) - 3]); break;
      }
    });
  }
  return out;
}

// Both engines: the portable path is compiled twice, and asc's integer types (u32 against
// i32 comparisons) are where the two builds could differ.
describe.each(["ts", "wasm"] as const)("protected-mode events, portable path against the general path, on broken tables and frames, engine %s", (engine) => {
  for (const [name, cpl, opcode] of [["INT 0x80 from ring 3", 3, 0xcd], ["the handler's IRETD to ring 3", 0, 0xcf]] as const) {
    it(`${name}: ${TRIALS} seeded trials (seed ${SEED}) end in the same state both ways`, () => {
      const snap = snapshotAt(cpl, opcode);
      // The general path is cpu/'s TypeScript on either engine: the oracle stays one.
      const fast = machine(true, engine), general = machine(false);
      // Descriptors the general path reads: with the portable path on, none unless it declined.
      let generalReads = 0;
      const cpu = fast.cpu as unknown as { readDescriptor: (...a: unknown[]) => void };
      const read = cpu.readDescriptor.bind(cpu);
      cpu.readDescriptor = (...a: unknown[]) => { generalReads++; read(...a); };
      const next = rng(SEED + cpl);
      let declined = 0, taken = 0;
      for (let t = 0; t < TRIALS; t++) {
        const change = changes(next, opcode === 0xcf);
        generalReads = 0;
        const results = [fast, general].map((m) => {
          m.cpu.flat.set(snap);
          for (const c of change) c(m);
          return m.run({ maxInstructions: STEPS });
        });
        const where = `seed ${SEED}, trial ${t}`;
        expect(results[0], where).toEqual(results[1]);
        expect(fast.cpu.accounting.cycles(), where).toBe(general.cpu.accounting.cycles());
        expect(Buffer.compare(Buffer.from(fast.cpu.flat), Buffer.from(general.cpu.flat)), where).toBe(0);
        if (generalReads > 0) declined++; else taken++;
      }
      // Both kinds of trial happened: the portable path took every event of some, and
      // declined something (to a fault, or to the general path's own success) in others.
      expect(taken, `seed ${SEED}`).toBeGreaterThan(5);
      expect(declined, `seed ${SEED}`).toBeGreaterThan(5);
    });
  }
});

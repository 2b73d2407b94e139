// Cycle accounting: profiles are checked, the TSC is the cycle count, and cycles are the
// event counts times the profile's prices. Expected values are hand calculations written
// beside each test, or come from QEMU executing the same guest (the golden test).
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Machine } from "../dist/index.js";
import { collectReport } from "../dist/vmm/report.js";
import { checkProfile, parseProfile, ProfileError, type Profile } from "../dist/cost/profile.js";
import { PRICED_EVENTS } from "../dist/cost/event.js";
import { builtinProfileNames, loadProfile } from "../dist/cost/profiles.js";
// From src/: the test transformer keeps const enums (Dw, Info) as objects there.
import { decode, Dw, Info, Rep } from "../src/isa/decode.js";
import { OPCODES } from "../src/isa/opcodes.js";
import { planLoad } from "../dist/vmm/loader.js";
// @ts-ignore -- plain ESM JavaScript without type declarations
import { available as qemuAvailable, traceQemu } from "../tools/peers/qemu.mjs";

/** A profile whose prices are distinct primes, so a count in the wrong event changes every total. */
const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107];
function primeProfile(): Profile {
  const events: Record<string, { cycles: number; source: string }> = {};
  PRICED_EVENTS.forEach((e, i) => { events[e] = { cycles: PRIMES[i], source: "test: distinct primes" }; });
  return checkProfile({ schema: "vmxlab.profile/2", name: "primes", cpu: "none", model: "test", clockMHz: 1000,
    apicTimerClock: { hz: 1000000000, divisor: 7, source: "test: one tick per 7 cycles" }, events }, "primes");
}
const P = primeProfile().events;
const price = (e: string) => P[e].cycles;

/** Runs raw 32-bit code loaded flat at 1 MiB (flat protected mode) until HLT. */
function runCode(bytes: number[], profile: Profile | string = primeProfile()) {
  const m = new Machine({ ramBytes: 4 << 20, profile });
  m.loadImage(Uint8Array.from(bytes), { format: "flat" });
  const r = m.run({ maxInstructions: 10_000 });
  expect(r.reason).toBe("halt");
  return { m, report: collectReport(m) };
}

describe("cost profiles", () => {
  it("every shipped profile passes the checks, and there are at least two", () => {
    const names = builtinProfileNames();
    expect(names.length).toBeGreaterThanOrEqual(2);
    for (const n of names) {
      const p = loadProfile(n);
      expect(Object.keys(p.events).sort()).toEqual([...PRICED_EVENTS].sort());
    }
  });

  const base = () => JSON.parse(JSON.stringify(primeProfile()));
  const cases: [string, (p: any) => void, RegExp][] = [
    ["an unknown event", (p) => { p.events["insn.fpu"] = { cycles: 1, source: "x" }; }, /unknown event "insn.fpu"/],
    ["a negative cost", (p) => { p.events["tlb.miss"].cycles = -1; }, /"tlb.miss": cycles must be a non-negative integer/],
    ["a fractional cost", (p) => { p.events["insn.alu"].cycles = 0.33; }, /"insn.alu": cycles must be a non-negative integer/],
    ["a cost given as text", (p) => { p.events["insn.alu"].cycles = "1"; }, /"insn.alu": cycles must be a non-negative integer/],
    ["a missing source", (p) => { delete p.events["exception"].source; }, /event "exception" has no source/],
    ["an empty source", (p) => { p.events["exception"].source = " "; }, /event "exception" has no source/],
    ["a missing event", (p) => { delete p.events["io.access"]; }, /event "io.access" is missing/],
    ["a wrong schema", (p) => { p.schema = "vmxlab.profile/9"; }, /"schema" must be/],
    ["a missing clock", (p) => { delete p.clockMHz; }, /"clockMHz" must be a positive integer/],
    ["a missing APIC timer clock", (p) => { delete p.apicTimerClock; }, /"apicTimerClock" must be an object/],
    ["a zero APIC timer divisor", (p) => { p.apicTimerClock.divisor = 0; }, /"apicTimerClock.divisor" must be a positive integer/],
    ["a fractional APIC timer clock", (p) => { p.apicTimerClock.hz = 266666666.67; }, /"apicTimerClock.hz" must be a positive integer/],
    ["an APIC timer clock without a source", (p) => { delete p.apicTimerClock.source; }, /"apicTimerClock" has no source/],
  ];
  for (const [what, spoil, message] of cases) {
    it(`rejects ${what} with one line naming it`, () => {
      const p = base();
      spoil(p);
      let err: unknown;
      try { parseProfile(JSON.stringify(p), "bad.json"); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ProfileError);
      expect((err as Error).message).toMatch(/^bad\.json: /);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain("\n");
    });
  }

  it("the report names the events a profile marks UNSOURCED", () => {
    const p = base();
    p.events["task.switch"] = { cycles: 0, source: "UNSOURCED: no measurement found" };
    const { report } = runCode([0xf4], checkProfile(p, "p"));
    expect(report.cycles.unsourced).toEqual(["task.switch"]);
    expect(runCode([0xf4]).report.cycles.unsourced).toEqual([]);
  });

  it("rejects text that is not JSON", () => {
    expect(() => parseProfile("{ nope", "x.json")).toThrow(/^x\.json: not valid JSON/);
  });

  it("the CLI answers a bad profile with one line and status 2", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-profile-"));
    const bad = base();
    bad.events["walk.reference"].cycles = -4;
    const file = path.join(dir, "bad.json");
    fs.writeFileSync(file, JSON.stringify(bad));
    for (const [arg, want] of [[file, /walk\.reference/], ["no-such-cpu", /unknown profile "no-such-cpu"/]] as const) {
      const r = spawnSync(process.execPath, ["dist/cli/main.js", "run", "guests/hello.elf", "--profile", arg], { encoding: "utf8" });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    }
    fs.rmSync(dir, { recursive: true });
  });
});

describe("cycles from events (hand calculations)", () => {
  it("prices a loop by class, memory operand and count", () => {
    const { report } = runCode([
      0xb9, 10, 0, 0, 0, //        mov ecx, 10          mov
      0xbb, 0, 0, 0x20, 0, //      mov ebx, 0x200000    mov
      0x03, 0x03, //          L:   add eax, [ebx]       alu + memory operand
      0x49, //                     dec ecx              alu
      0x75, 0xfb, //               jnz L                branch
      0xf4, //                     hlt                  system
    ]);
    // 2 movs, 10 x (add with a memory operand, dec, jnz), then HLT.
    const expected = 2 * price("insn.mov") + 10 * (price("insn.alu") + price("mem.operand")) +
      10 * price("insn.alu") + 10 * price("insn.branch") + price("insn.system");
    expect(report.cycles.total).toBe(expected);
    expect(report.instructionsByClass).toMatchObject({ mov: 2, alu: 20, branch: 10, system: 1, stack: 0 });
    expect(report.cycles.byEvent.find((e) => e.event === "mem.operand")?.count).toBe(10);
  });

  it("RDTSC returns the cycle count: the difference of two reads is the code between them", () => {
    const code = [
      0x0f, 0x31, //   rdtsc          system (T0 is read before it retires)
      0x89, 0xc6, //   mov esi, eax   mov
      0x90, 0x90, 0x90, // 3 x nop    nop
      0x0f, 0x31, //   rdtsc          T1 = T0 + system + mov + 3 nop
      0x29, 0xf0, //   sub eax, esi
      0xf4,
    ];
    for (const profile of [primeProfile(), ...builtinProfileNames().map((n) => loadProfile(n))]) {
      const { m } = runCode(code, profile);
      const e = profile.events;
      expect(m.cpu.s[0]).toBe(e["insn.system"].cycles + e["insn.mov"].cycles + 3 * e["insn.nop"].cycles);
    }
  });

  it("WRMSR IA32_TIME_STAMP_COUNTER sets the TSC; it then advances by cycles (SDM 3B 18.17)", () => {
    const { m } = runCode([
      0xb9, 0x10, 0, 0, 0, //    mov ecx, 0x10   (IA32_TIME_STAMP_COUNTER)
      0xb8, 0xe8, 0x03, 0, 0, // mov eax, 1000
      0x31, 0xd2, //             xor edx, edx
      0x0f, 0x30, //             wrmsr           TSC := 1000 at this point
      0x0f, 0x31, //             rdtsc           reads 1000 + the WRMSR's own price
      0xf4,
    ]);
    expect(m.cpu.s[0]).toBe(1000 + price("insn.serialize"));
    expect(m.cpu.s[2]).toBe(0);
  });

  it("prices port accesses and string iterations as events of their own", () => {
    const { report } = runCode([
      0x66, 0xba, 0xf8, 0x03, //   mov dx, 0x3f8        mov
      0xb0, 0x41, //               mov al, 'A'          mov
      0xee, //                     out dx, al           io + 1 port access
      0xec, //                     in al, dx            io + 1 port access
      0xb9, 3, 0, 0, 0, //         mov ecx, 3           mov
      0xbf, 0, 0, 0x20, 0, //      mov edi, 0x200000    mov
      0xf3, 0xab, //               rep stosd            string + 3 iterations
      0xf4, //                     hlt                  system
    ]);
    const expected = 4 * price("insn.mov") + 2 * (price("insn.io") + price("io.access")) +
      price("insn.string") + 3 * price("string.iteration") + price("insn.system");
    expect(report.cycles.total).toBe(expected);
  });

  it("a faulting instruction does not retire; the delivery is priced", () => {
    // IDT at 0x200000 with vector 0 (#DE) -> handler at 0x100100 that halts. DIV by zero
    // faults: its class is not counted, one exception is.
    const code = new Array(0x101).fill(0x90);
    const body = [
      0xc7, 0x05, 0x00, 0, 0x20, 0, 0x00, 0x01, 0x08, 0x00, //   mov dword [0x200000], 0x00080100      mov+mem
      0xc7, 0x05, 0x04, 0, 0x20, 0, 0x00, 0x8e, 0x10, 0x00, //   mov dword [0x200004], 0x00108E00      mov+mem
      0x66, 0xc7, 0x05, 0x00, 0x01, 0x20, 0x00, 0xff, 0x07, //   mov word [0x200100], 0x07ff           mov+mem
      0xc7, 0x05, 0x02, 0x01, 0x20, 0x00, 0x00, 0x00, 0x20, 0x00, // mov dword [0x200102], 0x200000     mov+mem
      0x0f, 0x01, 0x1d, 0x00, 0x01, 0x20, 0x00, //               lidt [0x200100]                       system+mem
      0x31, 0xc9, //                                             xor ecx, ecx                          alu
      0xf7, 0xf1, //                                             div ecx  -> #DE (does not retire)
    ];
    for (let i = 0; i < body.length; i++) code[i] = body[i];
    code[0x100] = 0xf4; //                                        handler: hlt                         system
    const { report } = runCode(code);
    expect(report.eventsByVector).toEqual({ "0": 1 });
    const expected = 4 * (price("insn.mov") + price("mem.operand")) + (price("insn.system") + price("mem.operand")) +
      price("insn.alu") + price("exception") + price("insn.system") +
      // ESP is 0 at entry, so the delivery's three pushes (EFLAGS, CS, EIP) wrap to
      // 0xFFFFFFF4-0xFFFFFFFC, beyond RAM: three mmio.access events.
      3 * price("mmio.access");
    expect(report.instructionsByClass.div).toBe(0);
    expect(report.mmio).toEqual({ accesses: 3, unclaimed: 3, byDevice: {} });
    expect(report.cycles.total).toBe(expected);
  });
});

describe("page-fault nanobenchmark (guests/pfbench.elf)", () => {
  it("measures the handler's path with RDTSC: 14 instructions per fault when instructions cost one cycle", () => {
    const m = new Machine({ ramBytes: 32 << 20, profile: "tests/fixtures/instructions-profile.json" });
    const out: number[] = [];
    m.onSerial = (b) => out.push(b);
    m.loadImage(new Uint8Array(fs.readFileSync("guests/pfbench.elf")), { name: "pfbench.elf" });
    expect(m.run({ maxInstructions: 1_000_000 }).exitCode).toBe(0);
    // pf_handler by hand: push, push, mov eax,cr2, shr, and, mov ebx,[next], or, mov [pt],
    // add [next], inc [faults], pop, pop, add esp,4, iretd = 14; the faulting read does not
    // retire, so the first pass is the second plus 14 per page. The second pass: 64 x (mov,
    // add, dec, jnz) plus mov ebx / mov edi / mov ecx and the first RDTSC = 260.
    const text = Buffer.from(out).toString("latin1");
    expect(text).toContain("pfbench: mapped pass cycles: 260\n");
    expect(text).toContain(`pfbench: faulting pass cycles: ${260 + 64 * 14}\n`);
    expect(text).toContain("pfbench: cycles per fault: 14\n");
  });
});

describe("golden report: vmxlab's priced counts equal QEMU's executed instruction stream", () => {
  /**
   * Prices QEMU's instruction stream with a profile: each executed instruction is decoded
   * from the image and priced by its table class (+ mem.operand for a ModRM/moffs memory
   * operand); each IN/OUT is one port access; a string instruction without REP is one
   * string.iteration. QEMU may log an instruction twice when it leaves a block before
   * running it (an exit request at the block's start), so consecutive repeats of one
   * address are one instruction; that also folds a REP instruction's per-element entries,
   * so REP element counts come from the guest's source (`repElements`). The guests chosen
   * take no exceptions, leave paging off and stay in ring 0: no other event occurs.
   */
  function priceQemuStream(image: string, addresses: number[], repElements: number, profile: Profile) {
    const plan = planLoad(new Uint8Array(fs.readFileSync(image)), "auto", 0x100000, 32 << 20);
    const mem = new Map<number, number>();
    for (const s of plan.segments) s.bytes.forEach((b: number, i: number) => mem.set(s.address + i, b));
    const rec = new Int32Array(8);
    const byClass: Record<string, number> = {};
    const e = profile.events;
    let memory = 0, iterations = repElements, io = 0, instructions = 0;
    let cycles = repElements * e["string.iteration"].cycles;
    for (let i = 0; i < addresses.length; i++) {
      const at = addresses[i];
      while (addresses[i + 1] === at) i++;
      decode({ byteAt: (o: number) => mem.get(at + o) ?? 0 }, true, rec, 0);
      const row = OPCODES[rec[Dw.ROW]];
      const info = rec[Dw.INFO];
      if (row.cost === "string" && ((info >> Info.REP_SHIFT) & Info.REP_MASK) === Rep.NONE) {
        iterations++; cycles += e["string.iteration"].cycles;
      }
      if (row.cost === "io") { io++; cycles += e["io.access"].cycles; }
      instructions++;
      byClass[row.cost] = (byClass[row.cost] ?? 0) + 1;
      cycles += e[`insn.${row.cost}`].cycles;
      // ModRM memory forms and moffs (A0-A3) have no REGFORM bit.
      if (row.memoryOperand && (info & Info.REGFORM) === 0) { memory++; cycles += e["mem.operand"].cycles; }
    }
    return { cycles, byClass, memory, iterations, io, instructions };
  }

  // [image, cmdline, REP string elements the run performs, from the guest's source]
  const guests: [string, string | undefined, number][] = [
    ["guests/hello.elf", undefined, 0], //              hello.asm has no REP
    ["guests/compute.elf", "iterations=1", 65536 / 4], // one sieve pass: rep stosd of SIEVE_N/4 dwords
  ];
  for (const [image, append, repElements] of guests) {
    it.skipIf(!qemuAvailable())(`${image}${append ? ` ${append}` : ""}`, async () => {
      const { run, addresses } = await traceQemu(image, { append, timeoutMs: 120_000 });
      expect(run.exitStatus).toBe(0);
      for (const name of builtinProfileNames()) {
        const profile = loadProfile(name);
        const m = new Machine({ ramBytes: 32 << 20, profile });
        // The same command line QEMU builds: the kernel path, a space, the append text.
        m.loadImage(new Uint8Array(fs.readFileSync(image)), { name: image, append: append ?? "" });
        expect(m.run({ maxInstructions: 50_000_000 }).reason).toBe("debug-exit");
        const report = collectReport(m);
        const q = priceQemuStream(image, addresses, repElements, profile);
        // The debug-exit OUT ends both runs; QEMU logs it, vmxlab retires it.
        expect(report.instructions).toBe(q.instructions);
        for (const [c, n] of Object.entries(report.instructionsByClass)) expect([c, n]).toEqual([c, q.byClass[c] ?? 0]);
        const count = (ev: string) => report.cycles.byEvent.find((x) => x.event === ev)?.count;
        expect(count("mem.operand")).toBe(q.memory);
        expect(count("string.iteration")).toBe(q.iterations);
        expect(count("io.access")).toBe(q.io);
        expect(report.cycles.total).toBe(q.cycles);
      }
    }, 180_000);
  }
});

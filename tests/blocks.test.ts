// Block compilation (core/blockCompiler.ts: JavaScript blocks, for both engines; the wasm
// engine's are loops only) must change nothing but speed. The oracle is each engine's own
// loop with blocks off, itself checked against the host CPU (tests/oracle) and QEMU (guest
// tests); lockstep of ts (blocks on) against wasm (blocks off: the CLI's side B) runs every
// shipped guest in tests/lockstep.test.ts as well.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Machine } from "../dist/index.js";
import { SnippetRunner } from "../dist/vmm/snippet.js";

const GUESTS = path.resolve(__dirname, "../guests");

const ENGINES = ["ts", "wasm"] as const;
type Engine = (typeof ENGINES)[number];

function run(engine: Engine, image: Uint8Array, blocks: boolean, maxInstructions: number, format?: "flat") {
  const m = new Machine({ engine, blocks, ramBytes: 32 << 20 });
  m.loadImage(image, format ? { format } : {});
  const r = m.run({ maxInstructions });
  return { m, r };
}

describe.each(ENGINES)("compiled blocks, engine %s", (engine) => {
  // Guests whose hot loops are straight-line fast instructions closed by a branch back:
  // register-only, flat memory, paged memory, and user code between faults and system calls.
  for (const [guest, steps] of [["bench-alu.img", 3_000_000], ["bench-mem.img", 3_000_000], ["bench-mem-paged.img", 3_000_000], ["bench-kernel.img", 3_000_000]] as const) {
    it(`${guest}: the whole flat state after ${steps.toLocaleString("en-US")} steps is the interpreter's, byte for byte`, () => {
      const image = new Uint8Array(fs.readFileSync(path.join(GUESTS, guest)));
      const on = run(engine, image, true, steps), off = run(engine, image, false, steps);
      expect(on.m.cpu.blockCache!.compiled).toBeGreaterThan(0); // blocks did run
      expect(off.m.cpu.blockCache).toBeNull();
      expect(on.r).toEqual(off.r);
      expect(on.m.cpu.accounting.cycles()).toBe(off.m.cpu.accounting.cycles());
      // Registers, lazy flags, segment caches, decode cache, retire counters, TLB models and RAM.
      expect(Buffer.compare(Buffer.from(new Uint8Array(on.m.cpu.flat)), Buffer.from(new Uint8Array(off.m.cpu.flat)))).toBe(0);
    });
  }

  it("a block whose code is rewritten is not run again: a loop patched between two passes", () => {
    // Loaded flat at 1 MiB (0x100000), 32-bit flat protected mode (ndisasm -b 32):
    //   100000  BB 02 00 00 00      mov ebx, 2
    //   100005  31 C0               xor eax, eax
    //   100007  B9 32 00 00 00      mov ecx, 50           ; each pass
    //   10000C  05 01 00 00 00      add eax, 1            ; the loop; its immediate is at 10000D
    //   100011  49                  dec ecx
    //   100012  75 F8               jnz 0x10000C
    //   100014  FF 05 0D 00 10 00   inc dword [0x10000D]  ; after the first pass: add eax, 2
    //   10001A  4B                  dec ebx
    //   10001B  75 EA               jnz 0x100007
    //   10001D  F4                  hlt
    // EAX = 50 * 1 + 50 * 2 = 150 (by hand). The first pass compiles the loop; a block kept
    // across the patch would add 1 in the second pass too and end with 100.
    const code = Uint8Array.from([0xbb, 0x02, 0x00, 0x00, 0x00, 0x31, 0xc0, 0xb9, 0x32, 0x00, 0x00, 0x00,
      0x05, 0x01, 0x00, 0x00, 0x00, 0x49, 0x75, 0xf8, 0xff, 0x05, 0x0d, 0x00, 0x10, 0x00, 0x4b, 0x75, 0xea, 0xf4]);
    const on = run(engine, code, true, 100_000, "flat");
    expect(on.r.reason).toBe("halt");
    expect(on.m.cpu.s[0]).toBe(150);
    expect(on.m.cpu.blockCache!.compiled).toBeGreaterThanOrEqual(2); // compiled in each pass
    const off = run(engine, code, false, 100_000, "flat");
    expect(Buffer.compare(Buffer.from(new Uint8Array(on.m.cpu.flat)), Buffer.from(new Uint8Array(off.m.cpu.flat)))).toBe(0);
  });

  it("every kind a block may hold, a branch out of its middle and an operand off the flat path: the interpreter's end state", () => {
    // Loaded flat at 1 MiB, 32-bit flat protected mode (nasm; ndisasm -b 32 -o 0x100000):
    //   mov ebx, 0x200000 / mov ecx, 3000 / mov esi, 0x12345678 / mov edi, 7 / xor eax, eax / mov edx, 1
    //   top: add eax, esi / adc edx, 0x11 / sbb edi, eax / rol esi, 5 / ror edi, 3 / rcl edx, 3 /
    //     rcr edi, 2 / sar eax, 2 / shr esi, 0 (C1 EE 00) / shl edi, 33 (C1 E7 21: count masked to 1) /
    //     lea ebp, [esi+edi*4+0x10] / mov [ebx+ecx*4+0x1000], eax / mov ebp, [ebx+ecx*4+0x1004] / add [ebx], edx /
    //     sub edx, [ebx+4] / cmp [ebx], eax / cmp eax, [ebx] / movzx ebp, byte [ebx+1] /
    //     mov dword [ebx+8], 0x55aa / mov byte [ebx+12], 0x7f / inc dword [ebx+16] / dec dword [ebx+20] /
    //     inc edi / dec esi / mov ebp, eax / xor eax, edx / and esi, 0xfffff7ff / or edi, ebp /
    //     and ebp, 3 / jz skip / add esi, 9 / skip: dec ecx / jnz top
    //   mov ecx, 200 / again: add eax, ecx / mov edx, [0x3000000] / inc dword [ebx+24] / xor edx, eax /
    //     dec ecx / jnz again / hlt
    // Both loops become loop blocks; the load from past the end of the 32 MiB of RAM is off
    // the flat path, so that block leaves before it on every turn and the loop runs it.
    const code = Uint8Array.from(Buffer.from("bb00002000b9b80b0000be78563412bf0700000031c0ba0100000001f083d21119c7c1c605c1cf03c1d203c1df02c1f802c1ee00c1e721" +
      "8d6cbe1089848b001000008bac8b0410000001132b530439033b030fb66b01c74308aa550000c6430c7fff4310ff4b14474e89c531d081" +
      "e6fff7ffff09ef83e503740383c60949759bb9c800000001c88b1500000003ff431831c24975f0f4", "hex"));
    const on = run(engine, code, true, 1_000_000, "flat"), off = run(engine, code, false, 1_000_000, "flat");
    expect(on.r.reason).toBe("halt");
    expect(on.m.cpu.blockCache!.compiled).toBeGreaterThanOrEqual(2); // the two loops at least
    // By hand: 3000 turns of inc/dec dword, 200 of inc dword [ebx+24].
    const word = (m: Machine, a: number) => new DataView(m.cpu.ram.buffer, m.cpu.ram.byteOffset).getInt32(a, true);
    expect([word(on.m, 0x200010), word(on.m, 0x200014), word(on.m, 0x200018)]).toEqual([3000, -3000, 200]);
    expect(on.r).toEqual(off.r);
    expect(Buffer.compare(Buffer.from(new Uint8Array(on.m.cpu.flat)), Buffer.from(new Uint8Array(off.m.cpu.flat)))).toBe(0);
  });

  it("a loop block stops at the budget: a run cut at any step count ends where the interpreter's does", () => {
    // Odd budgets land inside a turn of bench-alu's ten-instruction loop.
    const image = new Uint8Array(fs.readFileSync(path.join(GUESTS, "bench-alu.img")));
    for (const steps of [100_003, 100_007, 250_001]) {
      const on = run(engine, image, true, steps), off = run(engine, image, false, steps);
      expect(on.r.instructions).toBe(steps);
      expect(on.m.cpu.s[8]).toBe(off.m.cpu.s[8]); // EIP
      expect(Buffer.compare(Buffer.from(new Uint8Array(on.m.cpu.flat)), Buffer.from(new Uint8Array(off.m.cpu.flat)))).toBe(0);
    }
  });

  it("vmxlab run --no-blocks: the same output, instructions and cycles as with blocks", () => {
    const cli = (...extra: string[]) => {
      const r = spawnSync(process.execPath, [path.resolve(__dirname, "../dist/cli/main.js"), "run", path.join(GUESTS, "bench-mem-paged.img"),
        "--engine", engine, "--max-instructions", "2000000", "--json", ...extra], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const j = JSON.parse(r.stdout);
      // The report: cycles by event, instructions by class, both TLBs, page walks.
      return { reason: j.reason, instructions: j.instructions, serial: j.serial, report: j.report };
    };
    const plain = cli("--no-blocks"), blocks = cli();
    expect(plain.reason).toBe("limit");
    expect(plain.report.cycles).toBeDefined();
    expect(plain.report.tlb.data.hits).toBeGreaterThan(0); // paging is on, so blocks count TLB hits too
    expect(blocks).toEqual(plain);
  });
});

describe("compiled blocks, TS engine: where a block leaves", () => {
  it("is a branch target: a loop of two blocks, the tail's reached by the head's JMP, runs in blocks", () => {
    // Loaded flat at 1 MiB, 32-bit flat protected mode (ndisasm -b 32 -o 0x100000):
    //   100000  B9 E8 03 00 00   mov ecx, 1000
    //   100005  31 C0            xor eax, eax
    //   100007  31 DB            xor ebx, ebx
    //   100009  83 C0 01         head: add eax, 1
    //   10000C  01 C3            add ebx, eax
    //   10000E  EB 04            jmp tail           ; the head's block leaves here, taken
    //   100010  F4 90 90 90      hlt / nop x3 (never reached)
    //   100014  83 C3 07         tail: add ebx, 7
    //   100017  49               dec ecx
    //   100018  75 EF            jnz head           ; the tail's block leaves here, taken
    //   10001A  F4               hlt
    // By hand: EAX = 1000, EBX = 1 + 2 + ... + 1000 + 7 * 1000 = 500500 + 7000 = 507500.
    // Only the head is ever reached by a jump the loop itself takes; the tail is reached
    // only by the head's block. Both compile after 16 arrivals, so of the 6,004 instructions
    // all but the first turns and the ends run in blocks (about 98 %); with the tail left to
    // the loop it would be about half.
    const code = Uint8Array.from([0xb9, 0xe8, 0x03, 0x00, 0x00, 0x31, 0xc0, 0x31, 0xdb, 0x83, 0xc0, 0x01, 0x01, 0xc3, 0xeb, 0x04,
      0xf4, 0x90, 0x90, 0x90, 0x83, 0xc3, 0x07, 0x49, 0x75, 0xef, 0xf4]);
    const on = run("ts", code, true, 100_000, "flat");
    let inBlocks = 0;
    const m = new Machine({ engine: "ts", blocks: true, ramBytes: 32 << 20 });
    m.loadImage(code, { format: "flat" });
    const runBlock = m.cpu.runBlock.bind(m.cpu);
    m.cpu.runBlock = (eip: number, phys: number, left: number) => { const k = runBlock(eip, phys, left); inBlocks += k; return k; };
    const r = m.run({ maxInstructions: 100_000 });
    expect(r.reason).toBe("halt");
    expect(m.cpu.s[0]).toBe(1000); // EAX
    expect(m.cpu.s[3]).toBe(507500); // EBX
    expect(m.cpu.blockCache!.compiled).toBe(2);
    expect(inBlocks / r.instructions).toBeGreaterThan(0.9);
    expect(r).toEqual(on.r);
    const off = run("ts", code, false, 100_000, "flat");
    expect(off.r).toEqual(r);
    expect(Buffer.compare(Buffer.from(new Uint8Array(m.cpu.flat)), Buffer.from(new Uint8Array(off.m.cpu.flat)))).toBe(0);
  });
});

describe("compiled blocks, TS engine: rewritten code", () => {
  it("gets its chance at once: a write into code drops the verdict that no block starts there", () => {
    // The snippet runner (vmm/snippet.ts) runs two snippets at 0x200000, each 21 times
    // whole. The first starts with LAHF (9F), which no block holds, so the loop learns to
    // skip the block lookup there for its next 255 arrivals (core/blockSkip.ts
    // knownBlockless). The second rewrites those bytes with ALU instructions a block holds:
    //   01 D8  add eax, ebx      31 C1  xor ecx, eax      01 CA  add edx, ecx
    //   FF C0  inc eax           29 C3  sub ebx, eax
    // It compiles after 16 arrivals (blockCompiler.ts COMPILE_AFTER) only if the write
    // dropped the verdict. By hand, from EAX..EBX = 1, 2, 3, 4: EAX = 1 + 4 + 1 = 6,
    // ECX = 2 ^ 5 = 7, EDX = 3 + 7 = 10, EBX = 4 - 6 = 0xFFFFFFFE.
    const runner = new SnippetRunner({ engine: "ts", whole: true, warmRuns: 20 });
    const start = { regs: [1, 2, 3, 4, 0x31f000, 0, 0, 0], eflags: 0, data: new Uint8Array(0) };
    const first = runner.run({ ...start, code: Uint8Array.from([0x9f, 0x01, 0xd8]) });
    expect(first.status).toBe("ok");
    const cache = runner.machine.cpu.blockCache!;
    const before = cache.compiled;
    const second = runner.run({ ...start, code: Uint8Array.from([0x01, 0xd8, 0x31, 0xc1, 0x01, 0xca, 0xff, 0xc0, 0x29, 0xc3]) });
    expect([second.status, ...Array.from(second.regs.subarray(0, 4))]).toEqual(["ok", 6, 7, 10, 0xfffffffe]);
    expect(cache.compiled).toBe(before + 1);
  });
});

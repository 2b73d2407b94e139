// The hint-NOP space 0F 18-0F 1F (SDM 2B NOP: "0F 1F /0 NOP r/m"; Table A-3 marks 0F 19-0F
// 1E "Reserved-NOP" and 0F 18 /0-/3 PREFETCHh, hints that change no architectural state).
// The P6 family executes them, GCC pads code with 0F 1F, and a CET-enabled libgcc starts
// each function with ENDBR32 (F3 0F 1E FB), a NOP on a CPU without CET. Expected values by
// hand from the SDM: the operand is never accessed (an unmapped address gives no #PF,
// where a MOV from it does), registers and flags stay, EIP moves by the instruction's
// length, and LOCK gives #UD (SDM 2A LOCK: only the listed read-modify-write instructions).
import { describe, expect, it } from "vitest";
import { SnippetRunner, SNIPPET_CODE_BASE } from "../dist/vmm/snippet.js";

/** Beyond the snippet runner's identity-mapped 4 MiB: not present with paging on. */
const UNMAPPED = 0x80000000;
const disp32 = (a: number): number[] => [a & 0xff, (a >>> 8) & 0xff, (a >>> 16) & 0xff, a >>> 24];
const REGS = [0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x00320000, 0x66666666, 0x77777777, 0x88888888];
/** CF, PF, ZF and OF set (0x0845), plus bit 1 and IF, which the runner sets. */
const EFLAGS = 0x0845;

// Each: the bytes, their length being the EIP they leave, as the SDM encodes them.
const NOPS: [string, number[]][] = [
  ["nop dword [0x80000000] (0F 1F /0, SIB disp32)", [0x0f, 0x1f, 0x04, 0x25, ...disp32(UNMAPPED)]],
  ["nop dword [eax+eax*1+0] (GCC's 5-byte pad)", [0x0f, 0x1f, 0x44, 0x00, 0x00]],
  ["66 nop word [eax+eax*1+0x80000000] (9 bytes)", [0x66, 0x0f, 0x1f, 0x84, 0x00, ...disp32(UNMAPPED)]],
  ["endbr32 (F3 0F 1E FB)", [0xf3, 0x0f, 0x1e, 0xfb]],
  ["prefetchnta [0x80000000] (0F 18 /0)", [0x0f, 0x18, 0x04, 0x25, ...disp32(UNMAPPED)]],
  ["0F 18 /7 with a register (reserved NOP)", [0x0f, 0x18, 0xf8]],
  ["0F 19 /3 [ebx] (reserved NOP)", [0x0f, 0x19, 0x1b]],
];

for (const engine of ["ts", "wasm"] as const) {
  describe(`hint NOPs, ${engine} engine, paging on`, () => {
    const runner = new SnippetRunner({ engine, paging: true });
    // EAX = 0x80000000 too, so [eax+eax*1] wraps to 0 and [eax+eax+disp] to 0x80000000.
    const regs = REGS.map((v, i) => (i === 0 ? UNMAPPED : v));
    const run = (code: number[]) => runner.run({ code: Uint8Array.from(code), regs, eflags: EFLAGS, data: new Uint8Array(0) });

    it("a MOV from the unmapped address faults (the control: the address really is not mapped)", () => {
      // 8B 04 25 disp32 = mov eax, [disp32]: #PF, error code 4 (user read, not present).
      const r = run([0x8b, 0x04, 0x25, ...disp32(UNMAPPED)]);
      expect(r.status).toBe("fault");
      expect(r.vector).toBe(14);
      expect(r.faultAddress).toBe(UNMAPPED);
    });

    it.each(NOPS)("%s changes nothing but EIP", (_name, code) => {
      const r = run(code);
      expect(r.status).toBe("ok");
      expect(r.eip).toBe(SNIPPET_CODE_BASE + code.length);
      expect([...r.regs]).toEqual(regs.map((v) => v >>> 0));
      expect(r.eflags & 0xfff).toBe(EFLAGS | 0x202);
    });

    it("LOCK on a hint NOP is #UD at the instruction", () => {
      const r = run([0xf0, 0x0f, 0x1f, 0x00]);
      expect(r.status).toBe("fault");
      expect(r.vector).toBe(6);
      expect(r.eip).toBe(SNIPPET_CODE_BASE);
    });
  });
}

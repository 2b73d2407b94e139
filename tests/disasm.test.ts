// The disassembler is checked against NASM: NASM assembles a list of instructions, vmxlab
// disassembles the bytes, NASM assembles vmxlab's text again, and the bytes must match.
// (An instruction NASM encodes differently but equivalently would show up as a diff; the
// list below avoids forms with two encodings.)
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { disassemble } from "../src/isa/disasm.js";

const haveNasm = !spawnSync("nasm", ["-v"]).error;
if (!haveNasm) console.warn("disassembler round-trip skipped: nasm is not installed (CI installs it)");

function assemble(lines: string[], bits: 16 | 32): Uint8Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-disasm-"));
  try {
    fs.writeFileSync(path.join(dir, "a.asm"), `bits ${bits}\n` + lines.join("\n") + "\n");
    const r = spawnSync("nasm", ["-f", "bin", "-O0", "-o", path.join(dir, "a.bin"), path.join(dir, "a.asm")], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`nasm: ${r.stderr}`);
    return new Uint8Array(fs.readFileSync(path.join(dir, "a.bin")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const CODE32 = [
  "add eax, ebx", "add byte [ebx+0x10], cl", "sub dword [esp+0x4], 0x12345678", "xor esi, dword [ebp-0x8]",
  "cmp dword [ebx+esi*4+0x100], 0x7", "mov eax, dword [0x1234]", "mov byte [edi], 0x5", "mov cx, word [eax+ecx*2]",
  "lea edx, [eax+ebx*8+0x12]", "movzx eax, byte [esi]", "movsx ecx, word [edi+0x2]", "imul eax, ebx, 0x1234",
  "imul ecx, dword [esi]", "shl eax, 0x3", "sar byte [ebx], 1", "rol cx, cl", "shld eax, ebx, 0x4", "shrd dword [esi], edx, cl",
  "bt eax, 0x5", "bts dword [ebx], ecx", "bsf eax, ecx", "bswap edx", "cmpxchg dword [ebx], ecx", "xadd eax, ebx",
  "cmpxchg8b [esi]", "push dword [ebx]", "pop dword [ecx+0x4]", "push 0x12345678", "pushad", "popfd", "enter 0x10, 0x1", "leave",
  "rep movsd", "repne scasb", "lodsb", "stosw", "in al, dx", "out 0x80, al", "int 0x80", "iretd", "hlt", "cpuid", "rdtsc",
  "mov cr3, eax", "mov eax, cr0", "mov dr7, ecx", "lgdt [eax]", "sidt [ebx]", "ltr ax", "lldt word [esi]", "invlpg [eax]",
  "sysenter", "sysexit", "cmovne eax, dword [ebx]", "setg al", "xlatb", "cbw", "cwde", "cdq", "lahf", "sahf", "aam 0xa",
  "mov ds, ax", "mov word [ebx], es", "lds esi, [ebx]", "jmp dword 0x10:0x1000", "call far [eax]", "retf 0x8", "lock add dword [eax], 0x1",
  "mov eax, dword [fs:0x10]", "not byte [eax]", "neg edx", "mul ecx", "idiv byte [ebx]", "daa", "aas", "ud2", "clts", "wbinvd",
];
const CODE16 = ["add ax, bx", "mov ax, word [bx+si+0x10]", "mov byte [bp+di-0x2], 0x7", "lea si, [bp+0x4]", "les di, [bx]", "int 0x10", "iret", "pushf", "retf", "movsw"];

describe.skipIf(!haveNasm)("disassembler against NASM", () => {
  for (const [bits, lines] of [[32, CODE32], [16, CODE16]] as const) {
    it(`round-trips ${lines.length} ${bits}-bit instructions`, () => {
      const failures: string[] = [];
      for (const line of lines) {
       try {
        const bytes = assemble([line], bits);
        const out = disassemble(bytes, { code32: bits === 32 });
        expect(out.length, line).toBe(1);
        expect(out[0].length, line).toBe(bytes.length);
        let again: Uint8Array;
        try { again = assemble([out[0].text], bits); } catch (e) { throw new Error(`${line} -> ${out[0].text}: ${(e as Error).message}`); }
        expect(Buffer.from(again).toString("hex"), `${line} -> ${out[0].text}`).toBe(Buffer.from(bytes).toString("hex"));
       } catch (e) { failures.push((e as Error).message.split("\n")[0]); }
      }
      expect(failures).toEqual([]);
    });
  }

  it("prints relative branch targets as absolute addresses", () => {
    const bytes = assemble(["jmp short $+0x10", "call $+0x100", "jnz $-0x2"], 32);
    const out = disassemble(bytes, { address: 0x1000, code32: true });
    // Hand calculation: each target is the instruction's own address plus the offset.
    expect(out.map((i) => i.text)).toEqual(["jmp 0x1010", "call 0x1102", "jne 0x1005"]);
  });
});

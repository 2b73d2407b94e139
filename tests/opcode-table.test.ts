// The opcode table is the single source of encodings: rows must be unique, complete, and
// consistent with what the decoder and the execution kinds can do.
import { describe, expect, it } from "vitest";
import { OPCODES } from "../src/isa/opcodes.js";
import { Kind } from "../src/isa/kind.js";

const FAST_KINDS = [Kind.FAST_ALU_RR32, Kind.FAST_ALU_RI32, Kind.FAST_ALU_RM32, Kind.FAST_ALU_MR32, Kind.FAST_MOV_RR32,
  Kind.FAST_MOV_RI32, Kind.FAST_LOAD32, Kind.FAST_STORE32, Kind.FAST_INC_R32, Kind.FAST_DEC_R32, Kind.FAST_SHIFT_RI32,
  Kind.FAST_MOVZX_R_M8, Kind.FAST_LEA32, Kind.FAST_STORE_IMM];
const COST_CLASSES = new Set(["alu", "mov", "mul", "div", "shift", "bit", "bcd", "stack", "branch", "call", "string", "flag",
  "nop", "far", "interrupt", "io", "system", "segment", "serialize", "invalid"]);
const OPERAND = /^(E[bwvd]|G[bwvdz]|M[apsq]?|O[bv]|I(b|bs|w|z|v)|J[bz]|Ap|Sw|Cd|Dd|Rd|Z[bvd]|X[bvz]|Y[bvz]|AL|eAX|CL|DX|1|ES|CS|SS|DS|FS|GS)$/;

describe("opcode table", () => {
  it("has no two rows for the same encoding", () => {
    const seen = new Map<string, string>();
    for (const r of OPCODES) {
      const forms = r.form === "any" ? ["mem", "reg"] : [r.form];
      for (const form of forms) {
        const key = `${r.prefix}:${r.map}:${r.opcode}:${r.ext}:${form}`;
        expect(seen.has(key), `${r.mnemonic} duplicates ${seen.get(key)} (${key})`).toBe(false);
        seen.set(key, r.mnemonic);
      }
    }
  });

  it("gives every row a mnemonic, known operands, a cost class and an execution kind", () => {
    for (const r of OPCODES) {
      const where = `${r.mnemonic} ${r.map ? "0F " : ""}${r.opcode.toString(16)}`;
      expect(r.mnemonic, where).toMatch(/^[a-z][a-z0-9]*$/);
      expect(r.kind, where).not.toBe(Kind.INVALID);
      expect(FAST_KINDS, `${where} must not name a core-internal fast kind`).not.toContain(r.kind);
      expect(COST_CLASSES.has(r.cost), `${where} cost ${r.cost}`).toBe(true);
      for (const o of r.operands) expect(o, where).toMatch(OPERAND);
      expect(r.flagsUndefined & ~r.flagsWritten, `${where}: undefined flags must be among the written ones`).toBe(0);
      expect(r.opcode).toBeGreaterThanOrEqual(0);
      expect(r.opcode).toBeLessThan(256);
      expect(r.ext).toBeGreaterThanOrEqual(-1);
      expect(r.ext).toBeLessThan(8);
    }
  });

  it("marks the privileged instructions of SDM 3A 5.9 and nothing else", () => {
    // SDM 3A 5.9 lists the instructions that require CPL 0 (the Pentium-era subset of it).
    const expected = ["clts", "hlt", "invd", "invlpg", "lgdt", "lidt", "lldt", "lmsw", "ltr", "mov", "rdmsr", "sysexit", "wbinvd", "wrmsr"];
    const priv = [...new Set(OPCODES.filter((r) => r.privileged).map((r) => r.mnemonic))].sort();
    expect(priv).toEqual(expected);
    // MOV is privileged only in its control- and debug-register forms (0F 20-23).
    for (const r of OPCODES.filter((x) => x.mnemonic === "mov")) {
      expect(r.privileged).toBe(r.map === 1 && r.opcode >= 0x20 && r.opcode <= 0x23);
    }
  });

  it("marks the sensitive-but-unprivileged instructions DESIGN.md lists as virtualization holes", () => {
    const sensitive = new Set(OPCODES.filter((r) => r.sensitive).map((r) => r.mnemonic));
    for (const m of ["popf", "pushf", "sgdt", "sidt", "sldt", "smsw", "str", "lar", "lsl", "verr", "verw", "iret", "int", "retf"]) {
      expect(sensitive.has(m), m).toBe(true);
    }
    for (const r of OPCODES) if (r.sensitive) expect(r.privileged, r.mnemonic).toBe(false);
  });

  it("covers every opcode of the one-byte map that a Pentium defines", () => {
    // Undefined on IA-32 or prefixes: 0F (escape), 26 2E 36 3E 64 65 66 67 F0 F2 F3 (prefixes), F1 (ICEBP, not modelled).
    const notRows = new Set([0x0f, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf1, 0xf2, 0xf3]);
    for (let b = 0; b < 256; b++) {
      if (notRows.has(b)) continue;
      expect(OPCODES.some((r) => r.map === 0 && r.opcode === b), `one-byte opcode ${b.toString(16)} has no row`).toBe(true);
    }
  });
});

describe("memory operands (priced as mem.operand)", () => {
  // SDM Appendix A.2: E and M address memory (E also a register), O is a moffs; ES is a
  // segment register, LEA computes an address without accessing it, INVLPG names a page.
  const row = (mnemonic: string, operands: string) => {
    const r = OPCODES.find((x) => x.mnemonic === mnemonic && x.operands.join(",") === operands);
    if (!r) throw new Error(`no row ${mnemonic} ${operands}`);
    return r;
  };
  it.each([
    ["add", "Ev,Gv", true], ["mov", "eAX,Ov", true], ["push", "Ev", true], ["lgdt", "Ms", true],
    ["push", "ES", false], ["pop", "ES", false], ["lea", "Gv,M", false], ["invlpg", "M", false],
    ["push", "Zv", false], ["add", "AL,Ib", false],
  ] as const)("%s %s: %s", (mnemonic, operands, memory) => {
    expect(row(mnemonic, operands).memoryOperand).toBe(memory);
  });
});


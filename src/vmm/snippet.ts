// Runs a short piece of 32-bit user code from a given register, flag and memory state and
// returns the final state: the emulator's side of the silicon oracle. The memory map is
// the oracle harness's: code at 0x00200000, data at 0x00300000, stack at 0x00310000, all
// flat ring-3 segments as in a Linux process, with no paging.

import { Reg, Seg, Cr0, Flag } from "../state/layout.js";
import type { EngineName } from "./engine.js";
import { Machine } from "./machine.js";

export const SNIPPET_CODE_BASE = 0x00200000;
export const SNIPPET_DATA_BASE = 0x00300000;
export const SNIPPET_DATA_SIZE = 0x10000;
export const SNIPPET_STACK_BASE = 0x00310000;
export const SNIPPET_STACK_SIZE = 0x10000;
/** Page tables for the paging variant, above the stack and away from every snippet region. */
const PAGE_DIRECTORY = 0x3f0000;
const PAGE_TABLE = 0x3f1000;

export interface SnippetInput {
  code: Uint8Array;
  /** EAX ECX EDX EBX ESP EBP ESI EDI. */
  regs: ArrayLike<number>;
  eflags: number;
  /** Initial bytes at the start of the data region (the rest is zero). */
  data: Uint8Array;
  /** Instruction budget before the run counts as a timeout (default 100000). */
  maxInstructions?: number;
}

export interface SnippetOutput {
  status: "ok" | "fault" | "timeout";
  vector?: number;
  errorCode?: number;
  /** CR2 after a page fault. */
  faultAddress?: number;
  eip: number;
  regs: Uint32Array;
  eflags: number;
  /** The data and stack regions after the run (views into guest RAM; copy to keep). */
  data: Uint8Array;
  stack: Uint8Array;
}

export interface SnippetRunnerOptions {
  /**
   * 32-bit paging on (SDM 3A 4.3): an identity map of the 4 MiB of RAM in 4 KiB user
   * read/write pages, so every access goes through the page walk and the translation
   * cache, as it does natively under Linux.
   */
  paging?: boolean;
  /** The engine (MachineOptions.engine). */
  engine?: EngineName;
  /**
   * Run the snippet as a guest runs, in one Machine.run (the hot loop's multi-instruction
   * path), instead of one instruction per run; it stops at the int3 after its end. With
   * `warmRuns` > 0 it first runs that many times from the same start, keeping the caches
   * (decoded instructions, compiled blocks), and reports the last run: with 16 or more,
   * the code at its start and its branch targets runs as compiled blocks
   * (core/blockCompiler.ts), so the oracle checks them too.
   */
  whole?: boolean;
  warmRuns?: number;
}

/** A machine set up for snippets; reuse it across cases, it is reset for each. */
export class SnippetRunner {
  readonly machine: Machine;
  constructor(readonly options: SnippetRunnerOptions = {}) {
    this.machine = new Machine({ ramBytes: 4 << 20, engine: options.engine });
    if (options.paging) {
      const v = this.machine.cpu.view;
      v.setUint32(PAGE_DIRECTORY, PAGE_TABLE | 0x7, true);
      for (let i = 0; i < 1024; i++) v.setUint32(PAGE_TABLE + i * 4, (i << 12) | 0x7, true);
    }
  }

  run(input: SnippetInput): SnippetOutput {
    const warm = this.options.whole ? this.options.warmRuns ?? 0 : 0;
    for (let i = 0; i < warm; i++) this.runOnce(input);
    return this.runOnce(input);
  }

  private runOnce(input: SnippetInput): SnippetOutput {
    const m = this.machine, cpu = m.cpu, s = cpu.s;
    // A full Machine.reset() clears megabytes of caches; a snippet needs only the state
    // words cleared and its code written through the path that invalidates decodes.
    s.fill(0);
    s[Reg.RAM_BYTES] = m.ramBytes;
    s[Reg.DR0 + 6] = 0xffff0ff0 | 0;
    s[Reg.DR0 + 7] = 0x400;
    const ram = cpu.ram;
    ram.fill(0, SNIPPET_DATA_BASE, SNIPPET_STACK_BASE + SNIPPET_STACK_SIZE);
    // Only changed bytes are written (through the path that invalidates decodes and
    // blocks), so the caches of the same code carry over from one run to the next.
    for (let i = 0; i < 0x1000; i++) {
      const b = i < input.code.length ? input.code[i] : 0xcc;
      if (ram[SNIPPET_CODE_BASE + i] !== b) cpu.physWrite8(SNIPPET_CODE_BASE + i, b);
    }
    ram.set(input.data.subarray(0, SNIPPET_DATA_SIZE), SNIPPET_DATA_BASE);
    // Flat ring-3 protected mode: code 0x1B, data 0x23, as 32-bit Linux user space.
    s[Reg.CR0] = Cr0.PE | Cr0.ET;
    if (this.options.paging) {
      s[Reg.CR3] = PAGE_DIRECTORY;
      s[Reg.CR0] |= Cr0.PG;
      cpu.flushTlb(true);
    }
    s[Reg.CPL] = 3;
    s[Reg.IDTR_LIMIT] = 0;
    for (const seg of [Seg.ES, Seg.SS, Seg.DS, Seg.FS, Seg.GS]) cpu.setSegment(seg, 0x2b, 0, -1, 0xc0f3);
    cpu.setSegment(Seg.CS, 0x23, 0, -1, 0xc0fb);
    cpu.syncMode();
    for (let r = 0; r < 8; r++) s[r] = input.regs[r] | 0;
    cpu.setEflags((input.eflags & (Flag.ARITH | Flag.DF)) | Flag.IF | 2);
    s[Reg.EIP] = SNIPPET_CODE_BASE;
    cpu.stopOnException = true;
    const end = SNIPPET_CODE_BASE + input.code.length;
    const budget = input.maxInstructions ?? 100000;
    let status: SnippetOutput["status"] = "timeout";
    if (this.options.whole) {
      const r = m.run({ maxInstructions: budget });
      if (r.reason === "error" || r.reason === "shutdown") throw new Error(`snippet stopped: ${r.message}`);
      // The int3 after the end traps with EIP past it (Cpu.softwareEvent under
      // stopOnException), having changed nothing: the snippet ran off its end.
      if (cpu.pendingException && s[Reg.EXIT_VECTOR] === 3 && s[Reg.EIP] === end + 1) { status = "ok"; s[Reg.EIP] = end; }
      else if (cpu.pendingException) status = "fault";
    } else {
      for (let i = 0; i < budget; i++) {
        if (s[Reg.EIP] === end) { status = "ok"; break; }
        const r = m.run({ maxInstructions: 1 });
        if (r.reason === "error" || r.reason === "shutdown") throw new Error(`snippet stopped: ${r.message}`);
        if (cpu.pendingException) { status = "fault"; break; }
      }
      if (status === "timeout" && s[Reg.EIP] === end) status = "ok";
    }
    const out: SnippetOutput = {
      status, eip: s[Reg.EIP] >>> 0, regs: Uint32Array.from({ length: 8 }, (_, r) => s[r] >>> 0),
      eflags: cpu.getEflags() >>> 0,
      data: ram.subarray(SNIPPET_DATA_BASE, SNIPPET_DATA_BASE + SNIPPET_DATA_SIZE),
      stack: ram.subarray(SNIPPET_STACK_BASE, SNIPPET_STACK_BASE + SNIPPET_STACK_SIZE),
    };
    if (status === "fault") {
      out.vector = s[Reg.EXIT_VECTOR];
      out.errorCode = s[Reg.EXIT_HAS_ERROR] !== 0 ? s[Reg.EXIT_ERROR] : 0;
      if (out.vector === 14) out.faultAddress = s[Reg.CR2] >>> 0;
    }
    cpu.stopOnException = false;
    return out;
  }
}

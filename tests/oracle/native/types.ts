/**
 * Types shared by the silicon oracle (tests/oracle/native/oracle.ts) and the
 * emulator side of a comparison. See docs/oracle.md.
 */

/** A straight-line 32-bit snippet and the state it starts from. */
export interface SnippetCase {
  /** Machine code placed at CODE_BASE (at most MAX_CODE bytes). */
  code: Uint8Array;
  /** 8 registers: eax ecx edx ebx esp ebp esi edi. */
  regs: Uint32Array;
  /**
   * Initial EFLAGS. Only CF PF AF ZF SF OF and DF (SETTABLE_FLAGS) are taken;
   * the snippet starts with (eflags & SETTABLE_FLAGS) | INITIAL_FLAGS_FIXED.
   */
  eflags: number;
  /** Initial contents of the first data.length bytes of the data region; the rest is zero. */
  data: Uint8Array;
}

/** Final bytes at addr .. addr + bytes.length - 1. */
export interface MemoryWrite {
  addr: number;
  bytes: Uint8Array;
}

export type SnippetStatus = 'ok' | 'fault' | 'timeout';

export interface SnippetResult {
  /**
   * 'ok': the snippet ran off its end (eip = CODE_BASE + code.length).
   * 'fault': an exception was raised; vector, errorCode (and faultAddress for
   * #PF) say which, and the state is the state at the exception as the CPU
   * reported it (eip of the faulting instruction, or of the next one for traps
   * such as int3 and single-step).
   * 'timeout': the snippet ran for tens of milliseconds of CPU time (e.g. a
   * loop) and was aborted; the state is wherever it was interrupted, so only
   * the status is meaningful to compare.
   */
  status: SnippetStatus;
  vector?: number;
  errorCode?: number;
  /** CR2 as reported to the process, for vector 14 only. */
  faultAddress?: number;
  /** Absolute EIP. */
  eip: number;
  /** 8 registers: eax ecx edx ebx esp ebp esi edi. */
  regs: Uint32Array;
  /** EFLAGS as PUSHFD would show it (RF clear; bit 1 and IF set). */
  eflags: number;
  /**
   * Every byte of the data and stack regions whose final value differs from
   * its initial value, as runs in ascending address order (a run may include a
   * few unchanged bytes between changed ones; all bytes are final values).
   * The compact form of data and stack: compare these when the other side can
   * produce them.
   */
  writes: MemoryWrite[];
  /** The full 64 KiB data region at DATA_BASE (built on first access). */
  data: Uint8Array;
  /** The full 64 KiB stack region at STACK_BASE (built on first access). */
  stack: Uint8Array;
}

export const CODE_BASE = 0x00200000,
  CODE_SIZE = 0x1000,
  DATA_BASE = 0x00300000,
  DATA_SIZE = 0x10000,
  STACK_BASE = 0x00310000,
  STACK_SIZE = 0x10000;

/** Longest snippet the harness accepts (the code page also holds the return jump). */
export const MAX_CODE = CODE_SIZE - 16;

/** Byte filling the code page after the snippet and its return jump (int3). */
export const CODE_FILL = 0xcc;

/** CF PF AF ZF SF DF OF: the flags a case may set. */
export const SETTABLE_FLAGS = 0x0cd5;

/** Always set in the initial EFLAGS: bit 1 and IF (a user process runs with IF=1). */
export const INITIAL_FLAGS_FIXED = 0x0202;

/** The EFLAGS a snippet starts with, for the emulator side. */
export function initialEflags(c: SnippetCase): number {
  return ((c.eflags & SETTABLE_FLAGS) | INITIAL_FLAGS_FIXED) >>> 0;
}

/** A conventional initial ESP: well inside the stack region. */
export const DEFAULT_ESP = 0x0031f000;

export const EFLAGS = {
  CF: 1 << 0,
  PF: 1 << 2,
  AF: 1 << 4,
  ZF: 1 << 6,
  SF: 1 << 7,
  TF: 1 << 8,
  IF: 1 << 9,
  DF: 1 << 10,
  OF: 1 << 11,
  AC: 1 << 18,
} as const;

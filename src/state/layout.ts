// The one flat state of a virtual CPU. Every register, cache and counter lives at a named
// offset in one ArrayBuffer, so that both engines (TS and WebAssembly) read the same
// bytes and a snapshot is a copy. This file is the only source of those offsets.

/** Word (32-bit) indices of the register file; byte offset = index * 4. */
export const enum Reg {
  // General registers in encoding order (SDM 2A 2.1.5 table 2-2).
  EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7,
  EIP = 8,
  /** EFLAGS bits that are not held lazily (everything but OSZAPC while LAZY_OP != 0). */
  EFLAGS = 9,
  // Lazy arithmetic flags: the last flag-setting operation and its operands.
  LAZY_OP = 10, LAZY_RES = 11, LAZY_DST = 12, LAZY_SRC = 13, LAZY_SIZE = 14,
  // Segment registers ES CS SS DS FS GS (SDM 2A 3.1.1.3 Sreg order): selector, hidden
  // base, limit (byte granular, already scaled), descriptor attributes, access flags.
  SEG_SEL = 16, SEG_BASE = 22, SEG_LIMIT = 28, SEG_ATTR = 34, SEG_ACCESS = 40,
  CR0 = 46, CR2 = 47, CR3 = 48, CR4 = 49,
  DR0 = 50, // DR0..DR7 occupy 50..57
  GDTR_BASE = 58, GDTR_LIMIT = 59, IDTR_BASE = 60, IDTR_LIMIT = 61,
  LDTR_SEL = 62, LDTR_BASE = 63, LDTR_LIMIT = 64, LDTR_ATTR = 65,
  TR_SEL = 66, TR_BASE = 67, TR_LIMIT = 68, TR_ATTR = 69,
  CPL = 70,
  /** 1 when CS.D=1: default operand and address size 32 (SDM 3A 3.4.5). */
  CODE32 = 71,
  /** 1 when SS.B=1: the stack pointer is ESP rather than SP. */
  STACK32 = 72,
  /** 1 while an interrupt shadow follows MOV SS / POP SS / STI (SDM 3A 6.8.3). */
  INHIBIT_IRQ = 73,
  HALTED = 74,
  SYSENTER_CS = 75, SYSENTER_ESP = 76, SYSENTER_EIP = 77,
  // Counters kept as float64 pairs would complicate the wasm view; two words each.
  INSNS_LO = 78, INSNS_HI = 79,
  // The last exit of the hot loop and its operands.
  EXIT_VECTOR = 80, EXIT_ERROR = 81, EXIT_HAS_ERROR = 82,
  /** EIP of the instruction being executed (restored when it faults). */
  INSN_EIP = 83,
  /** Pending debug status bits for DR6 from the instruction just retired. */
  DEBUG_PENDING = 84,
  /** Set by an instruction that changes paging, segment bases or modes the loop caches. */
  MODE_DIRTY = 85,
  A20_MASK = 86,
  RAM_BYTES = 87,
  /** Nesting of exception delivery, for #DF and triple fault (SDM 3A 6.15 table 6-5). */
  FAULT_DEPTH = 88,
  /** An NMI is latched, and NMIs are blocked from delivery until the next IRET (SDM 3A 6.7.1). */
  NMI_PENDING = 89, NMI_BLOCKED = 90,
  // Mirrors of the words above that the memory layer tests on every access, recomputed by
  // CoreMemory.syncMode() and writeSegment() (core/segmentCache.ts). Derived, but kept here so that
  // both engines read the same words and a copy of the buffer carries them.
  /** 1 when CR0.PG = 1. */
  PAGING = 91,
  /** 1 when DR7 arms a data breakpoint: every access is checked. */
  WATCHING = 92,
  /** Bit per segment register that is flat read/write data: base 0, limit 4 GiB. */
  FLAT_SEGS = 93,
  /** Bits B0-B3 of the data breakpoints hit by the current instruction. */
  DATA_HITS = 94,
  /** TLB entry bits (core/memory.ts Tlb) a read / a write needs at the current CPL. */
  READ_NEED = 95, WRITE_NEED = 96,
  /** Added to the physical address in a decode-cache tag: bit 31 marks 32-bit code. */
  MODE_TAG = 97,
  // The hot loop's hand-offs to the run loop (core/interpreter.ts, cpu/cpu.ts).
  /** 1 when a device asked the run loop to look at it after this instruction. */
  ATTENTION = 98,
  /** 1 when a REP string instruction stopped mid-way and has not retired. */
  REPEATING = 99,
  /** 1 while a fault would come before the current instruction is counted. */
  UNCOUNTED = 100,
  /** Decode-cache word index of the complex instruction handed to cpu/. */
  COMPLEX_AT = 101,
  /** Tag of new TLB entries: 0 outside VMX non-root operation (SDM 3C 28.1). */
  VPID = 102,
  // The TLB models' hottest words (core/tlbModel.ts), here because the hot loop already
  // holds this array, in pairs per TLB: the page last made most recently used plus one
  // (0: none), then the hits not yet added into the model's float64 HITS. Those are
  // counted as int32 (one increment on this array) and folded by
  // CoreMemory.foldRetirements() at least every 64 returns of the hot loop (Cpu.runFor),
  // before anyone reads the counters (Accounting.cycles()) and when the loop touches MMIO;
  // one call of the loop is at most 2^20 instructions and a REP string instruction yields
  // after 16384 iterations, so a count stays far below 2^31.
  DTLB_LAST_HIT = 103, DTLB_NEW_HITS = 104, ITLB_LAST_HIT = 105, ITLB_NEW_HITS = 106,
  // What the hot loop (core/hotLoop.ts) spills before a call that can fault, for the fault
  // path in Core.run: the instruction's EIP, its decode record (-1: none yet) and the
  // instructions retired so far in this call.
  HOT_EIP = 107, HOT_AT = 108, HOT_RETIRED = 109,
  /** 1 when a fault in the wasm engine ended the hot loop without unwinding it (core/hotLoop.ts). */
  HOT_FAULTED = 110,
  STATE_WORDS = 128,
}

/** Segment register numbers as encoded in ModRM.reg for MOV Sreg (SDM 2A table 3-... Sreg). */
export const enum Seg { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, NONE = 7 }

/** EFLAGS bits (SDM 1 3.4.3). */
export const enum Flag {
  CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200,
  DF = 0x400, OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000,
  AC = 0x40000, VIF = 0x80000, VIP = 0x100000, ID = 0x200000,
  ARITH = 0x8d5,
}

/** CR0 bits (SDM 3A 2.5). */
export const enum Cr0 { PE = 0x1, MP = 0x2, EM = 0x4, TS = 0x8, ET = 0x10, NE = 0x20, WP = 0x10000, AM = 0x40000, NW = 0x20000000, CD = 0x40000000, PG = 0x80000000 }
export const enum Cr4 { VME = 0x1, PVI = 0x2, TSD = 0x4, DE = 0x8, PSE = 0x10, PGE = 0x80 }

/**
 * Byte layout of the whole buffer: state words and counters, decode cache, code-page map,
 * TLB direct maps, events by vector, the TLB models, then guest RAM (always last).
 */
export const STATE_BYTES = 4096;
/**
 * Event counters (cost/event.ts) as float64 inside the state page: exact up to 2^53, and
 * plain loads and stores for both engines.
 */
export const COUNTER_OFFSET = 2048;

export const COUNTER_SLOTS = 128;
/** The last float64 slot of that area: TSC minus cycles, set by WRMSR IA32_TIME_STAMP_COUNTER. */
export const TSC_OFFSET_SLOT = COUNTER_SLOTS - 1;
/**
 * Counters of the run as float64 (exact up to 2^53), after the event counters; unlike
 * those, a machine reset keeps them.
 */
export const WIDE_OFFSET = 3072;
export const enum Wide {
  /** Instructions retired since the core was created (Core.retired). */
  RETIRED = 0,
  /** Events delivered (faults, interrupts, NMIs; Cpu.eventsDelivered): each ends a step. */
  EVENTS_DELIVERED = 1,
  SLOTS = 128,
}
/** Decoded-instruction cache: direct-mapped on physical address, 8 words per slot. */
export const DECODE_SLOTS = 1 << 16;
export const DECODE_WORDS = 8;
export const DECODE_OFFSET = STATE_BYTES;
/**
 * Instructions retired per counter during the current call of the hot loop, as int32,
 * right after the decode cache: the loop indexes them through the same array as the
 * records, which keeps the per-instruction count to one increment. They are added into
 * the float64 counters and cleared at least every 64 calls of the loop and before the
 * counters are read (Cpu.runFor, Accounting.cycles(); 64 calls retire < 2^31).
 */
export const RETIRE_COUNTER_WORD = (DECODE_SLOTS + 1) * DECODE_WORDS;
export const RETIRE_COUNTER_SLOTS = 64;
/** One extra slot past the cache holds instructions that are never cached (page-crossing, ROM). */
export const DECODE_BYTES = (RETIRE_COUNTER_WORD + RETIRE_COUNTER_SLOTS) * 4;
/** One bit per 4 KiB physical page that holds cached decoded code. */
export const CODE_PAGE_OFFSET = DECODE_OFFSET + DECODE_BYTES;
export const CODE_PAGE_BYTES = 1 << 20; // one byte per page of the 4 GiB space
/**
 * Direct maps of the data and instruction TLBs: one word per linear page (frame |
 * permission bits), non-zero exactly for the pages the TLB model holds.
 */
export const TLB_ENTRIES = 1 << 20;
export const DTLB_MAP_OFFSET = CODE_PAGE_OFFSET + CODE_PAGE_BYTES;
export const ITLB_MAP_OFFSET = DTLB_MAP_OFFSET + TLB_ENTRIES * 4;
/** Events delivered by vector (Cpu.eventsByVector), 256 float64. */
export const VECTOR_EVENTS_OFFSET = ITLB_MAP_OFFSET + TLB_ENTRIES * 4;
/**
 * The set-associative TLB models (core/tlbModel.ts), data TLB then instruction TLB, each
 * sized for the largest configuration allowed (TLB_MAX_ENTRIES) so the layout does not
 * depend on it. An all-zero model is an empty TLB: pages and the last hit are stored
 * plus one, the random policy's seed XOR its initial value. Relative to a model's base:
 */
export const TLB_MAX_ENTRIES = 65536;
export const enum TlbModelLayout {
  // float64 slots (index = byte offset / 8): replacement clock and counters.
  CLOCK = 0, HITS = 1, MISSES = 2, EVICTIONS = 3, FLUSHES = 4, // FLUSHES..+3 by FlushCause
  // int32 words (index = byte offset / 4) after them (the last hit is in Reg).
  SEED = 16, SETS = 17, WAYS = 18, POLICY = 19,
  HEADER_BYTES = 128,
  /** int32 per entry: linear page + 1, 0 when the way is empty. */
  PAGE = HEADER_BYTES,
  /** int32 per entry: the VPID the entry was filled under. */
  VPID = PAGE + 65536 * 4, // entries: TLB_MAX_ENTRIES
  /** uint8 per entry: 1 for a global page. */
  GLOBAL = VPID + 65536 * 4,
  /** float64 per entry: last use (LRU) or fill time (FIFO). */
  STAMP = GLOBAL + 65536,
  /** uint16 per linear page: the entry holding it (valid only while the page is held). */
  SLOT_OF = STAMP + 65536 * 8,
  BYTES = SLOT_OF + (1 << 20) * 2, // one per page: TLB_ENTRIES
}
export const DTLB_MODEL_OFFSET = VECTOR_EVENTS_OFFSET + 4096;
export const ITLB_MODEL_OFFSET = DTLB_MODEL_OFFSET + TlbModelLayout.BYTES;
export const RAM_OFFSET = ITLB_MODEL_OFFSET + TlbModelLayout.BYTES;

/**
 * Slots of the compiled-block cache (core/blockCompiler.ts BlockCache), by physical address
 * of a block's start; HotViews.blockSkip holds two words per slot.
 */
export const BLOCK_SLOTS: i32 = 4096;

/**
 * Where the wasm engine's module keeps the flat state in its linear memory: a fixed
 * address, below which lie the module's static data and the few objects it allocates, so
 * that the code asc compiles addresses every view of it as a constant (core/hotViews.wasm.ts).
 */
export const WASM_FLAT_BASE: i32 = 1 << 20;

export function totalBytes(ramBytes: number): number {
  return RAM_OFFSET + ramBytes;
}

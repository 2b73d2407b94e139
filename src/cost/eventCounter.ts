// Portable (docs/engine-decision.md): the counters of events other than retired
// instructions, as indices into the flat state's counters (state/layout.ts COUNTER_OFFSET).
// cost/event.ts names them for profiles; core/protectedEvent.ts counts into them from
// the hot loop of either engine.

/** Counters of events other than retired instructions. */
export const enum Event {
  /** One element moved, stored, loaded, compared or scanned by a string instruction. */
  STRING_ITERATION = 40,
  /** A TLB miss that starts a page walk (instruction or data). */
  TLB_MISS = 41,
  /** One paging-structure entry read by a walk. */
  WALK_REFERENCE = 42,
  /** An exception or interrupt delivered through the IDT (or the real-mode IVT). */
  EXCEPTION = 43,
  /** A gate, IRET, far RET, SYSENTER or SYSEXIT that changed CPL. */
  PRIVILEGE_CHANGE = 44,
  /** A hardware task switch. */
  TASK_SWITCH = 45,
  /** One I/O port access (IN, OUT, or one element of INS/OUTS). */
  IO_ACCESS = 46,
  /** One load or store that reached a device register beyond RAM (MMIO). */
  MMIO_ACCESS = 47,
  /** A cycle spent halted until an interrupt: not priced, a cycle is a cycle. */
  IDLE_CYCLE = 48,
  /** Number of counters in use; the state layout reserves room for more. */
  COUNT = 49,
}

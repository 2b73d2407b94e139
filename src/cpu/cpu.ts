// The virtual CPU's run loop: the hot loop runs until it needs help; this loop executes
// complex instructions, delivers faults, single-steps under EFLAGS.TF, honours DR0-DR3
// instruction breakpoints, and reports why it stopped.

import { Reg, Flag, Wide } from "../state/layout.js";
import { Exit } from "../core/interpreter.js";
import { FAULT, Vector } from "../core/fault.js";
import { Kind } from "../isa/kind.js";
import { Dw, Info } from "../isa/decode.js";
import { CpuSystem } from "./system.js";
import { Source, TripleFault, Unsupported } from "./interrupts.js";
import { DeviceUnsupported } from "../dev/portBus.js";
import { Event } from "../cost/event.js";
import { SliceWord, foldDue, sliceQuiet, stepsToRunEnd } from "../core/sliceRule.js";

export type StopReason = "limit" | "halt" | "shutdown" | "stop" | "unsupported" | "exception" | "deadline";

/** An interrupt controller as the CPU sees it: INTR asserted, and the INTA cycle. */
export interface InterruptSource {
  pending(): boolean;
  acknowledge(): number;
}

/** DR6 bits (SDM 3A 17.2.3). */
const DR6_BS = 0x4000;

export class Cpu extends CpuSystem {
  /** Set by a device (debug-exit) to end the run after the current instruction. */
  get stopRequested(): boolean { return this.stopAsked; }
  set stopRequested(on: boolean) { this.stopAsked = on; this.syncSliceFree(); }
  /** Set by a device whose next event time changed (a timer reprogrammed): runFor returns "deadline". */
  get rescheduleRequested(): boolean { return this.rescheduleAsked; }
  set rescheduleRequested(on: boolean) { this.rescheduleAsked = on; this.syncSliceFree(); }
  private stopAsked = false;
  private rescheduleAsked = false;
  /** Text of the last unsupported feature or shutdown cause. */
  stopMessage = "";
  /**
   * When set, a fault is not delivered: the run stops with reason "exception", EIP at the
   * faulting instruction and the vector and error code in Reg.EXIT_* (like an exception
   * bitmap that intercepts everything; used by the silicon oracle and debuggers).
   */
  stopOnException = false;
  /** Events delivered (faults, interrupts, NMIs); each ends a step without retiring an instruction. */
  get eventsDelivered(): number { return this.wide[Wide.EVENTS_DELIVERED]; }
  set eventsDelivered(n: number) { this.wide[Wide.EVENTS_DELIVERED] = n; }

  /** Where external interrupts come from (the PIC pair), or null when nothing interrupts. */
  interruptSource: InterruptSource | null = null;

  /**
   * Runs up to `limit` steps (instructions retired or events delivered), or until the
   * cycle count reaches `untilCycle` ("deadline": a timer is due). External interrupts
   * are taken between instructions when IF = 1 and no STI/MOV SS shadow is pending.
   */
  runFor(limit: number, untilCycle = Infinity): StopReason {
    // The slices leave their retirement counts unfolded (Core.runUnfolded); whoever reads
    // the counters mid-run goes through accounting.cycles(), which folds first, and they
    // are exact again when this returns.
    try {
      return this.runSlices(limit, untilCycle);
    } finally {
      this.foldRetirements();
    }
  }

  /** The current runFor()'s deadline (cycles); its end in steps is HotViews.slice's RUN_END. */
  private runUntil = Infinity;

  /**
   * SliceWord.FREE: the hot loop may start the next slice itself (core/sliceRule.ts) while
   * this run has no deadline and no stop or reschedule is requested.
   */
  private syncSliceFree(): void {
    this.hot.slice[SliceWord.FREE] = this.runUntil === Infinity && !this.stopAsked && !this.rescheduleAsked ? 1 : 0;
  }

  /**
   * Steps the next slice of runSlices may take: up to the run's end, and with a deadline
   * ahead never more than could reach it, so that the run stops at most one step past it.
   * 0 at the end of the run or at the deadline.
   */
  private nextSlice(): number {
    let slice = stepsToRunEnd(this.hot);
    if (slice === 0) return 0;
    if (this.runUntil !== Infinity) {
      const cycles = this.runUntil - this.accounting.cycles();
      if (cycles <= 0) return 0;
      slice = Math.min(slice, Math.max(1, Math.floor(cycles / this.accounting.stepBound)));
    }
    return slice;
  }

  /** Folds now and then (SliceWord.UNFOLDED), so that the int32 counts stay far below 2^31 (state/layout.ts). */
  private sliceEnded(): void {
    const c = this.hot.slice;
    if (foldDue(this.hot)) { c[SliceWord.UNFOLDED] = 0; this.foldRetirements(); } else c[SliceWord.UNFOLDED] += 1;
  }

  private runSlices(limit: number, untilCycle: number): StopReason {
    const s = this.s, w = this.wide;
    const end = w[Wide.RETIRED] + w[Wide.EVENTS_DELIVERED] + limit;
    this.hot.slice[SliceWord.RUN_END] = end;
    this.runUntil = untilCycle;
    this.stopRequested = false; // and SliceWord.FREE for this run, now that runUntil is set
    this.pendingException = false;
    try {
      while (w[Wide.RETIRED] + w[Wide.EVENTS_DELIVERED] < end) {
        let slice = this.nextSlice();
        if (slice === 0) return "deadline"; // the end of the run is the loop's condition
        // An NMI comes before maskable interrupts and ignores IF (SDM 3A 6.9, priority 5 vs 6);
        // vmxlab also holds it for the MOV SS / STI shadow (6.8.3 leaves that to the model).
        if (s[Reg.NMI_PENDING] !== 0 && s[Reg.NMI_BLOCKED] === 0 && s[Reg.INHIBIT_IRQ] === 0) {
          this.acceptNmi();
          continue;
        }
        if (s[Reg.INHIBIT_IRQ] === 0 && this.interruptSource !== null && (s[Reg.EFLAGS] & Flag.IF) !== 0 &&
            this.interruptSource.pending()) {
          this.acceptInterrupt();
          continue;
        }
        if (s[Reg.HALTED] !== 0) return "halt";
        // Single-stepping and breakpoints need the loop to look after every instruction;
        // so does the instruction after STI or MOV SS, whose shadow then ends (SDM 3A 6.8.3).
        const stepping = (s[Reg.EFLAGS] & Flag.TF) !== 0;
        const breakpoints = (s[Reg.DR0 + 7] & 0xff) !== 0;
        if (stepping || breakpoints) {
          this.stepWithDebug(stepping, breakpoints);
        } else {
          if (s[Reg.INHIBIT_IRQ] !== 0) { s[Reg.INHIBIT_IRQ] = 0; slice = 1; }
          // Bounded slices: V8 optimizes a fresh call of run() better than a loop it replaced on
          // the stack (OSR), and a long guest loop would otherwise stay in the OSR version.
          // The loop settles complex instructions and flagged faults itself (settle()); a
          // fault thrown past it (the TS engine's raiseFault) still comes back as Exit.FAULT.
          const exit = this.runUnfolded(slice, true, this.fastEvents && !this.stopOnException);
          this.sliceEnded();
          if (exit === Exit.FAULT) this.deliverFault();
        }
        if (this.stopRequested) return this.stopOnException && this.pendingException ? "exception" : "stop";
        if (this.rescheduleRequested || s[Reg.ATTENTION] !== 0) { this.rescheduleRequested = false; s[Reg.ATTENTION] = 0; return "deadline"; }
      }
    } catch (e) {
      if (e instanceof TripleFault) { this.stopMessage = e.message; return "shutdown"; }
      if (e instanceof Unsupported || e instanceof DeviceUnsupported) { this.stopMessage = `unsupported: ${e.message}`; return "unsupported"; }
      throw e;
    }
    return "limit";
  }

  /**
   * Takes the interrupt the controller asserts (SDM 3A 6.3.2): INTA gives the vector, the
   * processor leaves HLT and delivers it through the IDT (or IVT) like an external event.
   * The one place external interrupts enter the CPU (VMX will intercept here).
   */
  private acceptInterrupt(): void {
    const s = this.s;
    const vector = this.interruptSource!.acknowledge();
    s[Reg.HALTED] = 0;
    s[Reg.INSN_EIP] = s[Reg.EIP];
    this.wide[Wide.EVENTS_DELIVERED]++;
    this.deliver(vector, 0, false, Source.EXTERNAL, s[Reg.EIP]);
  }

  /**
   * Latches an NMI (the NMI pin, or an NMI message from the local APIC). One stays latched
   * while NMIs are blocked; more are lost until it is taken (SDM 3A 6.7.1).
   */
  raiseNmi(): void {
    this.s[Reg.NMI_PENDING] = 1;
    this.rescheduleRequested = true;
  }

  /** Delivers the latched NMI through vector 2 and blocks NMIs until the next IRET (SDM 3A 6.7.1). */
  private acceptNmi(): void {
    const s = this.s;
    s[Reg.NMI_PENDING] = 0;
    s[Reg.NMI_BLOCKED] = 1;
    s[Reg.HALTED] = 0;
    s[Reg.INSN_EIP] = s[Reg.EIP];
    this.wide[Wide.EVENTS_DELIVERED]++;
    this.deliver(Vector.NMI, 0, false, Source.EXTERNAL, s[Reg.EIP]);
  }

  /** Spends the cycles up to `cycle` halted (HLT waiting for a timer). */
  idleUntil(cycle: number): void {
    const now = this.accounting.cycles();
    if (cycle > now) this.counts[Event.IDLE_CYCLE] += cycle - now;
  }

  /**
   * HotHost.settle, for runSlices's calls of the loop: the loop stopped at a complex
   * instruction or at a fault it flagged (Reg.HOT_FAULTED); executes or delivers it here,
   * as runSlices would, and returns the budget of runSlices's next slice, or 0 when
   * runSlices must look first: at the end of the run or the deadline, a stop or
   * reschedule request, a device's attention, HLT, the STI / MOV SS shadow,
   * single-stepping or breakpoints, a deliverable NMI, or an interrupt IF now lets in.
   */
  override settle(exit: number): number {
    if (exit === Exit.COMPLEX) this.complex();
    else if (exit === Exit.FAULT) { this.unwindFault(); this.clearSpill(); this.deliverFault(); }
    // Exit.EVENT: the loop executed the instruction or delivered the fault itself
    // (core/hotLoop.ts with events: INT n, IRETD, MOV from CRn, INVLPG, flagged faults).
    const s = this.s;
    const goOn = !this.stopAsked && !this.rescheduleAsked && sliceQuiet(this.hot) &&
      ((s[Reg.EFLAGS] & Flag.IF) === 0 || this.interruptSource === null || !this.interruptSource.pending());
    if (!goOn) return 0;
    // The slice runSlices would start next, so that the run is cut where it always was.
    this.sliceEnded();
    return this.nextSlice();
  }

  /**
   * Executes the complex instruction the hot loop stopped at; a fault is delivered.
   * Returns false when the instruction faulted (the fault has been delivered).
   */
  private complex(): boolean {
    try {
      const at = this.s[Reg.COMPLEX_AT];
      this.executeComplex(at);
      this.wide[Wide.RETIRED]++;
      this.counts[this.decoded[at + Dw.COUNTER]]++;
      return true;
    } catch (e) {
      if (e !== FAULT) throw e;
      this.s[Reg.EIP] = this.s[Reg.INSN_EIP];
      this.deliverFault();
      return false;
    }
  }

  /** True when stopOnException caught a fault that waits in Reg.EXIT_*. */
  pendingException = false;

  private deliverFault(): void {
    const s = this.s;
    this.wide[Wide.EVENTS_DELIVERED]++;
    if (this.stopOnException) {
      this.pendingException = true;
      this.stopRequested = true;
      return;
    }
    this.deliver(s[Reg.EXIT_VECTOR], s[Reg.EXIT_ERROR], s[Reg.EXIT_HAS_ERROR] !== 0, Source.EXCEPTION, s[Reg.INSN_EIP]);
  }

  /** One instruction with the debug checks of SDM 3A 17.3. */
  private stepWithDebug(stepping: boolean, breakpoints: boolean): void {
    const s = this.s;
    if (breakpoints && (s[Reg.EFLAGS] & Flag.RF) === 0) {
      const lin = (s[Reg.SEG_BASE + 1] + s[Reg.EIP]) | 0;
      const hit = this.instructionBreakpoint(lin);
      if (hit >= 0) {
        s[Reg.DR0 + 6] = (s[Reg.DR0 + 6] & ~0xf) | (1 << hit);
        s[Reg.INSN_EIP] = s[Reg.EIP];
        this.debugException();
        return;
      }
    }
    s[Reg.INHIBIT_IRQ] = 0;
    this.dataHits = 0;
    // RF suppresses instruction breakpoints for one instruction and is then cleared, unless
    // the instruction itself loads it (IRET): SDM 3A 17.3.1.1.
    s[Reg.EFLAGS] &= ~Flag.RF;
    const exit = this.run(1);
    let kind = -1;
    if (exit === Exit.COMPLEX) {
      kind = this.decoded[this.complexAt + Dw.INFO] & Info.KIND_MASK;
      if (!this.complex()) return;
    } else if (exit === Exit.FAULT) {
      this.deliverFault();
      return;
    }
    const raisesOwnEvent = kind === Kind.INT || kind === Kind.INT3 || kind === Kind.INTO;
    // After MOV SS / POP SS the single-step trap waits one more instruction (SDM 3A 6.8.3).
    const step = stepping && !raisesOwnEvent && s[Reg.INHIBIT_IRQ] === 0;
    // Data breakpoints are traps reported after the access's instruction (SDM 3A 17.3.1.2);
    // with a single-step trap pending both are reported by one #DB.
    if (step || this.dataHits !== 0) {
      s[Reg.DR0 + 6] = (s[Reg.DR0 + 6] & ~0xf) | this.dataHits | (step ? DR6_BS : 0);
      this.dataHits = 0;
      s[Reg.INSN_EIP] = s[Reg.EIP];
      this.debugException();
    }
  }

  protected override softwareEvent(vector: number): void {
    if (!this.stopOnException) { super.softwareEvent(vector); return; }
    // Intercepted like a fault, but as the trap it is: EIP already points past it.
    const s = this.s;
    s[Reg.EXIT_VECTOR] = vector; s[Reg.EXIT_ERROR] = 0; s[Reg.EXIT_HAS_ERROR] = 0;
    this.pendingException = true;
    this.stopRequested = true;
  }

  /** Delivers #DB with EIP as the return address (or stops, under stopOnException). */
  private debugException(): void {
    const s = this.s;
    s[Reg.EXIT_VECTOR] = Vector.DB; s[Reg.EXIT_ERROR] = 0; s[Reg.EXIT_HAS_ERROR] = 0;
    this.deliverFault();
  }

  /** Index of the enabled execute breakpoint (R/W = 00) matching `lin`, or -1. */
  private instructionBreakpoint(lin: number): number {
    const s = this.s;
    const dr7 = s[Reg.DR0 + 7];
    for (let i = 0; i < 4; i++) {
      if (((dr7 >> (i * 2)) & 3) === 0) continue;
      if (((dr7 >>> (16 + i * 4)) & 3) !== 0) continue;
      if (s[Reg.DR0 + i] === lin) return i;
    }
    return -1;
  }
}

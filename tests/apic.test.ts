// The local APIC (Intel SDM Vol. 3A chapter 11), the I/O APIC (Intel 82093AA datasheet),
// the interrupt router between them and the 8259s (MP spec 1.4 3.6.2.2 virtual wire), and
// the MP 1.4 tables the loader writes. Expected values are worked by hand beside each check
// from those documents; the MP table is parsed and checksummed here independently.
import { describe, expect, it } from "vitest";
import { LocalApic } from "../src/dev/localApic.js";
import { IoApic } from "../src/dev/ioApic.js";
import { InterruptRouter } from "../src/dev/interruptRouter.js";
import { PicPair } from "../src/dev/pic8259.js";
import { DeviceUnsupported } from "../src/dev/portBus.js";
import { Reg } from "../src/state/layout.js";
import { Event } from "../src/cost/event.js";
import { Machine } from "../dist/index.js";

// Register offsets, SDM 3A table 11-1.
const ID = 0x20, VER = 0x30, TPR = 0x80, APR = 0x90, PPR = 0xa0, EOI = 0xb0, LDR = 0xd0, DFR = 0xe0, SVR = 0xf0;
const ISR = 0x100, TMR = 0x180, IRR = 0x200, ESR = 0x280, ICR_LO = 0x300, ICR_HI = 0x310;
const LVT_TIMER = 0x320, LVT_LINT0 = 0x350, LVT_ERROR = 0x370, INITIAL = 0x380, CURRENT = 0x390, DIVIDE = 0x3e0;

/** A software-enabled APIC (SVR bit 8, spurious vector 0xFF) on a clock the test moves by hand. */
function apic() {
  const clock = { tick: 0 };
  const a = new LocalApic(() => clock.tick);
  a.reset();
  a.write(SVR, 4, 0x1ff);
  return { a, clock };
}
/** Bit `v` of a 256-bit register read through the page (eight words 16 bytes apart). */
const bit = (a: LocalApic, base: number, v: number) => (a.read(base + (v >> 5) * 0x10, 4) >>> (v & 31)) & 1;

describe("local APIC registers", () => {
  it("reset state (SDM 3A 11.4.7.1) and the version register", () => {
    const a = new LocalApic(() => 0);
    a.reset();
    expect(a.read(ID, 4)).toBe(0);
    expect(a.read(VER, 4)).toBe(0x00050014); // version 14H (xAPIC), max LVT entry 5 (six entries)
    expect(a.read(DFR, 4)).toBe(-1); // all ones: flat model
    expect(a.read(SVR, 4)).toBe(0xff); // software disabled, spurious vector FFH
    for (let i = 0; i < 6; i++) expect(a.read(LVT_TIMER + i * 0x10, 4)).toBe(0x10000); // masked
    // Software-disabled: an LVT write cannot clear the mask (SDM 3A 11.4.7.2).
    a.write(LVT_LINT0, 4, 0x700);
    expect(a.read(LVT_LINT0, 4)).toBe(0x10700);
    a.write(SVR, 4, 0x1ff);
    a.write(LVT_LINT0, 4, 0x700);
    expect(a.read(LVT_LINT0, 4)).toBe(0x700);
    // Software disable masks every LVT entry again.
    a.write(SVR, 4, 0x0ff);
    expect(a.read(LVT_LINT0, 4)).toBe(0x10700);
  });

  it("divide configuration: the SDM 3A figure 11-10 encodings", () => {
    // bits 3,1,0: 000 /2, 001 /4, 010 /8, 011 /16, 100 /32, 101 /64, 110 /128, 111 /1.
    const cases: [number, number][] = [[0x0, 2], [0x1, 4], [0x2, 8], [0x3, 16], [0x8, 32], [0x9, 64], [0xa, 128], [0xb, 1]];
    for (const [config, divide] of cases) {
      const { a, clock } = apic();
      a.write(DIVIDE, 4, config);
      expect(a.read(DIVIDE, 4)).toBe(config);
      a.write(LVT_TIMER, 4, 0x40);
      a.write(INITIAL, 4, 1000);
      clock.tick = 10 * divide; // ten decrements
      expect(a.read(CURRENT, 4)).toBe(990);
    }
  });
});

describe("local APIC timer (SDM 3A 11.5.4)", () => {
  it("one-shot: interrupts once when the count reaches 0 and stays at 0", () => {
    const { a, clock } = apic();
    a.write(DIVIDE, 4, 0x3); // divide by 16
    a.write(LVT_TIMER, 4, 0x40); // one-shot, vector 40H, unmasked
    a.write(INITIAL, 4, 100);
    // Period: 100 counts x 16 input ticks = 1600 ticks after the write.
    expect(a.nextInterruptTick()).toBe(1600);
    clock.tick = 1599;
    a.service();
    expect(bit(a, IRR, 0x40)).toBe(0);
    expect(a.read(CURRENT, 4)).toBe(1); // 100 - floor(1599 / 16) = 100 - 99
    clock.tick = 1600;
    a.service();
    expect(bit(a, IRR, 0x40)).toBe(1);
    expect(a.read(CURRENT, 4)).toBe(0);
    expect(a.acknowledge()).toBe(0x40);
    a.write(EOI, 4, 0);
    expect(a.nextInterruptTick()).toBe(Infinity);
    clock.tick = 100000;
    a.service();
    expect(bit(a, IRR, 0x40)).toBe(0);
    expect(a.read(CURRENT, 4)).toBe(0);
    expect(a.read(INITIAL, 4)).toBe(100);
  });

  it("periodic: reloads from the initial count; periods missed while unserviced give one interrupt", () => {
    const { a, clock } = apic();
    a.write(DIVIDE, 4, 0x0); // divide by 2
    a.write(LVT_TIMER, 4, 0x20041); // periodic, vector 41H
    clock.tick = 5;
    a.write(INITIAL, 4, 10); // period 10 x 2 = 20 ticks: expiries at 25, 45, 65, ...
    expect(a.nextInterruptTick()).toBe(25);
    clock.tick = 25;
    a.service();
    expect(a.acknowledge()).toBe(0x41);
    a.write(EOI, 4, 0);
    expect(a.read(CURRENT, 4)).toBe(10); // reloaded at the expiry
    clock.tick = 30; // 5 ticks later: floor(25/2) = 12 decrements since start, 2 past the reload
    expect(a.read(CURRENT, 4)).toBe(8);
    expect(a.nextInterruptTick()).toBe(45);
    clock.tick = 100; // expiries at 45, 65, 85 unserviced: one IRR bit
    a.service();
    expect(a.acknowledge()).toBe(0x41);
    expect(a.deliverable()).toBe(-1);
    expect(a.nextInterruptTick()).toBe(105);
  });

  it("a masked timer counts but does not interrupt; writing 0 stops it", () => {
    const { a, clock } = apic();
    a.write(DIVIDE, 4, 0xb); // divide by 1
    a.write(LVT_TIMER, 4, 0x30042); // periodic, masked
    a.write(INITIAL, 4, 50);
    expect(a.nextInterruptTick()).toBe(Infinity);
    clock.tick = 120;
    a.service();
    expect(a.deliverable()).toBe(-1);
    expect(a.read(CURRENT, 4)).toBe(30); // 120 = 2 x 50 + 20: 50 - 20
    a.write(INITIAL, 4, 0);
    expect(a.read(CURRENT, 4)).toBe(0);
  });
});

describe("local APIC priorities (SDM 3A 11.8.3)", () => {
  it("delivers only a vector whose class is above PPR; PPR and APR follow TPR and ISR", () => {
    const { a } = apic();
    a.accept(0x55, false);
    a.write(TPR, 4, 0x50); // class 5 is not above class 5
    expect(a.read(PPR, 4)).toBe(0x50);
    expect(a.deliverable()).toBe(-1);
    // APR: TPR[7:4] (5) >= IRRV[7:4] (5) and > ISRV[7:4] (0): APR = TPR.
    expect(a.read(APR, 4)).toBe(0x50);
    a.write(TPR, 4, 0x4f);
    expect(a.read(APR, 4)).toBe(0x50); // IRRV class 5 > TPR class 4: max(4, 0, 5) << 4
    expect(a.deliverable()).toBe(0x55);
    expect(a.acknowledge()).toBe(0x55);
    // ISRV class 5 > TPR class 4: PPR = ISRV & F0.
    expect(a.read(PPR, 4)).toBe(0x50);
  });

  it("nests a higher class over one in service; EOI retires the highest first", () => {
    const { a } = apic();
    a.accept(0x40, false);
    expect(a.acknowledge()).toBe(0x40);
    a.accept(0x35, false); // class 3 below the class 4 in service: waits
    expect(a.deliverable()).toBe(-1);
    a.accept(0x80, false);
    expect(a.acknowledge()).toBe(0x80);
    expect(bit(a, ISR, 0x80)).toBe(1);
    expect(bit(a, ISR, 0x40)).toBe(1);
    expect(a.read(PPR, 4)).toBe(0x80);
    a.write(EOI, 4, 0); // clears 80H, the highest in service
    expect(bit(a, ISR, 0x80)).toBe(0);
    expect(bit(a, ISR, 0x40)).toBe(1);
    expect(a.deliverable()).toBe(-1);
    a.write(EOI, 4, 0);
    expect(a.deliverable()).toBe(0x35);
  });

  it("answers INTA with the spurious vector when TPR rose after the request was offered (SDM 3A 11.9)", () => {
    const { a } = apic();
    a.write(SVR, 4, 0x1ef); // spurious vector EFH
    a.accept(0x60, false);
    expect(a.deliverable()).toBe(0x60);
    a.write(TPR, 4, 0x70);
    expect(a.acknowledge()).toBe(0xef);
    expect(bit(a, ISR, 0x60)).toBe(0); // not in service
    expect(bit(a, IRR, 0x60)).toBe(1); // still requested
    a.write(TPR, 4, 0);
    expect(a.acknowledge()).toBe(0x60);
  });
});

describe("local APIC errors (SDM 3A 11.5.3)", () => {
  it("ESR shows errors as of the last write; illegal vectors are refused; the error LVT fires", () => {
    const { a } = apic();
    a.write(ICR_LO, 4, 0x40005); // self-IPI, fixed, vector 5: illegal
    expect(a.read(ESR, 4)).toBe(0); // nothing until ESR is written
    a.write(ESR, 4, 0);
    expect(a.read(ESR, 4)).toBe(0x20); // send illegal vector
    expect(bit(a, IRR, 5)).toBe(0);
    a.write(ESR, 4, 0);
    expect(a.read(ESR, 4)).toBe(0); // no new error since the last write
    a.write(LVT_ERROR, 4, 0xe0);
    a.receive(0x0a, 0, false); // an I/O APIC message with vector 0AH
    expect(bit(a, IRR, 0xe0)).toBe(1); // the error interrupt
    a.read(0x2f0, 4); // a reserved offset (LVT CMCI exists only from Nehalem on)
    a.write(ESR, 4, 0);
    expect(a.read(ESR, 4)).toBe(0x40 | 0x80); // receive illegal vector, illegal register address
  });
});

describe("ICR with one processor (SDM 3A 11.6.1)", () => {
  it("self, all-including-self and a matching destination reach this APIC; all-excluding-self reaches nobody", () => {
    const { a } = apic();
    a.write(ICR_LO, 4, 0x40070); // shorthand self
    expect(bit(a, IRR, 0x70)).toBe(1);
    a.write(ICR_LO, 4, 0x80071); // all including self
    expect(bit(a, IRR, 0x71)).toBe(1);
    a.write(ICR_LO, 4, 0xc0072); // all excluding self
    expect(bit(a, IRR, 0x72)).toBe(0);
    a.write(ICR_HI, 4, 0x00000000);
    a.write(ICR_LO, 4, 0x73); // physical destination 0: this APIC
    expect(bit(a, IRR, 0x73)).toBe(1);
    a.write(ICR_HI, 4, 0x01000000);
    a.write(ICR_LO, 4, 0x74); // physical destination 1: nobody
    expect(bit(a, IRR, 0x74)).toBe(0);
    a.write(LDR, 4, 0x02000000); // logical ID 02H, flat model
    a.write(ICR_HI, 4, 0x06000000);
    a.write(ICR_LO, 4, 0x875); // logical destination 06H includes bit 1
    expect(bit(a, IRR, 0x75)).toBe(1);
    expect(bit(a, TMR, 0x75)).toBe(0); // IPIs arrive edge-triggered
    expect(a.read(ICR_LO, 4) & 0x1000).toBe(0); // delivery status idle
    a.write(ICR_LO, 4, 0xc4500); // INIT to all others: nobody there
    // NMI (delivery mode 100b) to its own ID 0: an NMI message, its vector ignored, not an IRR bit.
    let nmis = 0;
    a.onNmi = () => { nmis++; };
    a.write(ICR_HI, 4, 0);
    a.write(ICR_LO, 4, 0x4ab);
    expect(nmis).toBe(1);
    expect(bit(a, IRR, 0xab)).toBe(0);
    expect(() => a.write(ICR_LO, 4, 0x40200)).toThrow(DeviceUnsupported); // SMI to self: not modelled
  });
});

describe("I/O APIC (82093AA)", () => {
  /** I/O APIC register r through IOREGSEL / IOWIN. */
  const io = (x: IoApic) => ({
    read: (r: number) => { x.write(0, 4, r); return x.read(0x10, 4) >>> 0; },
    write: (r: number, v: number) => { x.write(0, 4, r); x.write(0x10, 4, v); },
  });

  it("identification, version 11H with 24 entries, arbitration ID, entries masked at reset", () => {
    const { a } = apic();
    const x = new IoApic(a), r = io(x);
    expect(r.read(0x01)).toBe(0x00170011); // max redirection entry 17H = 23, version 11H
    expect(r.read(0x00)).toBe(0);
    r.write(0x00, 0x0a000000); // ID bits 27:24
    expect(r.read(0x00)).toBe(0x0a000000);
    expect(r.read(0x02)).toBe(0x0a000000); // arbitration ID loaded from the ID
    for (let pin = 0; pin < 24; pin++) expect(r.read(0x10 + 2 * pin)).toBe(0x10000);
    r.write(0x01, 0); // read-only
    expect(r.read(0x01)).toBe(0x00170011);
  });

  it("edge-triggered: a masked pin's edge is dropped; an unmasked one is a fixed vector", () => {
    const { a } = apic();
    const x = new IoApic(a), r = io(x);
    r.write(0x10 + 2 * 2, 0x10030); // pin 2, vector 30H, masked
    x.setPin(2, true); x.setPin(2, false);
    expect(bit(a, IRR, 0x30)).toBe(0);
    r.write(0x10 + 2 * 2, 0x00030); // unmask: the edge is not held
    expect(bit(a, IRR, 0x30)).toBe(0);
    x.setPin(2, true); x.setPin(2, false);
    expect(bit(a, IRR, 0x30)).toBe(1);
    expect(bit(a, TMR, 0x30)).toBe(0);
    expect(r.read(0x10 + 2 * 2)).toBe(0x30); // delivery status idle, no remote IRR for edge
    // Active low: the falling edge asserts it.
    r.write(0x10 + 2 * 3, 0x02031);
    x.setPin(3, true);
    expect(bit(a, IRR, 0x31)).toBe(0);
    x.setPin(3, false);
    expect(bit(a, IRR, 0x31)).toBe(1);
  });

  it("level-triggered: remote IRR holds further messages until the EOI broadcast; a line still high interrupts again", () => {
    const { a } = apic();
    const x = new IoApic(a), r = io(x);
    a.onEoiBroadcast = (v) => x.eoi(v);
    r.write(0x10 + 2 * 9, 0x08070); // pin 9, vector 70H, level, active high
    x.setPin(9, true);
    expect(bit(a, IRR, 0x70)).toBe(1);
    expect(bit(a, TMR, 0x70)).toBe(1);
    expect(r.read(0x10 + 2 * 9) & 0x4000).toBe(0x4000); // remote IRR
    expect(a.acknowledge()).toBe(0x70);
    x.setPin(9, true); // still high, remote IRR set: no new message
    expect(bit(a, IRR, 0x70)).toBe(0);
    a.write(EOI, 4, 0); // EOI of a TMR vector is broadcast; the line is still high
    expect(bit(a, IRR, 0x70)).toBe(1);
    expect(r.read(0x10 + 2 * 9) & 0x4000).toBe(0x4000);
    expect(a.acknowledge()).toBe(0x70);
    x.setPin(9, false);
    a.write(EOI, 4, 0);
    expect(r.read(0x10 + 2 * 9) & 0x4000).toBe(0);
    expect(bit(a, IRR, 0x70)).toBe(0);
  });

  it("destinations: physical ID 0 or broadcast 0FH; logical by LDR; other IDs reach nobody", () => {
    const { a } = apic();
    const x = new IoApic(a), r = io(x);
    const fire = (pin: number, low: number, high: number) => { r.write(0x11 + 2 * pin, high); r.write(0x10 + 2 * pin, low); x.setPin(pin, true); x.setPin(pin, false); };
    fire(1, 0x51, 0x00000000);
    fire(3, 0x53, 0x0f000000);
    fire(4, 0x54, 0x01000000);
    a.write(LDR, 4, 0x01000000);
    fire(5, 0x855, 0x01000000);
    fire(6, 0x856, 0x02000000);
    expect([0x51, 0x53, 0x54, 0x55, 0x56].map((v) => bit(a, IRR, v))).toEqual([1, 1, 0, 1, 0]);
    expect(() => r.write(0x10 + 2 * 7, 0x200)).toThrow(DeviceUnsupported); // SMI delivery: not modelled
  });

  it("an NMI entry sends an NMI message on each edge, with no remote IRR even if marked level (82093AA 3.2.4)", () => {
    const { a } = apic();
    let nmis = 0;
    a.onNmi = () => { nmis++; };
    const x = new IoApic(a), r = io(x);
    r.write(0x11 + 2 * 7, 0);
    r.write(0x10 + 2 * 7, 0x8000 | 0x400 | 0x99); // level, NMI mode, vector 99H (ignored)
    x.setPin(7, true);
    expect(nmis).toBe(1);
    expect(r.read(0x10 + 2 * 7) & 0x4000).toBe(0); // remote IRR stays clear
    expect(bit(a, IRR, 0x99)).toBe(0);
    x.setPin(7, false);
    x.setPin(7, true);
    expect(nmis).toBe(2);
  });
});

describe("virtual wire: the 8259 through the local APIC (MP spec 1.4 3.6.2.2)", () => {
  function setup() {
    const pic = new PicPair();
    for (const [port, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01], [0xa0, 0x11], [0xa1, 0x28], [0xa1, 0x02], [0xa1, 0x01]]) pic.write(port, 1, v);
    const a = new LocalApic(() => 0);
    a.reset();
    return { pic, a, router: new InterruptRouter(pic, a) };
  }

  it("passes the 8259's INTR while the APIC is software-disabled or LINT0 is unmasked ExtINT, not otherwise", () => {
    const { pic, a, router } = setup();
    pic.pulseIrq(1);
    expect(router.pending()).toBe(true); // software-disabled after reset
    a.write(SVR, 4, 0x1ff); // enabled, LINT0 still masked: the 8259 is cut off
    expect(router.pending()).toBe(false);
    a.write(LVT_LINT0, 4, 0x8700); // ExtINT, unmasked
    expect(router.pending()).toBe(true);
    expect(router.acknowledge()).toBe(0x21); // the 8259 gives the vector (INTA)
    // An APIC vector and a PIC request together: ExtINT first, it bypasses priority.
    a.accept(0x90, false);
    pic.write(0x20, 1, 0x20);
    pic.pulseIrq(3);
    expect(router.acknowledge()).toBe(0x23);
    expect(router.acknowledge()).toBe(0x90);
  });

  it("an I/O APIC ExtINT entry makes the CPU acknowledge the 8259", () => {
    const { pic, a, router } = setup();
    a.write(SVR, 4, 0x1ff); // LINT0 masked: only the I/O APIC's ExtINT path is open
    const x = new IoApic(a);
    x.write(0, 4, 0x10); x.write(0x10, 4, 0x700); // pin 0, ExtINT
    pic.pulseIrq(4);
    expect(router.pending()).toBe(false);
    x.setPin(0, true);
    expect(router.pending()).toBe(true);
    expect(router.acknowledge()).toBe(0x24);
    expect(router.pending()).toBe(false);
  });
});

describe("the machine: APIC timer clock, IA32_APIC_BASE, CPUID, MP tables", () => {
  /** Flat 32-bit code at 1 MiB with a stack; runs until HLT. */
  function machine(code: number[], profile = "core2-2006") {
    const m = new Machine({ ramBytes: 4 << 20, profile });
    m.loadImage(Uint8Array.from(code), { format: "flat" });
    m.cpu.s[Reg.ESP] = 0x180000;
    return m;
  }

  it("converts cycles to APIC timer ticks exactly: Core 2 bus clock = core / 9, Golden Cove 38.4 MHz crystal", () => {
    // core2-2006: 2400 MHz core, timer clock 2400/9 MHz: 9 cycles per tick. Divide 1,
    // initial 1000: after 900 cycles, 100 ticks have passed: count 900.
    const m = machine([0xf4]);
    m.lapic.write(DIVIDE, 4, 0xb);
    m.lapic.write(INITIAL, 4, 1000);
    m.cpu.counts[Event.IDLE_CYCLE] += 900;
    expect(m.lapic.read(CURRENT, 4)).toBe(900);
    m.cpu.counts[Event.IDLE_CYCLE] += 8;
    expect(m.lapic.read(CURRENT, 4)).toBe(900); // 908 cycles = 100.9 ticks: still 100
    // goldencove-2021: 3200 MHz / 38.4 MHz = 250/3 cycles per tick: 250 cycles = 3 ticks, 249 = 2.988 -> 2.
    const g = machine([0xf4], "goldencove-2021");
    g.lapic.write(DIVIDE, 4, 0xb);
    g.lapic.write(INITIAL, 4, 1000);
    g.cpu.counts[Event.IDLE_CYCLE] += 249;
    expect(g.lapic.read(CURRENT, 4)).toBe(998);
    g.cpu.counts[Event.IDLE_CYCLE] += 1;
    expect(g.lapic.read(CURRENT, 4)).toBe(997);
  });

  it("HLT sleeps until the timer's deadline, in cycles: initial x divide / timer clock", () => {
    // Code: sti; hlt  (at 1 MiB); handler for vector 40H at 1 MiB + 0x10: hlt (IF=0 there).
    const code = [0xfb, 0xf4, ...new Array(14).fill(0x90), 0xf4];
    const run = (profile: string, arm: boolean) => {
      const m = machine(code, profile);
      const idt = 0x200000, handler = 0x100010;
      m.cpu.s[Reg.IDTR_BASE] = idt; m.cpu.s[Reg.IDTR_LIMIT] = 0x7ff;
      const g = idt + 0x40 * 8; // interrupt gate, selector 08H (SDM 3A figure 6-2)
      m.cpu.view.setUint32(g, (0x08 << 16) | (handler & 0xffff), true);
      m.cpu.view.setUint32(g + 4, (handler & 0xffff0000) | 0x8e00, true);
      if (arm) {
        m.lapic.write(DIVIDE, 4, 0x1); // divide by 4
        m.lapic.write(LVT_TIMER, 4, 0x40); // one-shot
        m.lapic.write(INITIAL, 4, 96);
      }
      const r = m.run({ maxInstructions: 100 });
      return { m, r };
    };
    for (const [profile, deadline] of [
      ["core2-2006", 96 * 4 * 9], // 384 ticks x 9 cycles = 3456 cycles
      ["goldencove-2021", (96 * 4 * 250) / 3], // 384 ticks x 250/3 cycles = 32000 cycles
    ] as const) {
      const asleep = run(profile, false); // the same code with no timer: cycles up to the HLT
      expect(asleep.r.message).toBe("HLT with interrupts enabled and no interrupt due");
      const beforeHlt = asleep.m.cpu.accounting.cycles();
      const { m, r } = run(profile, true);
      expect(r.message).toBe("HLT with interrupts disabled"); // the handler ran
      expect(m.cpu.s[Reg.EIP]).toBe(0x100011);
      expect(m.cpu.counts[Event.IDLE_CYCLE]).toBe(deadline - beforeHlt);
    }
  });

  it("IA32_APIC_BASE reads FEE00900; clearing EN hides the APIC and CPUID.1:EDX[9]; the 8259 then reaches the CPU", () => {
    // mov ecx,1Bh; rdmsr; mov esi,eax; mov eax,1; cpuid; mov edi,edx; hlt
    const m = machine([0xb9, 0x1b, 0, 0, 0, 0x0f, 0x32, 0x89, 0xc6, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x89, 0xd7, 0xf4]);
    m.run({ maxInstructions: 100 });
    expect(m.cpu.s[Reg.ESI] >>> 0).toBe(0xfee00900); // base FEE00000, EN (bit 11), BSP (bit 8)
    expect((m.cpu.s[Reg.EDI] >>> 9) & 1).toBe(1);
    expect(m.cpu.s[Reg.EBX] >>> 24).toBe(0); // initial APIC ID
    // mov ecx,1Bh; mov eax,FEE00100h; xor edx,edx; wrmsr; mov eax,1; cpuid; mov edi,edx; mov esi,[FEE00030h]; hlt
    const d = machine([0xb9, 0x1b, 0, 0, 0, 0xb8, 0x00, 0x01, 0xe0, 0xfe, 0x31, 0xd2, 0x0f, 0x30, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x89, 0xd7, 0x8b, 0x35, 0x30, 0x00, 0xe0, 0xfe, 0xf4]);
    d.run({ maxInstructions: 100 });
    expect((d.cpu.s[Reg.EDI] >>> 9) & 1).toBe(0);
    expect(d.cpu.s[Reg.ESI]).toBe(-1); // no APIC answers the page
    expect(d.lapic.globallyEnabled).toBe(false);
  });

  it("writes an MP 1.4 floating pointer and configuration table with valid checksums and the spec's entries", () => {
    // mov eax,1; cpuid; hlt: the signature and features the processor entry must repeat.
    const m = machine([0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0xf4]);
    m.run({ maxInstructions: 10 });
    const ram = m.cpu.ram, v = m.cpu.view;
    const sum = (at: number, n: number) => { let s = 0; for (let i = 0; i < n; i++) s += ram[at + i]; return s & 0xff; };
    const str = (at: number, n: number) => String.fromCharCode(...ram.subarray(at, at + n));
    // The BIOS data area a kernel starts from (PC/AT layout): COM1 at 0x3F8, a 1 KiB EBDA at
    // 0x9FC00 (segment 0x9FC0), 639 KiB of base memory below it.
    expect(v.getUint16(0x400, true)).toBe(0x3f8);
    expect(v.getUint16(0x40e, true)).toBe(0x9fc0);
    expect(v.getUint16(0x413, true)).toBe(639);
    // MP spec 4: search the EBDA's first KiB (its segment at BDA 0x40E; when that is 0, the
    // last KiB of base memory, BDA 0x413), then 0xF0000-0xFFFFF, on 16-byte boundaries.
    const ebda = v.getUint16(0x40e, true) << 4;
    const first = ebda !== 0 ? ebda : v.getUint16(0x413, true) * 1024 - 1024;
    let fp = -1;
    for (const [from, to] of [[first, first + 1024], [0xf0000, 0x100000]]) {
      for (let a = from; a < to && fp < 0; a += 16) if (str(a, 4) === "_MP_" && sum(a, 16) === 0) fp = a;
    }
    expect(fp).toBeGreaterThanOrEqual(0);
    expect(ram[fp + 8]).toBe(1); // length in 16-byte paragraphs
    expect(ram[fp + 9]).toBe(4); // spec revision 1.4
    expect(ram[fp + 11]).toBe(0); // feature byte 1: a configuration table is present
    const ct = v.getUint32(fp + 4, true);
    expect(str(ct, 4)).toBe("PCMP");
    const length = v.getUint16(ct + 4, true);
    expect(sum(ct, length)).toBe(0);
    expect(ram[ct + 6]).toBe(4);
    expect(v.getUint32(ct + 36, true)).toBe(0xfee00000);
    const count = v.getUint16(ct + 34, true);
    const entries: number[][] = [];
    let at = ct + 44;
    for (let i = 0; i < count; i++) {
      const n = ram[at] === 0 ? 20 : 8; // processor entries are 20 bytes, the others 8
      entries.push(Array.from(ram.subarray(at, at + n)));
      at += n;
    }
    expect(at).toBe(ct + length); // the entries fill the base table exactly
    const cpu = entries.filter((e) => e[0] === 0);
    expect(cpu.length).toBe(1);
    expect(cpu[0].slice(1, 4)).toEqual([0, 0x14, 0x03]); // APIC ID 0, version 14H, enabled + BSP
    expect(v.getUint32(ct + 44 + 4, true)).toBe(m.cpu.s[Reg.EAX] >>> 0); // CPUID.1:EAX signature
    expect(v.getUint32(ct + 44 + 8, true)).toBe(m.cpu.s[Reg.EDX] >>> 0); // CPUID.1:EDX features
    const bus = entries.filter((e) => e[0] === 1);
    expect(bus.map((e) => String.fromCharCode(...e.slice(2, 8)))).toEqual(["ISA   "]);
    const isa = bus[0][1];
    const ioapic = entries.filter((e) => e[0] === 2);
    expect(ioapic).toEqual([[2, 0, 0x11, 0x01, 0x00, 0x00, 0xc0, 0xfe]]); // ID 0, 11H, enabled, FEC00000H
    // I/O interrupt entries: type INT, conforming polarity/trigger, ISA IRQ n -> INTIN n except IRQ 0 -> INTIN2; none for IRQ 2.
    const ints = entries.filter((e) => e[0] === 3);
    const route = new Map(ints.map((e) => { expect([e[1], e[2], e[3], e[4], e[6]]).toEqual([0, 0, 0, isa, 0]); return [e[5], e[7]] as const; }));
    expect(route.get(0)).toBe(2);
    expect(route.has(2)).toBe(false);
    for (const irq of [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]) expect(route.get(irq)).toBe(irq);
    // Local interrupts: ExtINT -> APIC 0 LINTIN0, NMI -> all APICs (FFH) LINTIN1.
    expect(entries.filter((e) => e[0] === 4)).toEqual([[4, 3, 0, 0, isa, 0, 0x00, 0], [4, 1, 0, 0, isa, 0, 0xff, 1]]);
  });

  it("a PIT tick reaches the CPU through the I/O APIC's INTIN2 as a fixed vector, the 8259s masked", () => {
    const m = machine([0xf4]);
    // 8259s masked; I/O APIC pin 2 -> vector 50H.
    m.pic.master.imr = 0xff;
    m.ioapic.write(0, 4, 0x14); m.ioapic.write(0x10, 4, 0x50);
    m.pulseIrq(0);
    expect(m.lapic.deliverable()).toBe(0x50);
    expect(m.cpu.interruptSource!.acknowledge()).toBe(0x50);
  });
});

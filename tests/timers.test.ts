// The 8259A pair and the 8254, driven through their ports as a guest would. Expected
// values follow the Intel 8259A and 82C54 datasheets, worked by hand beside each check.
import { describe, expect, it } from "vitest";
import { PicPair } from "../src/dev/pic8259.js";
import { Pit8254 } from "../src/dev/pit8254.js";
import { DeviceUnsupported } from "../src/dev/portBus.js";

/** The PC BIOS initialization: master vectors 0x20-0x27, slave 0x28-0x2F, cascade on IR2. */
function initPc(pic: PicPair): void {
  for (const [port, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01], [0xa0, 0x11], [0xa1, 0x28], [0xa1, 0x02], [0xa1, 0x01]]) {
    pic.write(port, 1, v);
  }
}
const isr = (pic: PicPair, port: number) => { pic.write(port, 1, 0x0b); return pic.read(port); }; // OCW3: read ISR
const irr = (pic: PicPair, port: number) => { pic.write(port, 1, 0x0a); return pic.read(port); }; // OCW3: read IRR

describe("8259A pair", () => {
  it("acknowledges by priority, nests higher requests, and ends them with EOI", () => {
    const pic = new PicPair();
    initPc(pic);
    expect(pic.read(0x21)).toBe(0); // ICW1 clears the IMR
    pic.pulseIrq(3);
    expect(irr(pic, 0x20)).toBe(0x08);
    expect(pic.acknowledge()).toBe(0x23); // base 0x20 + IR3
    expect(isr(pic, 0x20)).toBe(0x08);
    expect(irr(pic, 0x20)).toBe(0);
    pic.pulseIrq(5); // lower priority than the IR3 in service: held
    expect(pic.pending()).toBe(false);
    pic.pulseIrq(1); // higher priority: nests
    expect(pic.acknowledge()).toBe(0x21);
    expect(isr(pic, 0x20)).toBe(0x0a);
    pic.write(0x20, 1, 0x20); // non-specific EOI clears the highest in service, IR1
    expect(isr(pic, 0x20)).toBe(0x08);
    expect(pic.pending()).toBe(false);
    pic.write(0x20, 1, 0x63); // specific EOI for IR3
    expect(pic.acknowledge()).toBe(0x25); // now IR5 goes through
  });

  it("masks with OCW1 and answers a vanished request with the spurious IR7", () => {
    const pic = new PicPair();
    initPc(pic);
    pic.write(0x21, 1, 0x01); // mask IR0
    pic.pulseIrq(0);
    expect(pic.pending()).toBe(false);
    expect(pic.read(0x21)).toBe(0x01);
    expect(pic.acknowledge()).toBe(0x27); // nothing to acknowledge: IR7, ISR untouched
    expect(isr(pic, 0x20)).toBe(0);
    pic.write(0x21, 1, 0x00);
    expect(pic.acknowledge()).toBe(0x20); // the latched edge survives the mask
  });

  it("routes slave requests through the master's IR2", () => {
    const pic = new PicPair();
    initPc(pic);
    pic.pulseIrq(12); // slave IR4
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2c);
    expect(isr(pic, 0x20)).toBe(0x04);
    expect(isr(pic, 0xa0)).toBe(0x10);
  });

  it("automatic EOI leaves ISR clear; a set-priority command rotates the order", () => {
    const pic = new PicPair();
    for (const [port, v] of [[0x20, 0x11], [0x21, 0x08], [0x21, 0x04], [0x21, 0x03]]) pic.write(port, 1, v); // ICW4.AEOI
    pic.pulseIrq(6);
    expect(pic.acknowledge()).toBe(0x0e);
    expect(isr(pic, 0x20)).toBe(0);
    pic.write(0x20, 1, 0xc4); // set priority: IR4 lowest, so IR5 highest
    pic.pulseIrq(2 + 1); pic.pulseIrq(5);
    expect(pic.acknowledge()).toBe(0x0d); // IR5 before IR3
  });
});

describe("8254", () => {
  function pit() {
    const state = { now: 0, irqs: 0 };
    const p = new Pit8254(() => state.now, () => { state.irqs++; });
    return { p, state };
  }

  it("mode 2 on channel 0 raises IRQ 0 once per period and counts down from the reload", () => {
    const { p, state } = pit();
    p.write(0x43, 1, 0x34); // channel 0, LSB then MSB, mode 2
    p.write(0x40, 1, 1000 & 0xff); p.write(0x40, 1, 1000 >> 8);
    // The count loads on the next clock (tick 1), so OUT rises at ticks 1001, 2001, ...
    expect(p.nextInterruptTick()).toBe(1001);
    state.now = 1000; p.service(); expect(state.irqs).toBe(0);
    state.now = 1001; p.service(); expect(state.irqs).toBe(1);
    expect(p.nextInterruptTick()).toBe(2001);
    // Three periods pass unserviced: one pulse (the PIC latches one edge).
    state.now = 5001; p.service(); expect(state.irqs).toBe(2);
    // At tick 5301 the counter has run 300 ticks into its period: 1000 - 300 = 700.
    state.now = 5301;
    p.write(0x43, 1, 0x00); // latch channel 0
    expect(p.read(0x40) | (p.read(0x40) << 8)).toBe(700);
  });

  it("mode 0 is a one-shot: OUT rises once at terminal count (read back through status)", () => {
    const { p, state } = pit();
    p.write(0x43, 1, 0x30); // channel 0, LSB/MSB, mode 0
    p.write(0x40, 1, 100); p.write(0x40, 1, 0);
    state.now = 100; p.write(0x43, 1, 0xe2); // read-back status of channel 0
    expect(p.read(0x40) & 0x80).toBe(0); // OUT low: 99 of 100 ticks counted
    state.now = 101; p.write(0x43, 1, 0xe2);
    expect(p.read(0x40)).toBe(0x80 | (3 << 4) | (0 << 1)); // OUT high, LSB/MSB, mode 0
    state.now = 10000; p.service();
    expect(state.irqs).toBe(1);
    expect(p.nextInterruptTick()).toBe(Infinity);
  });

  it("channel 2 counts only while port 0x61 bit 0 opens its gate; bit 5 shows its OUT", () => {
    const { p, state } = pit();
    p.write(0x43, 1, 0xb0); // channel 2, LSB/MSB, mode 0
    p.write(0x42, 1, 50); p.write(0x42, 1, 0);
    state.now = 500;
    expect(p.read(0x61) & 0x20).toBe(0); // gate closed since power-on: still counting from 50
    p.write(0x61, 1, 0x01);
    state.now = 549; expect(p.read(0x61) & 0x20).toBe(0);
    state.now = 550; expect(p.read(0x61) & 0x20).toBe(0x20); // 50 ticks with the gate open
  });

  it("refuses what it does not model, by name", () => {
    const { p } = pit();
    expect(() => p.write(0x43, 1, 0x35)).toThrow(DeviceUnsupported); // BCD
    expect(() => p.write(0x43, 1, 0x32)).toThrow(/mode 1/);
  });
});

describe("timer interrupts on the machine (guests/timer.elf)", () => {
  it("HLT sleeps to the next 8254 edge: the cycles between count as idle and reach the tick", async () => {
    const fs = await import("node:fs");
    const { Machine } = await import("../dist/vmm/machine.js");
    const { collectReport } = await import("../dist/vmm/report.js");
    const m = new Machine({ ramBytes: 32 << 20, profile: "goldencove-2021" });
    m.loadImage(new Uint8Array(fs.readFileSync("guests/timer.elf")), { name: "timer.elf" });
    expect(m.run({ maxInstructions: 10_000_000 }).exitCode).toBe(0);
    const r = collectReport(m);
    // Ten periods of 11932 ticks (1193182 Hz / 100, rounded) at 3200 MHz take at least
    // 10 * 11932 * 3.2e9 / 1193182 = 320,003,766 cycles; the guest sleeps through most.
    expect(r.cycles.total).toBeGreaterThanOrEqual(320_003_766);
    const idle = r.cycles.byEvent.find((e) => e.event === "idle.cycle")!;
    expect(idle.count).toBeGreaterThan(0.9 * 320_003_766);
    expect(r.eventsByVector["32"]).toBe(11); // ten ticks and the one taken after STI; HLT
  });
});

describe("sleeping with nothing to wake the CPU", () => {
  it("HLT with IF=1 and IRQ 0 masked ends the run instead of idling forever", async () => {
    const { Machine } = await import("../dist/vmm/machine.js");
    const m = new Machine({ ramBytes: 4 << 20 });
    m.loadImage(Uint8Array.from([
      0xb0, 0xff, 0xe6, 0x21, //       mov al, 0xFF; out 0x21, al   (OCW1: mask every master IRQ)
      0xb0, 0x34, 0xe6, 0x43, //       mov al, 0x34; out 0x43, al   (channel 0, mode 2)
      0xb0, 0x00, 0xe6, 0x40, 0xe6, 0x40, // count 0 = 65536
      0xfb, 0xf4, //                   sti; hlt
    ]), { format: "flat" });
    const r = m.run({ maxInstructions: 1000 });
    expect(r.reason).toBe("halt");
    expect(r.message).toMatch(/no interrupt due/);
  });
});

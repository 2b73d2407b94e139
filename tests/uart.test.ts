// The 16550's interrupt line (PC16550D datasheet, "Interrupt Identification Register" and
// "Interrupt Enable Register"): received data available (IER bit 0) and THR empty (IER bit
// 1) raise INTR until the cause is served. As on QEMU and Bochs, the line reaches IRQ 4
// whatever MCR.OUT2 says (docs/devices.md); xv6 writes MCR = 0 and takes input by interrupt.
import { describe, expect, it } from "vitest";
import { Uart16550 } from "../src/dev/uart16550.js";

const COM1 = 0x3f8, IER = COM1 + 1, IIR = COM1 + 2, MCR = COM1 + 4, LSR = COM1 + 5;

function uart() {
  const u = new Uart16550();
  const levels: boolean[] = [];
  u.irq = (level) => levels.push(level);
  return { u, levels };
}

describe("16550 interrupt line", () => {
  it("received data raises it with MCR = 0 (OUT2 clear), and reading RBR lowers it", () => {
    const { u, levels } = uart();
    u.write(MCR, 1, 0);
    u.write(IER, 1, 0x01);
    u.receive([0x41]);
    expect(levels.at(-1)).toBe(true);
    expect(u.read(IIR, 1) & 0x0f).toBe(0x4); // received data available
    expect(u.read(LSR, 1) & 0x01).toBe(1); // DR
    expect(u.read(COM1, 1)).toBe(0x41);
    expect(levels.at(-1)).toBe(false);
    expect(u.read(IIR, 1) & 0x0f).toBe(0x1); // nothing pending
  });

  it("stays low while IER masks the cause", () => {
    const { u, levels } = uart();
    u.write(MCR, 1, 0x08);
    u.write(IER, 1, 0);
    u.receive([0x42]);
    expect(levels.includes(true)).toBe(false);
    u.write(IER, 1, 0x01); // enabling the cause with data waiting raises it
    expect(levels.at(-1)).toBe(true);
  });
});

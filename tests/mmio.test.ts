// Devices register MMIO windows beyond RAM; guest loads and stores of each width reach
// them with the offset inside the window. Hand-assembled ring-0 code at 1 MiB.
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";
import { Reg } from "../src/state/layout.js";
import type { MmioDevice } from "../src/dev/mmioBus.js";

class Recorder implements MmioDevice {
  readonly name = "recorder";
  readonly log: string[] = [];
  read(offset: number, size: number): number { this.log.push(`r${size}@${offset}`); return 0x11223344; }
  write(offset: number, size: number, value: number): void { this.log.push(`w${size}@${offset}=${(value >>> 0).toString(16)}`); }
}

describe("MMIO bus", () => {
  it("routes guest accesses of 1, 2 and 4 bytes to the device with window offsets", () => {
    const m = new Machine({ ramBytes: 4 << 20 });
    const dev = new Recorder();
    m.mmio.register(0xfeb00000, 0x1000, dev);
    // mov eax,[0xfeb00010] ; mov word [0xfeb00020],0xbeef ; mov byte [0xfeb00003],0x5a ; hlt
    const code = [0xa1, 0x10, 0x00, 0xb0, 0xfe, 0x66, 0xc7, 0x05, 0x20, 0x00, 0xb0, 0xfe, 0xef, 0xbe,
      0xc6, 0x05, 0x03, 0x00, 0xb0, 0xfe, 0x5a, 0xf4];
    m.loadImage(Uint8Array.from(code), { format: "flat", loadAddress: 0x100000 });
    expect(m.run({ maxInstructions: 10 }).reason).toBe("halt");
    expect(m.cpu.s[Reg.EAX]).toBe(0x11223344);
    expect(dev.log).toEqual(["r4@16", "w2@32=beef", "w1@3=5a"]);
    // Three device accesses, each an mmio.access event (cost/event.ts).
    expect(m.mmio.accesses).toBe(3);
    expect(m.mmio.log.accesses(dev)).toBe(3);
    expect(m.cpu.counts[47]).toBe(3);
  });

  it("reads all ones where no device answers, and refuses overlapping windows", () => {
    const m = new Machine({ ramBytes: 4 << 20 });
    m.mmio.register(0xfeb00000, 0x1000, new Recorder());
    expect(() => m.mmio.register(0xfeb00800, 0x1000, new Recorder())).toThrow(/overlaps recorder/);
    expect(() => m.mmio.register(0x1000, 0x1000, new Recorder())).toThrow(/overlaps RAM/);
    expect(m.mmio.read(0xfed00000, 4)).toBe(-1); // nothing at the HPET address (0xfec00000 is the I/O APIC)
    expect(m.mmio.read(0xfed00000, 1)).toBe(0xff);
  });
});

describe("device access to guest RAM", () => {
  it("a device write over code the CPU has run replaces that code (decoded copies are dropped)", () => {
    const m = new Machine({ ramBytes: 4 << 20 });
    // 0x100000: inc eax ; hlt  -- run it once, so it is in the decode cache.
    m.loadImage(Uint8Array.from([0x40, 0xf4]), { format: "flat", loadAddress: 0x100000 });
    expect(m.run({ maxInstructions: 10 }).reason).toBe("halt");
    expect(m.cpu.s[Reg.EAX]).toBe(1);
    // A device stores "dec eax" (0x48) over the INC; the CPU must execute the new byte.
    m.guestRam.write(0x100000, Uint8Array.from([0x48]));
    m.cpu.s[Reg.EIP] = 0x100000;
    m.cpu.s[Reg.HALTED] = 0;
    expect(m.run({ maxInstructions: 10 }).reason).toBe("halt");
    expect(m.cpu.s[Reg.EAX]).toBe(0);
  });

  it("a store a device takes asks the run loop to look (attention); a store to no device does not", () => {
    const m = new Machine({ ramBytes: 4 << 20 });
    const dev = new Recorder();
    m.mmio.register(0xfeb00000, 0x1000, dev);
    m.cpu.wr32(0x40000000, 1); // beyond RAM, no window: the store goes nowhere
    expect(m.cpu.attention).toBe(false);
    expect(m.mmio.unclaimedAccesses).toBe(1);
    m.cpu.wr32(0xfeb00008, 2);
    expect(m.cpu.attention).toBe(true);
    expect(dev.log).toEqual(["w4@8=2"]);
  });

  it("refuses ranges that leave RAM", () => {
    const m = new Machine({ ramBytes: 4 << 20 });
    expect(m.guestRam.contains(0x3ffff0, 16)).toBe(true);
    expect(m.guestRam.contains(0x3ffff0, 17)).toBe(false);
    expect(m.guestRam.contains(0xfffffff0 | 0, 4)).toBe(false);
    expect(m.guestRam.contains(0, -1)).toBe(false);
  });
});

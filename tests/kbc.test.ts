// The 8042 and its keyboard beyond what guests/kbc.asm checks against QEMU: the reset
// line, translation of the identify bytes, and IRQ 1.
import { describe, expect, it } from "vitest";
import { I8042 } from "../src/dev/i8042.js";
import { Machine } from "../src/vmm/machine.js";

describe("8042 keyboard controller", () => {
  it("a reset pulse (command 0xFE) ends the run as a shutdown, as QEMU -no-reboot does", () => {
    const m = new Machine({ ramBytes: 4 << 20 });
    m.loadImage(Uint8Array.from([0xb0, 0xfe, 0xe6, 0x64, 0xf4]), { format: "flat" }); // mov al,0xFE; out 0x64,al; hlt
    const r = m.run({ maxInstructions: 100 });
    expect(r.reason).toBe("shutdown");
    expect(r.message).toMatch(/8042/);
    expect(r.instructions).toBe(2); // HLT never ran
  });

  it("identify answers 0xAB 0x41 while the command byte asks for translation (XLAT)", () => {
    const levels: boolean[] = [];
    const k = new I8042((l) => levels.push(l), () => {});
    k.write(0x60, 1, 0xf2);
    expect([k.read(0x60), k.read(0x60), k.read(0x60)]).toEqual([0xfa, 0xab, 0x41]);
    // The power-on command byte enables IRQ 1: it rose with the first byte and fell when empty.
    expect(levels[0]).toBe(true);
    expect(levels.at(-1)).toBe(false);
  });

  it("answers an unknown keyboard command with resend (0xFE)", () => {
    const k = new I8042(() => {}, () => {});
    k.write(0x60, 1, 0x01);
    expect(k.read(0x64) & 1).toBe(1);
    expect(k.read(0x60)).toBe(0xfe);
  });
});

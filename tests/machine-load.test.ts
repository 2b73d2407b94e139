// Machine.loadImage resets the machine: guest RAM is all zeros apart from what the image
// and the loader put there, whether the machine is new (its RAM is then left untouched,
// which saves the OS backing every page at start-up) or has run a guest before.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";

const HELLO = fs.readFileSync(new URL("../guests/hello.elf", import.meta.url));

/** Non-zero bytes in RAM from `from` up: a region the loader and hello.elf leave alone. */
function nonZeroAbove(m: Machine, from: number): number {
  let n = 0;
  for (let i = from; i < m.cpu.ram.length; i++) if (m.cpu.ram[i] !== 0) n++;
  return n;
}

describe("loadImage clears guest RAM", () => {
  for (const engine of ["ts", "wasm"] as const) {
    it(`${engine}: after a run that wrote RAM, a second load leaves none of it`, () => {
      const m = new Machine({ ramBytes: 4 << 20, engine });
      m.loadImage(HELLO);
      expect(m.run({ maxInstructions: 1e6 }).reason).toBe("debug-exit");
      // What the guest wrote stands in for any store: 0xAA at the top of RAM.
      m.cpu.ram.fill(0xaa, 3 << 20, 4 << 20);
      expect(nonZeroAbove(m, 3 << 20)).toBe(1 << 20);
      m.loadImage(HELLO);
      expect(nonZeroAbove(m, 3 << 20)).toBe(0);
      expect(m.run({ maxInstructions: 1e6 }).reason).toBe("debug-exit");
    });
    it(`${engine}: a new machine's RAM is zero above the image without being cleared`, () => {
      const m = new Machine({ ramBytes: 4 << 20, engine });
      m.loadImage(HELLO);
      expect(nonZeroAbove(m, 3 << 20)).toBe(0);
    });
  }
});

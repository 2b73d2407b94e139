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

// A disk image whose boot sector is followed by an ELF kernel (xv6's xv6.img) shows that
// kernel's multiboot header in its first 8 KiB. Without load addresses (flag 16) the header
// is of no use to a loader of a non-ELF file (multiboot spec 3.1.3), so the image is what
// its 0x55AA says: a boot sector.
describe("a boot sector with a kernel's multiboot header behind it", () => {
  const image = (bytes: number, flags: number) => {
    const b = new Uint8Array(bytes);
    b[0] = 0xf4; b[510] = 0x55; b[511] = 0xaa;
    const v = new DataView(b.buffer);
    v.setUint32(1024, 0x1badb002, true); v.setUint32(1028, flags, true); v.setUint32(1032, (-(0x1badb002 + flags)) >>> 0, true);
    return b;
  };

  it("loads as a boot sector at 0000:7C00 when the header has no load addresses", () => {
    const m = new Machine({ ramBytes: 4 << 20, engine: "ts" });
    m.loadImage(image(2048, 0x3));
    expect(m.cpu.s[8]).toBe(0x7c00); // EIP
    expect(m.cpu.ram[0x7c00 + 1024]).toBe(0x02); // the header's first byte, loaded with the rest
  });

  it("a whole disk image that does not fit below 0xA0000 is refused with the way to boot it", () => {
    const m = new Machine({ ramBytes: 4 << 20, engine: "ts" });
    expect(() => m.loadImage(image(5 << 20, 0x3))).toThrow(/does not fit below 0xA0000 \(a disk image boots from a disk: vmxlab run --disk FILE\)/);
  });
});

// Multiboot 0.6.96 section 3.3: the information structure EBX points at. Expected values by
// hand for 4 MiB of RAM: 639 KiB below the EBDA, 3072 KiB above 1 MiB, and a memory map with
// the same RAM (type 1) and the EBDA and BIOS area reserved (type 2), as QEMU gives one.
describe("the multiboot information", () => {
  it("has mem_lower/upper, the command line, a memory map and the loader's name", () => {
    const m = new Machine({ ramBytes: 4 << 20, engine: "ts" });
    m.loadImage(new Uint8Array(HELLO), { name: "hello.elf", append: "a=1" });
    const v = m.cpu.view, mbi = m.cpu.s[3] >>> 0; // EBX
    const cstr = (at: number) => { let t = ""; while (m.cpu.ram[at] !== 0) t += String.fromCharCode(m.cpu.ram[at++]); return t; };
    const flags = v.getUint32(mbi, true);
    expect(flags & ((1 << 0) | (1 << 2) | (1 << 6) | (1 << 9))).toBe((1 << 0) | (1 << 2) | (1 << 6) | (1 << 9));
    expect(v.getUint32(mbi + 4, true)).toBe(639);
    expect(v.getUint32(mbi + 8, true)).toBe(3072);
    expect(cstr(v.getUint32(mbi + 16, true))).toBe("hello.elf a=1");
    const entries: number[][] = [];
    const start = v.getUint32(mbi + 48, true), end = start + v.getUint32(mbi + 44, true);
    for (let e = start; e < end; e += v.getUint32(e, true) + 4) {
      expect(v.getUint32(e + 8, true)).toBe(0); // base and length fit 32 bits here
      expect(v.getUint32(e + 16, true)).toBe(0);
      entries.push([v.getUint32(e + 4, true), v.getUint32(e + 12, true), v.getUint32(e + 20, true)]);
    }
    expect(entries).toEqual([[0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xf0000, 0x10000, 2], [0x100000, 0x300000, 1]]);
    expect(cstr(v.getUint32(mbi + 64, true))).toBe("vmxlab");
  });
});

// Multiboot 3.1.2: header flags bits 0-15 are requirements a loader must meet or refuse.
// Bit 2 asks for video mode information: vmxlab gives its text screen as an EGA-text
// framebuffer (info flags bit 12, type 2: 80 x 25 characters of 2 bytes at 0xB8000, 160
// bytes a row), as GRUB does in text mode; a bit it cannot meet (3) is still refused.
describe("a multiboot header that asks for a video mode", () => {
  const withFlags = (extra: number) => {
    const b = new Uint8Array(HELLO);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let at = 0;
    while (v.getUint32(at, true) !== 0x1badb002) at += 4;
    const flags = v.getUint32(at + 4, true) | extra;
    v.setUint32(at + 4, flags, true);
    v.setUint32(at + 8, (-(0x1badb002 + flags)) >>> 0, true);
    return b;
  };

  it("boots, and the information describes the text screen as its framebuffer", () => {
    const m = new Machine({ ramBytes: 4 << 20, engine: "ts" });
    m.loadImage(withFlags(4), { name: "hello.elf" });
    const v = m.cpu.view, mbi = m.cpu.s[3] >>> 0;
    expect(v.getUint32(mbi, true) & (1 << 12)).toBe(1 << 12);
    expect([v.getUint32(mbi + 88, true), v.getUint32(mbi + 92, true), v.getUint32(mbi + 96, true), v.getUint32(mbi + 100, true),
      v.getUint32(mbi + 104, true), m.cpu.ram[mbi + 108], m.cpu.ram[mbi + 109]]).toEqual([0xb8000, 0, 160, 80, 25, 16, 2]);
    expect(m.run({ maxInstructions: 100_000 }).reason).toBe("debug-exit");
  });

  it("without bit 2 there is no framebuffer information; bit 3 is refused", () => {
    const m = new Machine({ ramBytes: 4 << 20, engine: "ts" });
    m.loadImage(new Uint8Array(HELLO), { name: "hello.elf" });
    expect(m.cpu.view.getUint32(m.cpu.s[3] >>> 0, true) & (1 << 12)).toBe(0);
    expect(() => m.loadImage(withFlags(8), { name: "hello.elf" })).toThrow(/unsupported features \(flags 0x1000b\)/);
  });
});

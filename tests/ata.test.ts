// The ATA PIO disk: register protocol (ATA/ATAPI-6), what it stores and when it says so.
// The CLI's answers to bad images, and SIGKILL durability, are in tests/disk-cli.test.ts.
import { describe, expect, it } from "vitest";
import { AtaDisk } from "../src/dev/ataDisk.js";
import { memoryStore } from "./fixtures/memoryStore.js";


function disk(sectors = 100) {
  const m = memoryStore(sectors);
  const irqs: boolean[] = [];
  const d = new AtaDisk(m.store, (level) => irqs.push(level));
  const lba = (n: number, count: number) => {
    d.write(0x1f2, 1, count); d.write(0x1f3, 1, n & 0xff); d.write(0x1f4, 1, (n >> 8) & 0xff);
    d.write(0x1f5, 1, (n >> 16) & 0xff); d.write(0x1f6, 1, 0xe0 | ((n >> 24) & 0xf));
  };
  return { d, lba, irqs, ...m };
}

describe("ATA PIO disk", () => {
  it("IDENTIFY reports a fixed LBA disk of the store's size (ATA-6 words 0, 49, 60-61, 83)", () => {
    const { d } = disk(5000);
    d.write(0x1f6, 1, 0xe0);
    d.write(0x1f7, 1, 0xec);
    expect(d.read(0x1f7, 1) & 0x89).toBe(0x08); // DRQ, not BSY, not ERR
    const w: number[] = [];
    for (let i = 0; i < 256; i++) w.push(d.read(0x1f0, 2));
    expect(w[0] & 0x8000).toBe(0);
    expect(w[49] & (1 << 9)).toBe(1 << 9);
    expect(w[60] | (w[61] << 16)).toBe(5000);
    expect(w[83] & (1 << 12)).toBe(1 << 12);
    expect(d.read(0x1f7, 1) & 0x08).toBe(0); // all words read: DRQ clear
  });

  it("stores each sector before it reports it done, and FLUSH CACHE waits for the store's flush", () => {
    const { d, lba, data, log } = disk();
    lba(7, 2);
    d.write(0x1f7, 1, 0x30);
    for (let sector = 0; sector < 2; sector++) {
      expect(d.read(0x1f7, 1) & 0x08).toBe(0x08);
      for (let i = 0; i < 128; i++) d.write(0x1f0, 4, 0x11110000 + sector * 256 + i); // 32-bit PIO
      expect(log.at(-1)).toBe(`write ${7 + sector}`); // stored at the last word, before Status changes
    }
    expect(d.read(0x1f7, 1) & 0x89).toBe(0);
    expect(Buffer.from(data.subarray(7 * 512, 7 * 512 + 4)).readUInt32LE(0)).toBe(0x11110000);
    expect(Buffer.from(data.subarray(8 * 512 + 508, 8 * 512 + 512)).readUInt32LE(0)).toBe(0x11110000 + 256 + 127);
    d.write(0x1f7, 1, 0xe7);
    expect(log.at(-1)).toBe("flush");
    expect(d.read(0x1f7, 1) & 0x81).toBe(0);
  });

  it("answers a sector past the end with ERR and IDNF, CHS addressing and unknown commands with ABRT", () => {
    const { d, lba, log } = disk(100);
    lba(99, 2); // sectors 99 and 100: the second does not exist
    d.write(0x1f7, 1, 0x20);
    expect(d.read(0x1f7, 1) & 0x01).toBe(1);
    expect(d.read(0x1f1, 1)).toBe(0x10);
    expect(log).toEqual([]); // nothing was read
    d.write(0x1f6, 1, 0xa0); // LBA bit clear: CHS
    d.write(0x1f7, 1, 0x20);
    expect(d.read(0x1f1, 1)).toBe(0x04);
    d.write(0x1f7, 1, 0xff);
    expect(d.read(0x1f1, 1)).toBe(0x04);
  });

  it("raises IRQ 14 per DRQ block unless nIEN is set; reading Status lowers it", () => {
    const { d, lba, irqs } = disk();
    lba(0, 1);
    d.write(0x1f7, 1, 0x20);
    expect(irqs.at(-1)).toBe(true);
    d.read(0x1f7, 1);
    expect(irqs.at(-1)).toBe(false);
    d.write(0x3f6, 1, 0x02);
    const before = irqs.length;
    for (let i = 0; i < 256; i++) d.read(0x1f0, 2);
    lba(0, 1);
    d.write(0x1f7, 1, 0x20);
    expect(irqs.slice(before).includes(true)).toBe(false);
  });
});

